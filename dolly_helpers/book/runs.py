"""Run the per-size chapters once per model: ``python -m dolly_helpers.book run``.

Each model gets its own folder under ``runs/``; the committed chapter is never overwritten.
A model that fails is reported and skipped, the others go on, and a model whose inputs have
not changed since its last successful run is not run again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..models import get_spec
from ..run_summary import SUMMARY_FILE, load_run_summaries
from . import paths
from .execute import execute_notebook

FINGERPRINT_FILE = "fingerprint.txt"


class RunsInterrupted(KeyboardInterrupt):
    """Ctrl-C during a sweep: the runs that finished are kept, the one under way is not."""

    def __init__(self, finished: list[str]):
        super().__init__(finished)
        self.finished = finished


@dataclass(frozen=True)
class RunOutcome:
    model_name: str
    status: str  # "ran", "unchanged" or "failed"
    error: str = ""


def run_sizes(model_names: Sequence[str], *, force: bool = False) -> list[RunOutcome]:
    """Execute every per-size chapter for each model; return what happened to each."""
    from tqdm.auto import tqdm

    for name in model_names:
        get_spec(name)  # unknown names fail here, before any work starts
    outcomes = []
    progress = tqdm(model_names, desc="per-size runs", unit="model")
    try:
        for name in progress:
            progress.set_postfix_str(name)
            outcomes.append(_run_one(name, force=force))
    except KeyboardInterrupt:
        raise RunsInterrupted([outcome.model_name for outcome in outcomes if outcome.status != "failed"]) from None
    finally:
        progress.close()
        write_combined_summary()  # what finished stays readable, even after Ctrl-C
    return outcomes


def _run_one(name: str, *, force: bool) -> RunOutcome:
    folder = paths.RUNS / name
    fingerprint = input_fingerprint(name)
    stamp = folder / FINGERPRINT_FILE
    if not force and stamp.is_file() and stamp.read_text() == fingerprint:
        return RunOutcome(name, "unchanged")
    for stale in (stamp, folder / SUMMARY_FILE):
        stale.unlink(missing_ok=True)
    summary = f"../runs/{name}/{SUMMARY_FILE}"  # relative to the notebooks folder
    try:
        for chapter in paths.PER_SIZE_CHAPTERS:
            execute_notebook(
                paths.NOTEBOOKS / chapter,
                folder / chapter,
                {"model_name": name, "run_summary": summary},
            )
    except Exception as error:  # papermill's execution error, a missing kernel, ...
        return RunOutcome(name, "failed", _one_line(error))
    stamp.write_text(fingerprint)
    return RunOutcome(name, "ran")


def input_fingerprint(name: str) -> str:
    """A hash of everything a run depends on: the chapters, the helpers, the model's files."""
    digest = hashlib.sha256(name.encode())
    package = Path(__file__).resolve().parents[1]
    inputs = [paths.NOTEBOOKS / chapter for chapter in paths.PER_SIZE_CHAPTERS]
    inputs += sorted(package.rglob("*.py"))
    local = get_spec(name).local_path
    if local is not None:
        inputs += sorted(local.glob("*"))
    for path in inputs:
        digest.update(path.name.encode())
        digest.update(_source_bytes(path))
    return digest.hexdigest()


def _source_bytes(path: Path) -> bytes:
    """A file's bytes; for a notebook only its cell sources, so outputs don't count."""
    if path.suffix != ".ipynb":
        return path.read_bytes()
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return json.dumps([cell["source"] for cell in cells]).encode()


def write_combined_summary() -> Path:
    """Gather every model's summary into ``runs/summary.json`` (chapter 5 reads it)."""
    combined = paths.RUNS / SUMMARY_FILE
    combined.parent.mkdir(parents=True, exist_ok=True)
    summaries = load_run_summaries(paths.RUNS)
    combined.write_text(json.dumps(summaries, indent=1) + "\n")
    return combined


def _one_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    last = lines[-1] if lines else type(error).__name__
    return f"{type(error).__name__}: {last}"[:300]
