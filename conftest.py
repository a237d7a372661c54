"""pytest, for every run in this repository: with nbval, the notebooks that took longest go first.

``runs/execution-times.json`` holds each notebook's time in the last build. Started first, the long
chapters share the pytest-xdist processes (``--dist loadscope --no-loadscope-reorder``) and the
short ones and the test modules fill the gaps, so every process finishes at about the same time.
"""

from __future__ import annotations

from dolly_helpers.book.execute import read_execution_times


def pytest_collection_modifyitems(session, config, items) -> None:
    """Longest notebooks first; a notebook's cells stay together and in order (the sort is stable)."""
    times = read_execution_times()
    items.sort(key=lambda item: -times.get(item.path.name, 0.0) if item.path.suffix == ".ipynb" else 0.0)
