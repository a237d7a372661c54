"""Run the per-size chapters once per model: ``python -m dolly_helpers.book run``.

Each model gets its own folder under ``runs/``; the committed chapter is never overwritten.
A model that fails is reported and the others go on, and a model whose inputs have not
changed since its last successful run is not run again (the same policy as the chapters',
see :mod:`.fingerprint`): the chapter's cell sources, its parameters (the model's name),
the package with the tiny models, the requirements. The runs go one at a time: chapter 5
compares their speeds, so each has the machine to itself (run two at a time, the smallest model
wrote 9 % to 61 % fewer tokens per second than alone, depending on what ran beside it).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

from ..models import get_spec
from ..run_summary import SUMMARY_FILE, load_run_summaries
from . import paths
from .execute import Job, Outcome, execute_notebook, run_jobs


def size_jobs(model_names: Sequence[str]) -> list[Job]:
    """One job per model and per-size chapter, into ``runs/<model>/``."""
    jobs = []
    for name in model_names:
        folder = paths.RUNS / name
        summary = f"../runs/{name}/{SUMMARY_FILE}"  # relative to the notebooks folder
        for chapter in paths.PER_SIZE_CHAPTERS:
            jobs.append(Job(paths.NOTEBOOKS / chapter, folder / chapter,
                            {"model_name": name, "run_summary": summary}, writes=(folder / SUMMARY_FILE,)))
    return jobs


def run_sizes(model_names: Sequence[str], *, force: bool = False,
              report: Callable[[Outcome], None] | None = None) -> list[Outcome]:
    """Execute every per-size chapter for each model, when its inputs changed; return what happened to each."""
    for name in model_names:
        get_spec(name)  # unknown names fail here, before any work starts
    try:
        return run_jobs(size_jobs(model_names), force=force, workers=1,
                        execute=execute_notebook, before=_drop_summary, report=report)
    finally:
        write_combined_summary()  # what finished stays readable, even after Ctrl-C


def _drop_summary(job: Job) -> None:
    """A run about to start loses its old summary: if it fails, chapter 5 does not show it."""
    for path in job.writes:
        path.unlink(missing_ok=True)


def write_combined_summary() -> Path:
    """Gather every model's summary into ``runs/summary.json`` (chapter 5 reads it)."""
    combined = paths.RUNS / SUMMARY_FILE
    combined.parent.mkdir(parents=True, exist_ok=True)
    summaries = load_run_summaries(paths.RUNS)
    text = json.dumps(summaries, indent=1) + "\n"
    if not combined.is_file() or combined.read_text() != text:  # unchanged: chapter 5 stays up to date
        combined.write_text(text)
    return combined
