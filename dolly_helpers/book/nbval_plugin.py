"""A pytest plugin for ``pytest --nbval``: check notebooks committed without execution counts.

The book commits its chapters cleaned, with every ``execution_count`` removed so that a rerun
does not show up as a diff. nbval, however, treats a code cell without a count as never run
and refuses its outputs. This plugin numbers the code cells as nbval reads them, so every
cell's outputs are compared. Load it with ``-p dolly_helpers.book.nbval_plugin``.

It also puts the notebooks that took longest in the last build (``runs/execution-times.json``)
first, so that with ``pytest -n 2 --dist loadscope --no-loadscope-reorder`` the two workers
finish at about the same time instead of one starting the longest chapter last.
"""

from __future__ import annotations

from nbval.plugin import IPyNbCell, IPyNbFile

from .execute import read_execution_times

_collect = IPyNbFile.collect


def _collect_with_counts(self: IPyNbFile):
    for item in _collect(self):
        if item.cell.get("execution_count") is None:
            item.cell.execution_count = item.cell_num + 1
        yield item


IPyNbFile.collect = _collect_with_counts


def pytest_collection_modifyitems(session, config, items) -> None:
    """Longest notebooks first; a notebook's cells stay together and in order (the sort is stable)."""
    times = read_execution_times()

    def seconds(item) -> float:
        return times.get(item.path.name, 0.0) if isinstance(item, IPyNbCell) else 0.0

    items.sort(key=lambda item: -seconds(item))
