"""Keep committed notebooks clean with nbstripout: outputs and execution counts stay, bookkeeping goes.

papermill numbers the code cells 1, 2, 3 ... in the order it runs them, the same on every run, so
the counts stay; nbval compares the outputs of counted cells. What changes on every run without
changing what a reader sees goes: papermill's timings, the interpreter's version, random cell ids.
``make test`` fails when a committed notebook is not clean.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbstripout import strip_output

#: Removed beyond nbstripout's own rules (the list ``nbstripout --extra-keys`` takes).
VOLATILE_KEYS = (
    "metadata.papermill",
    "metadata.language_info.version",
    "cell.metadata.papermill",
    "cell.metadata.execution",
    "cell.metadata.ExecuteTime",
)


def clean_notebook(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Return ``notebook`` without volatile metadata, its outputs and counts kept, its cell ids numbered.

    Consecutive pieces of one stream are joined: how a printout was cut into pieces depends on
    when the kernel flushed it, not on what it printed.
    """
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = _joined_streams(cell.outputs)
    return strip_output(notebook, keep_output=True, keep_count=True, keep_id=False, extra_keys=list(VOLATILE_KEYS))


def _joined_streams(outputs: list) -> list:
    joined: list = []
    for output in outputs:
        previous = joined[-1] if joined else None
        if output.output_type == "stream" and previous and previous.output_type == "stream" and previous.name == output.name:
            previous.text += output.text
        else:
            joined.append(output)
    return joined


def cleaned_text(text: str) -> str:
    """The cleaned form of a notebook file's text, as ``clean_file`` would write it."""
    return nbformat.writes(clean_notebook(nbformat.reads(text, as_version=4))) + "\n"


def clean_file(path: Path) -> bool:
    """Clean one notebook file in place; return True when it changed."""
    before = path.read_text(encoding="utf-8")
    after = cleaned_text(before)
    if after != before:
        path.write_text(after, encoding="utf-8")
    return after != before


def unclean_files(paths: list[Path]) -> list[Path]:
    """The notebooks among ``paths`` that cleaning would change (nothing is written)."""
    return [path for path in paths if cleaned_text(path.read_text(encoding="utf-8")) != path.read_text(encoding="utf-8")]
