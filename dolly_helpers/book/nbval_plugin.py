"""A pytest plugin for ``pytest --nbval``: check notebooks committed without execution counts.

The book commits its chapters cleaned, with every ``execution_count`` removed so that a rerun
does not show up as a diff. nbval, however, treats a code cell without a count as never run
and refuses its outputs. This plugin numbers the code cells as nbval reads them, so every
cell's outputs are compared. Load it with ``-p dolly_helpers.book.nbval_plugin``.
"""

from __future__ import annotations

from nbval.plugin import IPyNbFile

_collect = IPyNbFile.collect


def _collect_with_counts(self: IPyNbFile):
    for item in _collect(self):
        if item.cell.get("execution_count") is None:
            item.cell.execution_count = item.cell_num + 1
        yield item


IPyNbFile.collect = _collect_with_counts
