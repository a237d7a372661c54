"""nbval over notebooks as the book commits them: cleaned, with papermill's counts kept, checked cell by cell."""

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from dolly_helpers.book.clean import clean_notebook

ROOT = Path(__file__).resolve().parents[1]


def _notebook(path: Path, recorded_output: str, *more_sources: str) -> Path:
    cell = nbformat.v4.new_code_cell("print(6 * 7)")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=recorded_output)]
    cell.execution_count = 1  # as papermill numbers it
    notebook = nbformat.v4.new_notebook(cells=[cell, *map(nbformat.v4.new_code_cell, more_sources)])
    for count, later in enumerate(notebook.cells[1:], start=2):
        later.execution_count = count
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(clean_notebook(notebook), path)  # as the book commits it
    return path


@pytest.fixture(scope="module")
def nbval_report(tmp_path_factory):
    """One nbval run (one pytest process) over three notebooks: its output, line by line."""
    folder = tmp_path_factory.mktemp("nbval")
    _notebook(folder / "right.ipynb", "42\n")
    _notebook(folder / "wrong.ipynb", "41\n")
    _notebook(folder / "broken.ipynb", "42\n", "undefined_name + 1")
    command = [sys.executable, "-m", "pytest", "--nbval",
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
def test_outputs_of_cleaned_cells_are_compared(nbval_report, notebook, passes):
    assert _verdicts(nbval_report, notebook) == ["PASSED" if passes else "FAILED"], nbval_report[-2000:]
    assert "Unrun reference cell" not in nbval_report


def test_a_broken_cell_is_reported_by_its_number(nbval_report):
    assert _verdicts(nbval_report, "broken.ipynb") == ["PASSED", "FAILED"]
    assert "broken.ipynb::Cell 1" in nbval_report and "NameError" in nbval_report


def test_the_longest_notebooks_are_collected_first():
    """conftest.py orders nbval's items by the last build's times, so pytest-xdist starts the long chapters first."""
    from dolly_helpers.book.execute import read_execution_times

    command = [sys.executable, "-m", "pytest", "--collect-only", "-q", "--nbval", "notebooks", "-p", "no:cacheprovider"]
    listed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120).stdout.splitlines()
    order = list(dict.fromkeys(line.split("::")[0].removeprefix("notebooks/") for line in listed if "::Cell" in line))
    times = read_execution_times()
    assert len(order) > 10 and order == sorted(order, key=lambda name: -times.get(name, 0.0))
