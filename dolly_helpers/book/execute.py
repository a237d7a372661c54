"""Execute notebooks with papermill, quietly, from the folder they live in."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from . import paths
from .clean import clean_file
from .links import rebase_notebook_links

EXECUTION_TIMES = "execution-times.json"
#: Seconds one cell may take; loading dolly-v2-12b from disk takes minutes.
CELL_TIMEOUT = 1800


class NotebookFailed(RuntimeError):
    """A notebook stopped with an error; the message names the notebook and the cell."""


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
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
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
        )
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


def execute_all() -> dict[str, float]:
    """Execute every chapter and book page in place with its default parameters.

    Prints and records (``runs/execution-times.json``, read by the status page) how many
    seconds each notebook took.
    """
    paths.RUNS.mkdir(exist_ok=True)
    seconds = {}
    for notebook in paths.chapters() + sorted(paths.PAGES.glob("*.ipynb")):
        started = time.perf_counter()
        execute_notebook(notebook, notebook)
        seconds[notebook.name] = round(time.perf_counter() - started, 1)
        print(f"{notebook.relative_to(paths.ROOT)}: {seconds[notebook.name]:.1f} s", flush=True)
        # Written as it goes, so the status page (executed last) sees this build's times.
        (paths.RUNS / EXECUTION_TIMES).write_text(json.dumps(seconds, indent=1) + "\n")
    return seconds
