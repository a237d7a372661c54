"""The tools that regenerate the book: notebook cleaning and the per-size runs."""

import json

import nbformat
import pytest

from dolly_helpers.book import paths
from dolly_helpers.book.__main__ import main
from dolly_helpers.book.clean import clean_notebook, cleaned_text
from dolly_helpers.book.execute import hide_replaced_parameters
from dolly_helpers.book.fingerprint import changes, notebook_inputs
from dolly_helpers.book.runs import size_jobs


def _executed_notebook() -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell("print(3)", execution_count=7)
    cell.metadata = {"tags": ["nbval-ignore-output"], "papermill": {"duration": 1.2}, "execution": {"iopub.status.busy": "x"}}
    cell.outputs = [
        nbformat.v4.new_output("stream", text="3"),
        nbformat.v4.new_output("stream", text="\n"),  # the same line, flushed in two pieces
        nbformat.v4.new_output("execute_result", {"text/plain": "3"}, execution_count=7),
    ]
    notebook = nbformat.v4.new_notebook(cells=[cell])
    notebook.metadata = {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python", "version": "3.11.7", "pygments_lexer": "ipython3"},
        "papermill": {"input_path": "/somewhere/on/a/build/machine.ipynb"},
        "widgets": {"application/vnd.jupyter.widget-state+json": {"state": {}}},
    }
    return notebook


def test_cleaning_keeps_outputs_and_counts_and_strips_bookkeeping():
    cleaned = clean_notebook(_executed_notebook())
    cell = cleaned.cells[0]
    assert cell.execution_count == 7 and cell.outputs[1].execution_count == 7  # papermill's counts repeat
    assert dict(cell.metadata) == {"tags": ["nbval-ignore-output"]}
    assert cell.id == "0"  # numbered, not random
    assert set(cleaned.metadata) == {"kernelspec", "language_info", "widgets"}  # chapter 9's widgets stay
    assert dict(cleaned.metadata.language_info) == {"name": "python", "pygments_lexer": "ipython3"}
    assert "papermill" not in json.dumps(cleaned) and "/somewhere" not in json.dumps(cleaned)
    assert cell.outputs[0].text == "3\n" and cell.outputs[1].data["text/plain"] == "3"


def test_cleaning_twice_changes_nothing():
    once = cleaned_text(nbformat.writes(_executed_notebook()))
    assert cleaned_text(once) == once


def test_only_the_injected_parameters_cell_shows(tmp_path):
    original = nbformat.v4.new_code_cell('model_name = "tiny-dolly-large"')
    original.metadata["tags"] = ["parameters"]
    injected = nbformat.v4.new_code_cell('model_name = "tiny-dolly-small"')
    injected.metadata["tags"] = ["injected-parameters"]
    path = tmp_path / "run.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[original, injected]), path)
    hide_replaced_parameters(path)
    cells = nbformat.read(path, as_version=4).cells
    assert cells[0].metadata.tags == ["parameters", "remove-cell"]
    assert cells[1].metadata.tags == ["injected-parameters"]


def test_a_run_s_inputs_depend_on_the_model():
    small, large = (size_jobs([name])[0] for name in ("tiny-dolly-small", "tiny-dolly-large"))
    inputs = {job.output: notebook_inputs(job.source, job.parameters, job.writes) for job in (small, large)}
    assert notebook_inputs(small.source, small.parameters, small.writes) == inputs[small.output]
    assert changes(inputs[small.output], inputs[large.output]) == ["parameters changed"]


def test_committed_notebooks_are_clean():
    assert main(["check-clean"]) == 0


