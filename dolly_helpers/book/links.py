"""Rebase relative links when a chapter is executed into another folder.

The per-size runs of chapter 4 live in ``runs/<model>/``, two folders away from the chapter in
``notebooks/``. Their links to other chapters and their included callouts must still point at
the same files, so every relative target in the markdown cells is rewritten for the new place.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat

#: The target of a markdown link, ``[text](target)`` or ``[text](target#anchor)``.
_LINK = re.compile(r"(?<=\]\()([^)\s#]+)")
#: The path of a MyST include directive, `````{include} path``.
_INCLUDE = re.compile(r"(?<=\{include\} )(\S+)")


def rebase_target(target: str, source_dir: Path, output_dir: Path) -> str:
    """``target`` as seen from ``output_dir``; URLs, anchors and absolute paths stay as they are."""
    if "://" in target or target.startswith(("/", "#", "mailto:")):
        return target
    resolved = os.path.normpath(source_dir / target)
    return Path(os.path.relpath(resolved, output_dir)).as_posix()


def rebase_markdown(text: str, source_dir: Path, output_dir: Path) -> str:
    """Rewrite every relative link and include path in ``text``."""
    def rebase(match: re.Match) -> str:
        return rebase_target(match.group(1), source_dir, output_dir)

    return _INCLUDE.sub(rebase, _LINK.sub(rebase, text))


def rebase_notebook_links(path: Path, source_dir: Path) -> None:
    """Rebase the markdown cells of the notebook at ``path``, executed from ``source_dir``."""
    output_dir = path.resolve().parent
    source_dir = source_dir.resolve()
    if output_dir == source_dir:
        return
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            cell.source = rebase_markdown(cell.source, source_dir, output_dir)
    nbformat.write(notebook, path)
