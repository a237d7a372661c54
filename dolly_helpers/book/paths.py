"""Where the book's pieces live, relative to the repository root."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
PAGES = ROOT / "book"
RUNS = ROOT / "runs"

#: Chapters that run once per model size; papermill sets their ``model_name``.
PER_SIZE_CHAPTERS = ("04_running-dolly.ipynb",)


def chapters() -> list[Path]:
    """Every chapter notebook, in reading order."""
    return sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def committed_notebooks() -> list[Path]:
    """Every notebook the repository keeps: chapters, book pages and per-size runs."""
    return chapters() + sorted(PAGES.glob("*.ipynb")) + sorted(RUNS.glob("*/*.ipynb"))
