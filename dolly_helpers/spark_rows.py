"""The executor side of Spark batch inference: answer the rows of one partition, frame by frame.

``add_responses`` (:mod:`dolly_helpers.spark`) hands :func:`answer_batches` to ``mapInPandas``;
it runs in each executor's Python worker, which loads its model once and answers its rows in
batches with the book's own ``answer_requests``. A row that cannot be answered gets a one-line
``error`` instead, and the job carries on.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

from .validation import error_line, first_line

if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    import pandas as pd

    from .decoding import DecodingSettings
    from .generation import GenerationResult
    from .loading import LoadedModel
    from .request import Request

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

#: One model per executor Python process, keyed by (model name, dtype, device).
_MODEL_CACHE: dict[tuple[str, str, str], LoadedModel] = {}


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
            return [f"generation failed: {error_line(error)}"]
        return [_answer_batch(model, [request], settings)[0] for request in requests]


def _prepared_rows(model: LoadedModel, todo: list, max_new_tokens: int, out: dict) -> list[tuple[int, Request]]:
    """Each row's request, shortest prompt first (little padding per batch); a row that does not fit gets its error."""
    from .request import prepare_request

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


def _is_missing(value: object) -> bool:
    """None, or the NaN that pandas uses for a missing value."""
    return value is None or (isinstance(value, float) and math.isnan(value))
