"""Batch inference on a Spark table: every row of a DataFrame gets Dolly's answer.

Chapter 11 (Dolly on the Lakehouse) runs it on a laptop with ``local[2]`` and the tiny
default model; the same ``add_responses`` call runs unchanged on a Databricks or other Spark
cluster with GPUs and a real Dolly size. Each executor's Python process loads the model once
and answers its rows in batches with the book's own ``generate``; models load through
``load_model``, which never runs remote code.

pyspark is imported only inside the functions that need it, so ``import dolly_helpers`` works
without it; Spark itself needs Java 17 or newer (``find_java`` says how to get it).
"""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .models import DEFAULT_MODEL, get_spec

if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    import pandas as pd
    from pyspark.sql import DataFrame, SparkSession

    from .generation import DecodingSettings, GenerationResult
    from .loading import LoadedModel
    from .request import Request

#: Spark 4 runs on Java 17 or newer (Spark 3.5, still on some hosted notebooks, on Java 8+).
MIN_JAVA_VERSION = 17
JAVA_HINT = (
    "install a Java runtime (Debian/Ubuntu: apt-get install openjdk-17-jre-headless; "
    "macOS: brew install openjdk@17) or set JAVA_HOME to one"
)
PYSPARK_HINT = "pip install pyspark pyarrow (the lakehouse group of requirements.txt)"

#: The columns ``add_responses`` adds, with their Spark SQL types.
RESULT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("response", "string"),
    ("stop_reason", "string"),
    ("prompt_tokens", "int"),
    ("new_tokens", "int"),
    ("seconds", "double"),
    ("model_name", "string"),
    ("error", "string"),
)

#: The decoding settings of ``generate`` that ``add_responses`` passes through.
DECODING_OPTIONS = frozenset({"do_sample", "temperature", "top_p", "top_k", "seed"})

#: One model per executor Python process, keyed by (model name, dtype, device).
_MODEL_CACHE: dict[tuple[str, str, str], LoadedModel] = {}


class JavaNotFoundError(RuntimeError):
    """Spark cannot start: no usable Java runtime. The message says how to get one."""


def find_java() -> str:
    """Return the ``java`` that Spark will start, or raise a one-line error saying how to get it.

    Spark's launcher uses ``$JAVA_HOME/bin/java`` when ``JAVA_HOME`` is set and ``java`` on the
    ``PATH`` otherwise; this checks the same one and that it is new enough for the installed
    pyspark (``required_java_version``).
    """
    needed = required_java_version()
    java_home = os.environ.get("JAVA_HOME")
    if java_home:
        java = Path(java_home) / "bin" / "java"
        if not os.access(java, os.X_OK):
            raise JavaNotFoundError(
                f"Spark needs Java {needed}+ but JAVA_HOME={java_home} has no bin/java: {JAVA_HINT}"
            )
        found = str(java)
    else:
        found = shutil.which("java")
        if found is None:
            raise JavaNotFoundError(
                f"Spark needs Java {needed}+ and found none (no JAVA_HOME, no java on PATH): {JAVA_HINT}"
            )
    version = java_version(found)
    if version is None or version < needed:
        seen = "an unreadable version" if version is None else f"Java {version}"
        raise JavaNotFoundError(f"Spark needs Java {needed}+ but {found} is {seen}: {JAVA_HINT}")
    return found


def required_java_version() -> int:
    """The oldest Java the installed pyspark runs on: 17 for Spark 4, 8 for Spark 3."""
    try:
        from pyspark import __version__
    except ImportError:
        return MIN_JAVA_VERSION
    return MIN_JAVA_VERSION if int(__version__.split(".")[0]) >= 4 else 8


def java_version(java: str) -> int | None:
    """Return the major version of a ``java`` executable (8 for "1.8.0", 17 for "17.0.2")."""
    try:
        completed = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return parse_java_version(completed.stderr + completed.stdout)


