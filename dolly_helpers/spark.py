"""Batch inference on a Spark table: every row of a DataFrame gets Dolly's answer.

Chapter 11 (Dolly on the Lakehouse) runs it on a laptop with ``local[2]`` and the tiny
default model; the same ``add_responses`` call runs unchanged on a Databricks or other Spark
cluster with GPUs and a real Dolly size. Each executor's Python process loads the model once
and answers its rows in batches with the book's own ``generate``; models load through
``load_model``, which never runs remote code.

pyspark is imported only inside the functions that need it, so ``import dolly_helpers`` works
without it; Spark itself needs Java 17 or newer (:func:`~dolly_helpers.java.find_java` says how
to get it). The rows are answered in :mod:`dolly_helpers.spark_rows`.
"""

from __future__ import annotations

import os
import sys
import tempfile
import warnings
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .java import find_java
from .models import DEFAULT_MODEL, get_spec
from .spark_rows import RESULT_COLUMNS, answer_batches

if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from pyspark.sql import DataFrame, SparkSession

    from .decoding import DecodingSettings

PYSPARK_HINT = "pip install pyspark pyarrow (the lakehouse group of requirements.txt)"

#: The decoding settings of ``generate`` that ``add_responses`` passes through.
DECODING_OPTIONS = frozenset({"do_sample", "temperature", "top_p", "top_k", "seed"})


#: The local JVM does little but plan and move a few hundred rows: a single-threaded garbage
#: collector and the quick first-tier compiler only start it faster and leave the cores to torch.
JVM_OPTIONS = "-XX:+UseSerialGC -XX:TieredStopAtLevel=1"


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
        .set("spark.driver.extraJavaOptions", JVM_OPTIONS)
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
    from .decoding import DecodingSettings
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
