"""The book's build skips what is up to date: which inputs count, when a notebook runs again, the site."""

import json

import nbformat
import pytest

from dolly_helpers.book import execute, paths, site
from dolly_helpers.book.__main__ import main
from dolly_helpers.book.execute import Job, run_jobs
from dolly_helpers.book.fingerprint import Stamps, changes, notebook_inputs


def _notebook(path, *sources, outputs=()):
    cells = [nbformat.v4.new_code_cell(source) for source in sources]
    for cell, text in zip(cells, outputs):
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)
    return path


@pytest.fixture
def book(tmp_path, monkeypatch):
    """A book of two chapters and a status page in a scratch folder, executed by a fake that
    records what it ran; it fails a notebook named in ``book.failing``."""
    for name in ("ROOT", "NOTEBOOKS", "PAGES", "RUNS", "PACKAGE"):
        monkeypatch.setattr(paths, name, tmp_path / {"ROOT": "", "PAGES": "book", "PACKAGE": "dolly_helpers"}.get(name, name.lower()))
    monkeypatch.setattr(paths, "WEB", tmp_path / "dolly_helpers" / "book" / "web")
    (tmp_path / "requirements.txt").write_text("torch>=2.6\n")
    (tmp_path / "dolly_helpers").mkdir()
    (tmp_path / "dolly_helpers" / "models.py").write_text("MODELS = ['tiny']\n")
    (tmp_path / "dolly_helpers" / "__pycache__").mkdir()
    _notebook(tmp_path / "notebooks" / "01_first.ipynb", "print(1)")
    _notebook(tmp_path / "notebooks" / "02_reads-runs.ipynb", "json.loads(Path('../runs/summary.json').read_text())")
    _notebook(tmp_path / "book" / "status.ipynb", "json.loads(Path('../runs/execution-times.json').read_text())")
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "summary.json").write_text("{}\n")

    ran, failing = [], set()

    def fake_execute(source, output, parameters):
        ran.append(source.name)
        if source.name in failing:
            raise execute.NotebookFailed(f"{source.name}: cell 1 failed with ZeroDivisionError: division by zero")

    monkeypatch.setattr(execute, "execute_notebook", fake_execute)

    class Book:
        root = tmp_path

        def build(self, *flags):
            ran.clear()
            code = main(["execute", "--jobs", "1", *flags])
            return code, list(ran)

    book = Book()
    book.failing = failing
    return book


def _lines(capsys):
    return dict(line.split(maxsplit=1) for line in capsys.readouterr().out.splitlines())


def test_an_unchanged_book_executes_nothing(book, capsys):
    assert book.build() == (0, ["01_first.ipynb", "02_reads-runs.ipynb", "status.ipynb"])
    first = _lines(capsys)
    assert first["notebooks/01_first.ipynb"].endswith("(never executed)")
    assert book.build() == (0, [])
    assert set(_lines(capsys).values()) == {"skipped (unchanged)"}


def test_a_changed_source_reruns_that_notebook(book, capsys):
    book.build()
    _notebook(book.root / "notebooks" / "01_first.ipynb", "print(2)")
    capsys.readouterr()
    assert book.build() == (0, ["01_first.ipynb"])  # in no time: the times the status page shows stay the same
    lines = _lines(capsys)
    assert lines["notebooks/01_first.ipynb"].endswith("(source changed)")
    assert lines["notebooks/02_reads-runs.ipynb"] == "skipped (unchanged)"


def test_outputs_are_not_inputs(book):
    book.build()
    _notebook(book.root / "notebooks" / "01_first.ipynb", "print(1)", outputs=["1\n"])
    assert book.build() == (0, [])


def test_a_change_in_the_package_reruns_every_notebook(book, capsys):
    book.build()
    (book.root / "dolly_helpers" / "__pycache__" / "models.cpython-311.pyc").write_bytes(b"\0")
    assert book.build() == (0, [])  # compiled files are not the package
    (book.root / "dolly_helpers" / "book" / "web").mkdir(parents=True)
    (book.root / "dolly_helpers" / "book" / "web" / "playground.js").write_text("// only the site reads it\n")
    assert book.build() == (0, [])  # nor is the browser playground's script
    (book.root / "dolly_helpers" / "models.py").write_text("MODELS = ['tiny', 'small']\n")
    capsys.readouterr()
    assert book.build() == (0, ["01_first.ipynb", "02_reads-runs.ipynb", "status.ipynb"])
    assert _lines(capsys)["notebooks/01_first.ipynb"].endswith("(package changed)")
    (book.root / "requirements.txt").write_text("torch>=2.7\n")
    assert book.build()[1] == ["01_first.ipynb", "02_reads-runs.ipynb", "status.ipynb"]


