"""Keep committed notebooks clean: outputs stay, volatile bookkeeping goes.

Execution counts, papermill's timing metadata, interpreter versions and memory addresses
change on every run without changing what a reader sees; stripping them keeps diffs honest.
``make test`` fails when a committed notebook is not clean.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

NOTEBOOK_METADATA_KEPT = ("kernelspec", "widgets")
CELL_METADATA_KEPT = ("tags",)
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{6,}")


def clean_notebook(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Return ``notebook`` without execution counts, volatile metadata or memory addresses."""
    metadata = notebook.metadata
    notebook.metadata = nbformat.from_dict(
        {key: metadata[key] for key in NOTEBOOK_METADATA_KEPT if key in metadata}
    )
    # IPython's lexer, so the site highlights the `!` shell lines of the Colab set-up cell.
    notebook.metadata["language_info"] = {"name": "python", "pygments_lexer": "ipython3"}
    for cell in notebook.cells:
        cell.metadata = nbformat.from_dict(
            {key: cell.metadata[key] for key in CELL_METADATA_KEPT if cell.metadata.get(key)}
        )
        cell.pop("id", None)
        if cell.cell_type != "code":
            continue
        cell.execution_count = None
        for output in cell.outputs:
            _clean_output(output)
    notebook.nbformat, notebook.nbformat_minor = 4, 4
    return notebook


def _clean_output(output: nbformat.NotebookNode) -> None:
    if "execution_count" in output:
        output.execution_count = None
    if output.get("output_type") == "stream":
        output.text = _ADDRESS.sub("0x…", output.text)
    for mime, data in output.get("data", {}).items():
        if mime.startswith("text/") and isinstance(data, str):
            output.data[mime] = _ADDRESS.sub("0x…", data)


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
