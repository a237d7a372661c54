"""The nbval plugin: cleaned notebooks (no execution counts) are still checked cell by cell."""

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _notebook(path: Path, recorded_output: str, *more_sources: str) -> Path:
    cell = nbformat.v4.new_code_cell("print(6 * 7)")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=recorded_output)]
    cell.execution_count = None  # as the cleaning step commits it
    notebook = nbformat.v4.new_notebook(cells=[cell, *map(nbformat.v4.new_code_cell, more_sources)])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, path)
    return path


@pytest.fixture(scope="module")
def nbval_report(tmp_path_factory):
    """One nbval run (one pytest process) over three notebooks: its output, line by line."""
    folder = tmp_path_factory.mktemp("nbval")
    _notebook(folder / "right.ipynb", "42\n")
    _notebook(folder / "wrong.ipynb", "41\n")
    _notebook(folder / "broken.ipynb", "42\n", "undefined_name + 1")
    command = [sys.executable, "-m", "pytest", "-p", "dolly_helpers.book.nbval_plugin", "--nbval",
               str(folder), "-p", "no:cacheprovider", "-rA", "--color=no"]
    result = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stdout[-2000:]  # some notebooks fail
    return result.stdout


def _verdicts(report: str, notebook: str) -> list[str]:
    """``PASSED`` or ``FAILED`` for each of the notebook's cells, in order, from pytest's summary (``-rA``)."""
    verdicts = {}
    for line in report.splitlines():
        words = line.split()
        if len(words) >= 3 and words[0] in ("PASSED", "FAILED") and words[1] == f"{notebook}::Cell":
            verdicts[int(words[2])] = words[0]
    return [verdicts[cell] for cell in sorted(verdicts)]


@pytest.mark.parametrize(("notebook", "passes"), [("right.ipynb", True), ("wrong.ipynb", False)])
def test_outputs_of_uncounted_cells_are_compared(nbval_report, notebook, passes):
    assert _verdicts(nbval_report, notebook) == ["PASSED" if passes else "FAILED"], nbval_report[-2000:]
    assert "Unrun reference cell" not in nbval_report


def test_a_broken_cell_is_reported_by_its_number(nbval_report):
    assert _verdicts(nbval_report, "broken.ipynb") == ["PASSED", "FAILED"]
    assert "broken.ipynb::Cell 1" in nbval_report and "NameError" in nbval_report