def test_a_notebook_reruns_when_a_file_it_reads_under_runs_changes(book, capsys):
    book.build()
    (book.root / "runs" / "summary.json").write_text('{"tiny": {}}\n')
    (book.root / "runs" / "cpu-benchmark.json").write_text("{}\n")  # no notebook names it
    capsys.readouterr()
    assert book.build() == (0, ["02_reads-runs.ipynb"])
    assert _lines(capsys)["notebooks/02_reads-runs.ipynb"].endswith("(runs/summary.json changed)")


def test_the_status_page_reruns_when_another_notebook_s_time_changed(book, capsys):
    book.build()
    times_file = book.root / "runs" / "execution-times.json"
    times = json.loads(times_file.read_text())
    assert list(times) == ["01_first.ipynb", "02_reads-runs.ipynb", "status.ipynb"]
    times_file.write_text(json.dumps({**times, "status.ipynb": 9.9}))
    assert book.build() == (0, [])  # its own time is not its input, or it would never be up to date
    times_file.write_text(json.dumps({**times, "01_first.ipynb": 9.9}))
    capsys.readouterr()
    assert book.build() == (0, ["status.ipynb"])
    assert _lines(capsys)["book/status.ipynb"].endswith("(runs/execution-times.json changed)")


def test_a_skipped_notebook_keeps_its_last_time(book):
    book.build()
    times_file = book.root / "runs" / "execution-times.json"
    times_file.write_text(json.dumps({"01_first.ipynb": 12.5, "02_reads-runs.ipynb": 3.0, "status.ipynb": 1.0}))
    _notebook(book.root / "notebooks" / "02_reads-runs.ipynb", "print('summary.json')")
    assert book.build()[1] == ["02_reads-runs.ipynb", "status.ipynb"]
    times = json.loads(times_file.read_text())
    assert times["01_first.ipynb"] == 12.5 and times["02_reads-runs.ipynb"] == 0.0


def test_a_failed_notebook_keeps_no_stamp_and_runs_again(book, capsys):
    book.build()
    _notebook(book.root / "notebooks" / "01_first.ipynb", "1 / 0")
    book.failing.add("01_first.ipynb")
    capsys.readouterr()
    assert book.build() == (1, ["01_first.ipynb"])
    out, err = capsys.readouterr()
    assert "notebooks/01_first.ipynb" + " " * 22 + " failed: NotebookFailed: 01_first.ipynb: cell 1" in out
    assert "book/status.ipynb" in out and "skipped (a notebook before it failed)" in out
    assert "error: 1 of 3 notebooks failed (notebooks/01_first.ipynb)" in err
    assert "notebooks/01_first.ipynb" not in Stamps().recorded
    book.failing.clear()
    assert book.build() == (0, ["01_first.ipynb"])
    assert "notebooks/01_first.ipynb" in Stamps().recorded


def test_force_reruns_everything(book, capsys):
    book.build()
    capsys.readouterr()
    assert book.build("--force") == (0, ["01_first.ipynb", "02_reads-runs.ipynb", "status.ipynb"])
    assert set(_lines(capsys).values()) == {"ran in 0.0 s (forced)"}


def test_a_new_file_a_notebook_names_makes_it_run_again(book, tmp_path):
    chapter = book.root / "notebooks" / "02_reads-runs.ipynb"
    before = notebook_inputs(chapter)
    (book.root / "runs" / "tiny-dolly-small").mkdir()
    (book.root / "runs" / "tiny-dolly-small" / "summary.json").write_text("{}")
    assert changes(before, notebook_inputs(chapter)) == ["runs/tiny-dolly-small/summary.json appeared"]


def test_a_kernel_that_dies_on_start_is_started_again(tmp_path, monkeypatch):
    """Two kernels starting at once can be handed the same port; the one that loses starts again."""
    import papermill

    starts = []

    def flaky(source, partial, **options):
        starts.append(source)
        if len(starts) < execute.KERNEL_STARTS:
            raise RuntimeError(execute.KERNEL_START_FAILURE)
        nbformat.write(nbformat.read(source, as_version=4), partial)

    monkeypatch.setattr(papermill, "execute_notebook", flaky)
    source = _notebook(tmp_path / "good.ipynb", "print(6 * 7)")
    execute.execute_notebook(source, tmp_path / "out.ipynb")
    assert len(starts) == execute.KERNEL_STARTS and (tmp_path / "out.ipynb").is_file()


