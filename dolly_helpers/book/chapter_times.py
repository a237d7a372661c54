"""A Sphinx extension: every chapter page ends with the time its notebook took to run.

The times are those ``make book`` recorded in ``runs/execution-times.json`` (the status page
shows them all). They are added when the site is built, not by the notebook itself: a
chapter that printed its own time would change every time it ran, and never be skipped.
"""

from __future__ import annotations

import html
import json

from . import paths

#: The class of the paragraph, for the site's tests and its style sheet.
CSS_CLASS = "chapter-time"


def chapter_time_html(pagename: str, times: dict[str, float]) -> str:
    """The closing note of chapter page ``pagename`` (``notebooks/04_running-dolly``), or "" for other pages."""
    folder, _, name = pagename.rpartition("/")
    seconds = times.get(f"{name}.ipynb")
    if folder != paths.NOTEBOOKS.name or seconds is None:
        return ""
    text = (f"Time to run this chapter: {_duration(seconds)} with the tiny models on the CPU of the machine that "
            "built this book, one torch thread, papermill's kernel start included.")  # fmt: skip
    return (f"<div class='admonition note {CSS_CLASS}'><p class='admonition-title'>Time to run</p>"
            f"<p>{html.escape(text)} The <a href='../book/status.html'>status page</a> names the machine and "
            "lists every notebook.</p></div>")  # fmt: skip


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} minutes"


def add_chapter_time(app, pagename: str, templatename: str, context: dict, doctree) -> None:
    """Append the chapter's time to its page body (an ``html-page-context`` handler)."""
    if "body" not in context:
        return
    try:
        times = json.loads((paths.RUNS / paths.EXECUTION_TIMES).read_text())
    except (OSError, ValueError):
        return
    context["body"] += chapter_time_html(pagename, times)


def setup(app) -> dict:
    app.connect("html-page-context", add_chapter_time)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