def test_unknown_model_in_a_run_is_a_one_line_error(capsys):
    assert main(["run", "--models", "tiny-dolly-small", "dolly-v9"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: unknown model 'dolly-v9'") and error.count("\n") == 1


def test_every_chapter_follows_the_skeleton():
    for chapter in paths.chapters():
        cells = nbformat.read(chapter, as_version=4).cells
        assert cells[0].cell_type == "markdown" and cells[0].source.startswith("# "), chapter.name
        assert "What you will learn" in cells[0].source, chapter.name
        assert cells[1].source.startswith("# On Colab"), chapter.name
        assert cells[2].metadata.get("tags") == ["parameters"], chapter.name
        headings = [c.source for c in cells if c.cell_type == "markdown"]
        assert any("## Summary" in h for h in headings) and any("## Exercises" in h for h in headings), chapter.name


@pytest.mark.parametrize("chapter", paths.PER_SIZE_CHAPTERS)
def test_per_size_chapters_take_a_model_name(chapter):
    cells = nbformat.read(paths.NOTEBOOKS / chapter, as_version=4).cells
    parameters = next(c for c in cells if "parameters" in c.metadata.get("tags", []))
    assert "model_name = " in parameters.source and "run_summary = " in parameters.source


@pytest.fixture
def fake_runs(tmp_path, monkeypatch):
    """Per-size runs into a scratch folder, with a fake executor: tiny-dolly-medium fails."""
    from dolly_helpers.book import runs

    executed = []

    def fake_execute(source, output, parameters):
        executed.append(parameters["model_name"])
        if parameters["model_name"] == "tiny-dolly-medium":
            raise RuntimeError("CUDA out of memory.\nTried to allocate 2.00 GiB")
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text("{}")
        summary = {"model_name": parameters["model_name"], "n_params": len(parameters["model_name"])}
        (output.parent / "summary.json").write_text(json.dumps(summary))

    monkeypatch.setattr(paths, "RUNS", tmp_path)
    monkeypatch.setattr(runs, "execute_notebook", fake_execute)
    return executed


def test_a_failed_model_does_not_stop_the_others(fake_runs, tmp_path, capsys):
    code = main(["run", "--models", "tiny-dolly-small", "tiny-dolly-medium", "tiny-dolly-large"])
    assert code == 1
    assert fake_runs == ["tiny-dolly-small", "tiny-dolly-medium", "tiny-dolly-large"]
    out, err = capsys.readouterr()
    medium = next(line for line in out.splitlines() if "tiny-dolly-medium/" in line)
    assert medium.endswith(" failed: RuntimeError: Tried to allocate 2.00 GiB")
    assert "1 of 3 per-size runs failed" in err
    combined = json.loads((tmp_path / "summary.json").read_text())
    assert set(combined) == {"tiny-dolly-small", "tiny-dolly-large"}


def test_an_unchanged_run_is_skipped(fake_runs, capsys):
    assert main(["run", "--models", "tiny-dolly-small"]) == 0
    assert main(["run", "--models", "tiny-dolly-small"]) == 0
    assert fake_runs == ["tiny-dolly-small"]
    out = capsys.readouterr().out.splitlines()
    assert out[0].endswith(" ran in 0.0 s (never executed)") and out[1].endswith(" skipped (unchanged)")
    assert main(["run", "--models", "tiny-dolly-small", "--force"]) == 0
    assert fake_runs == ["tiny-dolly-small", "tiny-dolly-small"]
    assert capsys.readouterr().out.endswith(" ran in 0.0 s (forced)\n")


def test_a_failing_notebook_leaves_the_previous_output_untouched(tmp_path):
    from dolly_helpers.book.execute import NotebookFailed, execute_notebook

    source = tmp_path / "chapter.ipynb"
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 / 0")])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, source)
    output = tmp_path / "run" / "chapter.ipynb"
    output.parent.mkdir()
    output.write_text("previous run")
    with pytest.raises(NotebookFailed, match=r"chapter.ipynb: cell 1 failed with ZeroDivisionError"):
        execute_notebook(source, output)
    assert output.read_text() == "previous run"
    assert sorted(p.name for p in output.parent.iterdir()) == ["chapter.ipynb"]  # no partial file left


def test_ctrl_c_keeps_finished_runs_and_a_rerun_resumes(fake_runs, tmp_path, monkeypatch, capsys):
    from dolly_helpers.book import runs

    executed = fake_runs
    finish = runs.execute_notebook

    def interrupted(source, output, parameters):
        if parameters["model_name"] == "tiny-dolly-large":
            raise KeyboardInterrupt
        finish(source, output, parameters)

    monkeypatch.setattr(runs, "execute_notebook", interrupted)
    assert main(["run", "--models", "tiny-dolly-small", "tiny-dolly-large"]) == 130
    small = f"{tmp_path}/tiny-dolly-small/04_running-dolly.ipynb"
    assert capsys.readouterr().err == (
        f"interrupted: finished notebooks kept ({small}); run the same command again to resume\n")
    assert set(json.loads((tmp_path / "summary.json").read_text())) == {"tiny-dolly-small"}
    assert set(json.loads((tmp_path / "fingerprints.json").read_text())) == {small}

    monkeypatch.setattr(runs, "execute_notebook", finish)
    assert main(["run", "--models", "tiny-dolly-small", "tiny-dolly-large"]) == 0
    assert executed == ["tiny-dolly-small", "tiny-dolly-large"]  # small was not run again
    assert set(json.loads((tmp_path / "summary.json").read_text())) == {"tiny-dolly-small", "tiny-dolly-large"}


def test_every_committed_code_cell_was_executed():
    """nbval compares only the outputs of cells with a count: an unexecuted notebook would pass unchecked."""
    unrun = [f"{path.name} cell {index}" for path in paths.committed_notebooks()
             for index, cell in enumerate(nbformat.read(path, as_version=4).cells)
             if cell.cell_type == "code" and cell.execution_count is None]
    assert not unrun, f"run `make book` to execute them: {unrun[:5]}"
