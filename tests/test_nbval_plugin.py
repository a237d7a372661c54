"""The nbval plugin: cleaned notebooks (no execution counts) are still checked cell by cell."""

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _notebook(path: Path, recorded_output: str) -> Path:
    cell = nbformat.v4.new_code_cell("print(6 * 7)")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=recorded_output)]
    cell.execution_count = None  # as the cleaning step commits it
    notebook = nbformat.v4.new_notebook(cells=[cell])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, path)
    return path


def _nbval(notebook: Path) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "pytest", "-p", "dolly_helpers.book.nbval_plugin", "--nbval",
               str(notebook), "-p", "no:cacheprovider", "-q"]
    return subprocess.run(command, cwd=notebook.parent, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(("recorded", "passes"), [("42\n", True), ("41\n", False)])
def test_outputs_of_uncounted_cells_are_compared(tmp_path, recorded, passes):
    result = _nbval(_notebook(tmp_path / "chapter.ipynb", recorded))
    assert (result.returncode == 0) == passes, result.stdout[-2000:]
    assert "Unrun reference cell" not in result.stdout


def test_a_broken_cell_is_reported_by_its_number(tmp_path):
    path = _notebook(tmp_path / "chapter.ipynb", "42\n")
    notebook = nbformat.read(path, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell("undefined_name + 1"))
    nbformat.write(notebook, path)
    result = _nbval(path)
    assert result.returncode != 0
    assert "chapter.ipynb::Cell 1" in result.stdout and "NameError" in result.stdout
    assert "chapter.ipynb::Cell 0 PASSED" in result.stdout or "1 failed, 1 passed" in result.stdout
