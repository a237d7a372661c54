"""Where the book's pieces live, relative to the repository root."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
PAGES = ROOT / "book"
RUNS = ROOT / "runs"
#: The helper package: every chapter's code, data and tiny models.
PACKAGE = ROOT / "dolly_helpers"
#: The browser playground's script: the site ships it, and no notebook reads it.
WEB = PACKAGE / "book" / "web"

#: Chapters that run once per model size; papermill sets their ``model_name``.
PER_SIZE_CHAPTERS = ("04_running-dolly.ipynb",)
#: Chapters (by name, without their number) whose outputs compare speeds measured within the
#: chapter (the speed ladder; Spark's ``local[2]`` against one process): the build runs them with
#: nothing beside them.
RUN_ALONE = ("making-dolly-fast", "dolly-on-the-lakehouse")
#: In ``runs/``: the seconds each notebook took (the status page shows them).
EXECUTION_TIMES = "execution-times.json"
#: In ``runs/``: the inputs of every notebook's last successful execution (see fingerprint.py).
STAMPS = "fingerprints.json"


def chapters() -> list[Path]:
    """Every chapter notebook, in reading order."""
    return sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def pages() -> list[Path]:
    """The book's notebook pages (the status page), after the chapters in the build."""
    return sorted(PAGES.glob("*.ipynb"))


def committed_notebooks() -> list[Path]:
    """Every notebook the repository keeps: chapters, book pages and per-size runs."""
    return chapters() + pages() + sorted(RUNS.glob("*/*.ipynb"))


def slug(notebook: Path) -> str:
    """A chapter's name without its number: ``10_dolly-on-the-lakehouse.ipynb`` -> ``dolly-on-the-lakehouse``."""
    return notebook.stem.split("_", 1)[-1]


def shown(path: Path) -> str:
    """``path`` relative to the repository root when it lies inside it, as the build prints it."""
    try:
        return path.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return str(path)
