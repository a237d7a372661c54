"""Execute notebooks with papermill, quietly, from the folder they live in, two at a time.

A notebook whose inputs did not change since its last successful execution is skipped (see
:mod:`.fingerprint`); ``force=True`` runs it anyway. Each notebook runs in its own kernel, in
its own worker process, with torch on one thread (``OMP_NUM_THREADS=1``). The outputs then do
not depend on the machine's cores (training and scoring sum in another order on another number
of threads), and two one-thread kernels side by side get more done than two that share the
cores: the tiny models' steps are too small for a second thread to halve them.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import queue
import signal
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..validation import error_line
from . import paths
from .clean import clean_file
from .fingerprint import Stamps, changes, code_mentions, notebook_inputs
from .links import rebase_notebook_links

#: Seconds one cell may take; loading dolly-v2-12b from disk takes minutes.
CELL_TIMEOUT = 1800
#: Notebooks executed at a time; ``--jobs`` changes it.
WORKERS = 2
#: Set in every kernel's environment unless already set (see the module's docstring).
KERNEL_ENVIRONMENT = {"HF_HUB_DISABLE_PROGRESS_BARS": "1", "OMP_NUM_THREADS": "1"}
#: The kernels' own log stays out of the build's output: ipykernel warns on every start that
#: its local TCP ports are not encrypted, and jupyter_client interrupts every kernel it shuts
#: down, which ipykernel may log as an error. A failing cell is still reported, by papermill.
KERNEL_ARGUMENTS = ["--IPKernelApp.log_level=CRITICAL"]
#: A kernel dies before its first reply when another process took a port it was handed between
#: the choice and the bind (the build starts two kernels at once): it is started again, this many
#: times in all, before the notebook counts as failed.
KERNEL_STARTS = 3
KERNEL_START_FAILURE = "Kernel died before replying to kernel_info"


class NotebookFailed(RuntimeError):
    """A notebook stopped with an error; the message names the notebook and the cell."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during a build: the notebooks that finished keep their stamps, the rest run next time."""

    def __init__(self, finished: list[str]):
        super().__init__(finished)
        self.finished = finished