def test_a_kernel_that_never_starts_fails_the_notebook(tmp_path, monkeypatch):
    import papermill

    def dead(source, partial, **options):
        raise RuntimeError(execute.KERNEL_START_FAILURE)

    monkeypatch.setattr(papermill, "execute_notebook", dead)
    with pytest.raises(RuntimeError, match="Kernel died"):
        execute.execute_notebook(_notebook(tmp_path / "good.ipynb", "print(1)"), tmp_path / "out.ipynb")
    assert not (tmp_path / "out.ipynb").exists()


def test_notebooks_run_two_at_a_time_and_a_failure_stays_apart(tmp_path, monkeypatch, capfd):
    """The real thing: papermill in two worker processes, one notebook failing, the kernels quiet."""
    monkeypatch.setattr(paths, "RUNS", tmp_path / "runs")
    good = _notebook(tmp_path / "good.ipynb", "print(6 * 7)")
    bad = _notebook(tmp_path / "bad.ipynb", "1 / 0")
    outcomes = run_jobs([Job(good, tmp_path / "out" / "good.ipynb"), Job(bad, tmp_path / "out" / "bad.ipynb")],
                        workers=2)
    assert [outcome.status for outcome in outcomes] == ["ran", "failed"]
    assert outcomes[1].error.startswith("NotebookFailed: bad.ipynb: cell 1 failed with ZeroDivisionError")
    executed = nbformat.read(tmp_path / "out" / "good.ipynb", as_version=4)
    assert executed.cells[0].outputs[0].text == "42\n"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["good.ipynb"]
    assert set(Stamps().recorded) == {str(tmp_path / "out" / "good.ipynb")}
    assert "IPKernelApp" not in capfd.readouterr().err  # the kernels' own log stays out of the build's output


@pytest.fixture
def fake_site(book, monkeypatch):
    """Site builds in the scratch book, with a fake jupyter-book that writes an index page."""
    built = []

    def fake_build(output=None):
        html = paths.ROOT / "_build" / "html"
        html.mkdir(parents=True, exist_ok=True)
        (html / "index.html").write_text("<html></html>")
        built.append(html)
        return html

    assets = book.root / ".cache" / "site-assets" / "static"
    assets.mkdir(parents=True)
    (assets / "require.js").write_text("// require.js")
    (book.root / "_config.yml").write_text("title: a book\n")
    (book.root / "_toc.yml").write_text("root: book/intro\n")
    playground = book.root / ".cache" / "playground" / "static"
    (playground / "playground").mkdir(parents=True)
    (playground / "playground" / "config.json").write_text("{}\n")
    monkeypatch.setattr(site, "prepare_assets", lambda: assets)
    monkeypatch.setattr(site, "static_folder", lambda: assets)
    monkeypatch.setattr(site.browser_playground, "prepare_playground", lambda: playground)
    monkeypatch.setattr(site.browser_playground, "static_folder", lambda: playground)
    monkeypatch.setattr(site, "build_site", fake_build)
    return built


def test_the_site_is_built_only_when_what_it_reads_changed(book, fake_site):
    assert site.update_site()[1] == ["no site built yet"]
    assert site.update_site()[1] == []
    _notebook(book.root / "notebooks" / "01_first.ipynb", "print(1)", outputs=["1\n"])  # outputs show on the site
    assert site.update_site()[1] == ["notebooks/ changed"]
    Stamps().record(book.root / "notebooks" / "01_first.ipynb", {"source": "0"})  # the stamps are not shown
    (book.root / "_config.yml").write_text("title: another book\n")
    assert site.update_site()[1] == ["_config.yml changed"]
    (book.root / ".cache" / "playground" / "static" / "playground" / "config.json").write_text('{"models": []}\n')
    assert site.update_site()[1] == ["browser playground changed"]
    assert site.update_site(force=True)[1] == ["forced"]
    (book.root / "_build" / "html" / "index.html").unlink()
    assert site.update_site()[1] == ["no site built yet"]
    assert len(fake_site) == 6


def test_make_site_prints_whether_it_built(book, fake_site, capsys):
    assert main(["site"]) == 0
    assert main(["site"]) == 0
    built, skipped = capsys.readouterr().out.splitlines()
    assert built.startswith("site built in _build/html in ") and built.endswith(" s (no site built yet)")
    assert skipped == "site skipped (unchanged): _build/html"