def parse_java_version(text: str) -> int | None:
    """Read the major version out of ``java -version`` output; None when there is none."""
    match = re.search(r'version "(\d+)(?:\.(\d+))?', text)
    if match is None:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def local_spark(
    cores: int = 2,
    *,
    app_name: str = "dolly-at-every-size",
    log_file: str | os.PathLike | None = None,
) -> SparkSession:
    """Start a quiet Spark session on this machine that runs ``cores`` tasks at a time.

    Meant for a laptop or CI; on Databricks use the ``spark`` session the notebook already has.
    Spark's own messages (the JVM's log and what the Python workers print) go to ``log_file``
    (a file in the temporary folder by default) instead of the notebook; errors still arrive as
    Python exceptions. The console progress bar and the web UI are off. Python workers run this
    interpreter, and each uses ``cpu_count // cores`` torch threads (at least one), so the tasks
    share the cores instead of fighting over them. When a session is already running, it is
    returned as it is.
    """
    if cores < 1:
        raise ValueError("cores must be a positive integer")
    find_java()
    _require_pyspark()
    from pyspark import SparkConf, SparkContext
    from pyspark.java_gateway import launch_gateway
    from pyspark.sql import SparkSession

    _silence_pandas_version_warning()
    if SparkContext._active_spark_context is not None:
        return SparkSession.builder.getOrCreate()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    log_path = Path(log_file) if log_file else Path(tempfile.gettempdir()) / f"dolly-spark-{os.getpid()}.log"
    threads = max(1, (os.cpu_count() or cores) // cores)
    conf = (
        SparkConf()
        .setMaster(f"local[{cores}]")
        .setAppName(app_name)
        .set("spark.ui.showConsoleProgress", "false")
        .set("spark.ui.enabled", "false")
        .set("spark.sql.shuffle.partitions", str(cores))
        .set("spark.sql.execution.arrow.pyspark.enabled", "true")
        .set("spark.python.worker.reuse", "true")
        .set("spark.executorEnv.OMP_NUM_THREADS", str(threads))
        .set("spark.executorEnv.TOKENIZERS_PARALLELISM", "false")
        .set("spark.executorEnv.HF_HUB_DISABLE_PROGRESS_BARS", "1")
        .set("spark.dolly.logFile", str(log_path))
    )
    gateway = SparkContext._gateway  # the Java process of an earlier, stopped session, if any
    if gateway is None:
        with open(log_path, "ab") as log:
            gateway = launch_gateway(conf, popen_kwargs={"stdout": log, "stderr": log})
    context = SparkContext(conf=conf, gateway=gateway)
    context.setLogLevel("WARN")
    return SparkSession(context)


def add_responses(
    df: DataFrame,
    *,
    instruction_col: str = "instruction",
    context_col: str | None = "context",
    model_name: str = DEFAULT_MODEL,
    dtype: str = "auto",
    max_new_tokens: int = 64,
    batch_size: int = 8,
    **decoding: Any,
) -> DataFrame:
    """Return ``df`` with Dolly's answer to every row: the batch inference of chapter 11.

    Every input row and column is kept, in order within each partition, and seven columns are
    added (``RESULT_COLUMNS``): ``response``, ``stop_reason``, ``prompt_tokens``,
    ``new_tokens``, ``seconds``, ``model_name`` and ``error``. ``seconds`` is the row's share of
    its batch's wall time (batch seconds / rows in the batch), so its sum over a table is the
    time the tasks spent generating, model loading not included. A row that cannot be answered (an
    instruction that is null or blank, an instruction longer than the model reads, a batch that
    fails) gets a null response and a one-line ``error``; the job carries on. A passage too long
    for the window is cut from its end, as ``generate`` cuts it, and the row's ``error`` says so
    beside its answer.

    Nothing runs until an action (``count``, ``write``, ``collect``). Then each executor's
    Python process loads ``model_name`` once (cached for later tasks), on the GPU Spark
    assigned to the task when there is one, and answers its rows ``batch_size`` at a time with
    ``generate``, shortest prompts first so a batch holds little padding: greedy unless
    ``decoding`` says otherwise (``do_sample``, ``temperature``, ``top_p``, ``top_k``,
    ``seed``). Pass ``context_col=None`` for a table without passages.
    """
    from pyspark.sql.types import DoubleType, IntegerType, StringType, StructField, StructType

    settings = _check_arguments(df, instruction_col, context_col, model_name, max_new_tokens, batch_size, decoding)
    for column in filter(None, (instruction_col, context_col)):
        if not isinstance(df.schema[column].dataType, StringType):
            kind = df.schema[column].dataType.simpleString()
            raise ValueError(f"column {column!r} must hold strings, not {kind}")
    spark_types = {"string": StringType(), "int": IntegerType(), "double": DoubleType()}
    schema = StructType(
        [*df.schema.fields]
        + [StructField(name, spark_types[kind], nullable=True) for name, kind in RESULT_COLUMNS]
    )
    answer = partial(
        answer_batches,
        instruction_col=instruction_col,
        context_col=context_col,
        model_name=model_name,
        dtype=dtype,
        batch_size=batch_size,
        settings=settings,
    )
    return df.mapInPandas(answer, schema)


def largest_batch_size(
    model_name: str,
    gpu: str,
    *,
    sequence_length: int = 512,
    load_in_8bit: bool = False,
    max_batch: int = 256,
) -> int:
    """The largest power-of-two ``batch_size`` whose memory plan fits one ``gpu``; 0 if none.

    ``sequence_length`` is prompt plus answer. The weights take the same memory at any batch
    size; the KV cache grows with batch size x sequence length, and that decides the batch.
    """
    from .memory import plan_memory

    best, batch = 0, 1
    while batch <= max_batch:
        plan = plan_memory(
            model_name, gpu=gpu, batch_size=batch, sequence_length=sequence_length, load_in_8bit=load_in_8bit
        )
        if not plan.fits:
            break
        best, batch = batch, batch * 2
    return best


def _check_arguments(
    df: DataFrame,
    instruction_col: str,
    context_col: str | None,
    model_name: str,
    max_new_tokens: int,
    batch_size: int,
    decoding: dict,
) -> DecodingSettings:
    """Fail on the driver, at once, for mistakes every row would otherwise repeat; return the settings.

    The decoding settings are built here, once, and sent to the executors as they are.
    """
    from .generation import DecodingSettings
    from .validation import check_whole_number

    columns = df.columns
    if instruction_col not in columns:
        raise ValueError(f"no column {instruction_col!r} in the table (columns: {', '.join(columns)})")
    if context_col is not None and context_col not in columns:
        raise ValueError(
            f"no column {context_col!r} in the table: name the passage column, or pass context_col=None"
        )
    taken = [name for name, _ in RESULT_COLUMNS if name in columns]
    if taken:
        raise ValueError(f"the table already has column(s) {', '.join(taken)}: rename them first")
    unknown = sorted(set(decoding) - DECODING_OPTIONS)
    if unknown:
        known = ", ".join(sorted(DECODING_OPTIONS))
        raise TypeError(f"unknown decoding option(s) {', '.join(unknown)}: use {known}")
    settings = DecodingSettings(max_new_tokens=max_new_tokens, **decoding)  # each bad value is one line, here
    check_whole_number("batch_size", batch_size, minimum=1, example="8")
    if os.sep not in model_name and "/" not in model_name:
        window = get_spec(model_name).context_length  # a book name: unknown ones raise here
        if max_new_tokens >= window:
            raise ValueError(
                f"max_new_tokens={max_new_tokens} leaves no room for a prompt in the {window} tokens "
                f"{model_name} reads: choose fewer"
            )
    return settings


def answer_batches(
    frames: Iterator[pd.DataFrame],
    *,
    instruction_col: str,
    context_col: str | None,
    model_name: str,
    dtype: str,
    batch_size: int,
    settings: DecodingSettings,
) -> Iterator[pd.DataFrame]:
    """Answer one partition, frame by frame (what ``mapInPandas`` runs in each worker).

    The model is loaded on the first row that needs it, so a partition of bad rows loads none.
    """
    for frame in frames:
        yield answer_frame(
            frame,
            lambda: cached_model(model_name, dtype, task_device()),
            instruction_col=instruction_col,
            context_col=context_col,
            batch_size=batch_size,
            settings=settings,
        )


def answer_frame(
    frame: pd.DataFrame,
    get_model: Callable[[], LoadedModel],
    *,
    instruction_col: str,
    context_col: str | None,
    batch_size: int,
    settings: DecodingSettings,
) -> pd.DataFrame:
    """Return ``frame`` with the result columns added; bad rows get an ``error`` instead.

    Each row goes through :func:`~dolly_helpers.request.prepare_request`, as in ``generate``:
    a prompt too long for the window is an error, and a passage too long for it is cut, the
    row's ``error`` holding the warning that says so beside its answer.
    """
    import pandas as pd

    n = len(frame)
    instructions = list(frame[instruction_col])
    contexts = list(frame[context_col]) if context_col is not None else [None] * n
    out: dict[str, list] = {name: [None] * n for name, _ in RESULT_COLUMNS}
    todo: list[tuple[int, str, str | None]] = []
    for row, (instruction, context) in enumerate(zip(instructions, contexts)):
        problem = row_problem(instruction, context)
        if problem:
            out["error"][row] = problem
        else:
            todo.append((row, instruction, None if _is_missing(context) else context))

    model = get_model() if todo else None
    prepared = _prepared_rows(model, todo, settings.max_new_tokens, out) if model is not None else []
    for start in range(0, len(prepared), batch_size):
        batch = prepared[start : start + batch_size]
        for (row, _), result in zip(batch, _answer_batch(model, [request for _, request in batch], settings)):
            if isinstance(result, str):
                out["error"][row] = result
                continue
            out["response"][row] = result.response
            out["stop_reason"][row] = result.stop_reason
            out["prompt_tokens"][row] = result.prompt_tokens
            out["new_tokens"][row] = result.new_tokens
            out["seconds"][row] = result.seconds
            out["model_name"][row] = result.model_name

    dtypes = {"prompt_tokens": "Int32", "new_tokens": "Int32", "seconds": "Float64"}
    added = {
        name: pd.array(values, dtype=dtypes.get(name, object)) for name, values in out.items()
    }
    return frame.reset_index(drop=True).assign(**added)


def row_problem(instruction: object, context: object) -> str | None:
    """Say why a row cannot be answered (missing or blank instruction, non-text values)."""
    if _is_missing(instruction):
        return "instruction is missing (null)"
    if not isinstance(instruction, str):
        return f"instruction is not text ({type(instruction).__name__})"
    if not instruction.strip():
        return "instruction is empty"
    if not _is_missing(context) and not isinstance(context, str):
        return f"context is not text ({type(context).__name__})"
    return None


def cached_model(model_name: str, dtype: str = "auto", device: str = "auto") -> LoadedModel:
    """Return the model this process already loaded, or load it: one load per Python worker.

    Spark reuses its Python workers between tasks, so a worker answers every partition it is
    given with one copy of the weights. A different model (or device) replaces the cached one,
    so a GPU never holds two copies for one process.
    """
    from .loading import load_model

    key = (model_name, str(dtype), device)
    if key not in _MODEL_CACHE:
        _MODEL_CACHE.clear()
        _MODEL_CACHE[key] = load_model(model_name, dtype=dtype, device=device)
    return _MODEL_CACHE[key]


def task_device() -> str:
    """The GPU Spark assigned to the running task (``cuda:N``), or "auto" when it assigned none.

    With ``spark.task.resource.gpu.amount=1`` every concurrent task on a multi-GPU node gets a
    GPU of its own; outside a Spark task (or without GPU scheduling) the model goes wherever
    ``load_model`` would put it.
    """
    try:
        from pyspark import TaskContext
    except ImportError:
        return "auto"
    context = TaskContext.get()
    gpus = context.resources().get("gpu") if context is not None else None
    if gpus is None or not gpus.addresses:
        return "auto"
    return f"cuda:{gpus.addresses[0]}"


def _answer_batch(
    model: LoadedModel, requests: Sequence[Request], settings: DecodingSettings
) -> list[GenerationResult | str]:
    """Answer a batch; if it fails, retry its rows one by one.

    Returns one result or one error message per row, so a single bad prompt (or a batch
    too big for the GPU) costs those rows, not the job.
    """
    from .generation import answer_requests

    try:
        return answer_requests(model, requests, settings, batch_size=len(requests))
    except Exception as error:  # noqa: BLE001 - reported per row, never fatal
        if len(requests) == 1:
            return [_one_line(error)]
        return [_answer_batch(model, [request], settings)[0] for request in requests]


def _prepared_rows(model: LoadedModel, todo: list, max_new_tokens: int, out: dict) -> list[tuple[int, Request]]:
    """Each row's request, shortest prompt first (little padding per batch); a row that does not fit gets its error."""
    from .request import prepare_request
    from .validation import first_line

    prepared = []
    for row, instruction, context in todo:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                prepared.append((row, prepare_request(model, instruction, context, max_new_tokens)))
            except ValueError as error:
                out["error"][row] = first_line(error)
        if caught:
            out["error"][row] = first_line(str(caught[-1].message))
    prepared.sort(key=lambda item: (len(item[1].prompt_ids), item[0]))
    return prepared


def _one_line(error: BaseException) -> str:
    from .validation import first_line

    return f"generation failed: {type(error).__name__}: {first_line(error)}"[:300]


def _is_missing(value: object) -> bool:
    """None, or the NaN that pandas uses for a missing value."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def _require_pyspark() -> None:
    try:
        import pyarrow  # noqa: F401
        import pyspark  # noqa: F401
    except ImportError as error:
        raise ImportError(f"batch inference with Spark needs {error.name}: {PYSPARK_HINT}") from None


def _silence_pandas_version_warning() -> None:
    """Drop two notices pyspark 4.3 prints on every pandas conversion under pandas 3.

    One says pandas 3 is not yet fully supported, the other that pyspark passes a deprecated
    ``copy`` argument. The book pins pandas 3 and its tests check every conversion it makes, so
    only these two messages are dropped, and only when they come from pyspark.
    """
    warnings.filterwarnings(
        "ignore", message="PySpark does not yet fully support pandas", category=FutureWarning
    )
    warnings.filterwarnings("ignore", message="The copy keyword is deprecated", module=r"pyspark\.")