def execute_notebook(source: Path, output: Path, parameters: dict | None = None) -> None:
    """Run ``source`` into ``output`` (may be the same file), then clean the result.

    The kernel starts in ``source``'s folder so relative paths in the chapter resolve the
    same way for readers and for the build; links in a copy written elsewhere are rebased.
    The run is written to a temporary file and renamed over ``output`` only when every cell
    succeeded, so a failure never leaves a half-written notebook where the book reads it.
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(f".{output.stem}.partial.ipynb")
    for name, value in KERNEL_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    try:
        for attempt in range(1, KERNEL_STARTS + 1):
            try:
                papermill.execute_notebook(
                    str(source),
                    str(partial),
                    parameters=parameters or {},
                    cwd=str(source.parent),
                    kernel_name="python3",
                    progress_bar=False,
                    log_output=False,
                    execution_timeout=CELL_TIMEOUT,
                    extra_arguments=KERNEL_ARGUMENTS,
                )
                break
            except RuntimeError as error:  # no cell ran: the kernel never started
                if KERNEL_START_FAILURE not in str(error) or attempt == KERNEL_STARTS:
                    raise
        hide_replaced_parameters(partial)
        rebase_notebook_links(partial, source.parent)
        clean_file(partial)
        os.replace(partial, output)
    except PapermillExecutionError as error:
        raise NotebookFailed(
            f"{source.name}: cell {error.exec_count} failed with {error.ename}: {error.evalue}"
        ) from error
    finally:
        partial.unlink(missing_ok=True)


def hide_replaced_parameters(path: Path) -> None:
    """Tag the original ``parameters`` cell ``remove-cell`` when papermill injected new values.

    The site then shows one parameters cell: the values this run actually used.
    """
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    tags = [cell.metadata.get("tags", []) for cell in notebook.cells]
    if not any("injected-parameters" in cell_tags for cell_tags in tags):
        return
    for cell, cell_tags in zip(notebook.cells, tags):
        if "parameters" in cell_tags and "remove-cell" not in cell_tags:
            cell.metadata["tags"] = [*cell_tags, "remove-cell"]
    nbformat.write(notebook, path)


@dataclass(frozen=True)
class Job:
    """One execution: ``source`` run with ``parameters`` into ``output``."""

    source: Path
    output: Path
    parameters: Mapping = field(default_factory=dict)
    #: Files the execution writes itself (a per-size run's summary): never its inputs.
    writes: tuple[Path, ...] = ()

    @property
    def name(self) -> str:
        return paths.shown(self.output)


@dataclass(frozen=True)
class Outcome:
    """What happened to a job: ``ran`` (and why), ``skipped`` (and why) or ``failed``."""

    job: Job
    status: str
    reasons: tuple[str, ...] = ()
    seconds: float | None = None
    error: str = ""

    def __str__(self) -> str:
        why = ", ".join(self.reasons)
        if self.status == "ran":
            return f"ran in {self.seconds:.1f} s ({why})"
        if self.status == "failed":
            return f"failed: {self.error}"
        return f"skipped ({why})"


def run_jobs(
    jobs: Sequence[Job],
    *,
    force: bool = False,
    workers: int = WORKERS,
    execute: Callable[[Path, Path, dict], None] | None = None,
    before: Callable[[Job], None] | None = None,
    report: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    """Run every job whose inputs changed, ``workers`` at a time, in the order given; skip the others.

    A job's inputs are read just before it starts, so a job after another sees what it wrote.
    Each success is stamped at once; a failure leaves no stamp. ``execute`` (by default
    :func:`execute_notebook`) runs in a worker process (in this one for ``workers=1``), ``before``
    ahead of each execution, ``report`` after each job, skipped or not. Ctrl-C stops the
    notebooks under way; the finished ones keep their stamps. Returns the outcomes in job order.
    """
    execute = execute or execute_notebook
    stamps = Stamps()
    pending = list(enumerate(jobs))
    outcomes: dict[int, Outcome] = {}
    running: dict[int, tuple[Job, dict, list[str]]] = {}

    def finish(index: int, outcome: Outcome) -> None:
        outcomes[index] = outcome
        if report:
            report(outcome)

    pool = _Workers(min(workers, len(pending)))
    try:
        while pending or running:
            while pending and len(running) < pool.size:
                index, job = pending.pop(0)
                inputs = notebook_inputs(job.source, job.parameters, job.writes)
                reasons = ["forced"] if force else changes(stamps.get(job.output), inputs)
                if not reasons:
                    finish(index, Outcome(job, "skipped", ("unchanged",)))
                    continue
                stamps.forget(job.output)
                if before:
                    before(job)
                running[index] = (job, inputs, reasons)
                pool.submit(index, _timed, execute, job.source, job.output, dict(job.parameters))
            if not running:
                break
            index, seconds, error = pool.next_done()
            job, inputs, reasons = running.pop(index)
            if error is not None:  # papermill's execution error, a missing kernel, ...
                finish(index, Outcome(job, "failed", tuple(reasons), error=error_line(error, last=True)))
            else:
                stamps.record(job.output, inputs)
                finish(index, Outcome(job, "ran", tuple(reasons), seconds=seconds))
    except KeyboardInterrupt:
        pool.stop()
        raise Interrupted([outcome.job.name for outcome in outcomes.values() if outcome.status != "failed"]) from None
    pool.close()
    return [outcomes[index] for index in sorted(outcomes)]


def execute_all(*, force: bool = False, workers: int = WORKERS,
                report: Callable[[Outcome], None] | None = None) -> list[Outcome]:
    """Execute every chapter and book page in place with its default parameters, when its inputs changed.

    Records how many seconds each notebook took in ``runs/execution-times.json`` (a skipped
    notebook keeps its last time). Three rounds: the chapters in ``paths.RUN_ALONE``, one at a
    time; the others, ``workers`` at a time, longest first; last, the notebooks that show the
    execution times (the status page), once every other has finished.
    """
    notebooks = paths.chapters() + paths.pages()
    times = read_execution_times()
    last = [notebook for notebook in notebooks if _mentions(notebook, paths.EXECUTION_TIMES)]
    alone = [notebook for notebook in notebooks if paths.slug(notebook) in paths.RUN_ALONE and notebook not in last]
    together = [notebook for notebook in notebooks if notebook not in last + alone]
    together.sort(key=lambda notebook: -times.get(notebook.name, float("inf")))

    def record(outcome: Outcome) -> None:
        if outcome.status == "ran":
            times[outcome.job.source.name] = round(outcome.seconds, 1)
            ordered = {nb.name: times[nb.name] for nb in notebooks if nb.name in times}
            (paths.RUNS / paths.EXECUTION_TIMES).write_text(json.dumps(ordered, indent=1) + "\n")
        if report:
            report(outcome)

    def run(round: list[Path], workers: int) -> list[Outcome]:
        jobs = [Job(notebook, notebook) for notebook in round]
        return run_jobs(jobs, force=force, workers=workers, report=record)

    paths.RUNS.mkdir(exist_ok=True)
    outcomes = run(alone, 1) + run(together, workers)
    if any(outcome.status == "failed" for outcome in outcomes):
        held = [Outcome(Job(notebook, notebook), "skipped", ("a notebook before it failed",)) for notebook in last]
        for outcome in held:
            record(outcome)
        return outcomes + held
    return outcomes + run(last, workers)


def read_execution_times() -> dict[str, float]:
    try:
        return json.loads((paths.RUNS / paths.EXECUTION_TIMES).read_text())
    except (OSError, ValueError):
        return {}


def _mentions(notebook: Path, name: str) -> bool:
    return name in code_mentions(notebook)


def _timed(execute: Callable[[Path, Path, dict], None], source: Path, output: Path, parameters: dict) -> float:
    """Run one execution (in a worker process) and return its wall time, kernel start included."""
    started = time.perf_counter()
    execute(source, output, parameters)
    return time.perf_counter() - started


class _Workers:
    """Up to ``size`` jobs at a time, each in a worker process (started with the first job), or,
    for ``size`` 1, one at a time in this process. ``next_done`` waits for any job to end."""

    def __init__(self, size: int):
        self.size = max(1, size)
        self._pool = None
        self._done: queue.Queue = queue.Queue()

    def submit(self, key: int, function: Callable, *args) -> None:
        if self.size == 1:
            try:
                self._done.put((key, function(*args), None))
            except Exception as error:
                self._done.put((key, None, error))
            return
        if self._pool is None:
            # A fresh interpreter per worker ("spawn"): nothing of this process's state is shared.
            context = multiprocessing.get_context("spawn")
            self._pool = context.Pool(self.size, initializer=_worker_started)
        self._pool.apply_async(function, args, callback=lambda result: self._done.put((key, result, None)),
                               error_callback=lambda error: self._done.put((key, None, error)))

    def next_done(self) -> tuple[int, object, BaseException | None]:
        while True:  # a short timeout keeps Ctrl-C responsive
            try:
                return self._done.get(timeout=0.2)
            except queue.Empty:
                pass

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool.join()

    def stop(self) -> None:
        """Ctrl-C: end the notebooks under way (their partial files are removed, their kernels shut down)."""
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()


def _worker_started() -> None:
    """In a worker: Ctrl-C is the build's to handle, and the build's stop (SIGTERM) unwinds the
    notebook under way, so that its kernel is shut down and its partial output removed."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
