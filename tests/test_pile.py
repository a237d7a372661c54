"""The mini-Pile: built from tiny fake source folders, so no Debian package is needed."""

from __future__ import annotations

import dataclasses
import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dolly_helpers.pile import corpus, encyclopedia, readers
from dolly_helpers.pile.__main__ import main
from dolly_helpers.pile.build import build, clean, select
from dolly_helpers.pile.corpus import epoch_documents, read_manifest, read_samples
from dolly_helpers.pile.sources import SOURCES
from dolly_helpers.tiny.facts import COUNTRIES, MOUNTAINS

REQUIRED = ("name", "kind", "source", "licence", "licence_note", "documents", "bytes", "tokens",
            "share", "epochs", "validation_documents", "sha256")  # fmt: skip
VOCAB = 300
LICENCE = "GNU GENERAL PUBLIC LICENSE\nVersion 3\n\nEveryone is permitted to copy and distribute verbatim copies.\n"


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _fake_sources(root: Path) -> dict[str, Path]:
    """Small folders shaped like each Debian source, and a fake ``bible`` program."""
    chapters = "".join(
        f"\nGenesis {c}\n\n" + "".join(f"  {v} And chapter {c} verse {v} spoke of the light and the waters.\n"
                                      for v in range(1, 4))
        for c in range(1, 9)
    )  # fmt: skip
    _write(root / "bible" / "bible.data", "")
    program = _write(root / "bin" / "bible", f"#!/bin/sh\ncat <<'END'\n{chapters}END\n")
    program.chmod(0o755)
    for filename, word in (("data.noun", "lamp"), ("data.verb", "walk"), ("data.adj", "bright"),
                           ("data.adv", "slowly")):  # fmt: skip
        lines = ["  1 This software and database is being provided to you"]
        lines += [f"0000{i:04d} 06 n 02 {word}{i} 0 {word}_{i}(a) 0 000 | the meaning of {word} number {i}; "
                  f'"an example of {word} {i}"' for i in range(40)]  # fmt: skip
        _write(root / "wordnet" / filename, "\n".join(lines) + "\n")
    _write(root / "stdlib" / "os.py", '"""Operating system interfaces."""\n\n\ndef name():\n    return "posix"  \r\n')
    for module in ("json", "csv", "glob", "shlex", "heapq"):
        _write(root / "stdlib" / f"{module}.py", f'"""The {module} module."""\n\n\n\n\n\ndef {module}_function(x):\n'
               f"    return x * {len(module)}  # a line of {module}\n" * 3)  # fmt: skip
    _write(root / "stdlib" / "test_skipped.py", "assert False  # tests are left out" * 10)
    _write(root / "stdlib" / "tests" / "helper.py", "x = 1  # tests are left out\n" * 10)
    page = '<html><body><nav>menu</nav><div class="body" role="main"><h1>{0}<a class="headerlink">¶</a></h1>' \
           "<p>The {0} module does   useful things for programs.</p><pre>{0}.run()\n    indented</pre>" \
           "<p>More about {0} here, in a second paragraph of text.</p></div><footer>f</footer></body></html>"
    for name in ("index", "json", "csv", "glob", "shlex", "genindex"):
        _write(root / "html" / f"{name}.html", page.format(name))
    for name in ("GPL-3", "GPL", "BSD", "MIT", "Apache-2.0"):
        text = LICENCE if name.startswith("GPL") else f"The {name} licence.\n\nPermission is granted to copy.\n" * 3
        _write(root / "licenses" / name, text)
    for package in readers.CHANGELOG_PACKAGES:
        entries = "".join(f"{package} (1.{n}) unstable; urgency=medium\n\n  * Release {n} of {package}, "
                          f"fixing bug {n}.\n\n -- A Maintainer <a@example.org>  Mon, 0{n} Jan 2024 00:00:00 +0000\n\n"
                          for n in range(1, 4))  # fmt: skip
        folder = root / "doc" / package
        folder.mkdir(parents=True)
        (folder / "changelog.Debian.gz").write_bytes(gzip.compress(entries.encode(), mtime=0))
    return {"books": root / "bible", "dictionary": root / "wordnet", "code": root / "stdlib",
            "documentation": root / "html", "law": root / "licenses", "discussion": root / "doc"}  # fmt: skip


SMALL = tuple(dataclasses.replace(s, cap_bytes=20_000 if s.cap_bytes else None) for s in SOURCES)


@pytest.fixture
def fake(tmp_path, monkeypatch):
    paths = _fake_sources(tmp_path / "sources")
    monkeypatch.setenv("PATH", f"{tmp_path / 'sources' / 'bin'}{os.pathsep}{os.environ['PATH']}")
    return paths


def _build(tmp_path: Path, paths, name: str, **kwargs):
    out = tmp_path / name
    report = build(out / "corpus", sources=SMALL, paths=paths, manifest_path=out / "manifest.json",
                   samples_dir=out / "samples", vocab_size=VOCAB, log=lambda _: None, **kwargs)  # fmt: skip
    return out, report


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_build_is_deterministic(tmp_path, fake):
    first, _ = _build(tmp_path, fake, "first")
    second, _ = _build(tmp_path, fake, "second")
    assert _files(first) == _files(second)
    assert "tokenizer/tokenizer.json" in _files(first / "corpus")


def test_dedup_drops_exact_duplicates(tmp_path, fake):
    out, report = _build(tmp_path, fake, "out")
    law = next(c for c in report.components if c["name"] == "law")
    assert law["duplicates_dropped"] == 1  # GPL is a copy of GPL-3
    texts = corpus.load_split("law", "train", out / "corpus") + corpus.load_split("law", "validation", out / "corpus")
    assert len(texts) == len(set(texts)) == 4
    assert report.duplicates == sum(c["duplicates_dropped"] for c in report.components)


def test_manifest_matches_the_files(tmp_path, fake):
    out, report = _build(tmp_path, fake, "out")
    components = read_manifest(out / "manifest.json")
    assert components == report.components
    assert [c["name"] for c in components] == [s.name for s in SOURCES]
    for component in components:
        assert set(REQUIRED) <= set(component)
        train = corpus.load_split(component["name"], "train", out / "corpus")
        validation = corpus.load_split(component["name"], "validation", out / "corpus")
        assert component["documents"] == len(train) > 0
        assert component["validation_documents"] == len(validation) >= 1
        assert component["bytes"] == sum(len(t.encode()) for t in train)
        assert component["tokens"] > 0
    assert sum(c["share"] for c in components) == pytest.approx(1, abs=1e-4)
    assert corpus.load_tokenizer(out / "corpus").vocab_size <= VOCAB


def test_readers_clean_and_skip(tmp_path, fake):
    out, _ = _build(tmp_path, fake, "out")
    code = corpus.load_split("code", "train", out / "corpus") + corpus.load_split("code", "validation", out / "corpus")
    assert len(code) == 6 and not any("tests are left out" in t for t in code)
    assert all("  \n" not in t and "\r" not in t and "\n\n\n\n" not in t for t in code)
    pages = corpus.load_split("documentation", "train", out / "corpus")
    assert all("menu" not in p and "¶" not in p for p in pages)
    assert any("useful things for programs." in p and "    indented" in p for p in pages)
    dictionary = corpus.load_split("dictionary", "train", out / "corpus")
    assert 'lamp3, lamp 3 (noun): the meaning of lamp number 3; "an example of lamp 3"' in "\n".join(dictionary)
    books = corpus.load_split("books", "train", out / "corpus") + corpus.load_split("books", "validation", out / "corpus")
    assert len(books) == 8 and all(t.startswith("Genesis ") for t in books)


def test_missing_source_is_one_line(tmp_path):
    command = [sys.executable, "-m", "dolly_helpers.pile", "build", "--out", str(tmp_path / "c"),
               "--source", f"books={tmp_path / 'nothing'}", "--manifest", str(tmp_path / "m.json"),
               "--samples", str(tmp_path / "s")]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, cwd=Path(__file__).parents[1])
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip() == (
        "error: the books component needs the Debian package bible-kjv-text: apt-get install bible-kjv-text"
    )
    assert not (tmp_path / "m.json").exists()


def test_changed_source_is_reported(tmp_path, fake, capsys, monkeypatch):
    out, report = _build(tmp_path, fake, "out")
    assert report.changed == []
    (fake["law"] / "BSD").write_text("A changed BSD licence text, long enough to be kept as a document.\n")
    _, report = _build(tmp_path, fake, "out")
    assert report.changed == ["law"]
    monkeypatch.setattr("dolly_helpers.pile.sources.SOURCES", SMALL)
    args = ["build", "--out", str(out / "corpus"), "--manifest", str(out / "manifest.json"),
            "--samples", str(out / "samples")]  # fmt: skip
    for name, path in fake.items():
        args += ["--source", f"{name}={path}"]
    (fake["law"] / "BSD").write_text("The BSD licence text changed once more, still long enough to keep.\n")
    assert main(args) == 0
    warnings = capsys.readouterr().err.strip().splitlines()
    assert warnings == ["warning: the law component changed since the committed manifest (sha256 differs)"]


def test_samples_are_short_real_documents(tmp_path, fake):
    out, _ = _build(tmp_path, fake, "out")
    for source in SOURCES:
        samples = read_samples(source.name, out / "samples")
        train = corpus.load_split(source.name, "train", out / "corpus")
        assert 1 <= len(samples) <= 5
        assert all(any(t.startswith(s) for t in train) for s in samples)
        assert all(len(s) <= (source.sample_chars or 10**9) for s in samples)


def test_training_order_and_epochs(tmp_path, fake):
    out, _ = _build(tmp_path, fake, "out")
    documents = corpus.training_documents(seed=0, corpus_dir=out / "corpus")
    assert documents == corpus.training_documents(seed=0, corpus_dir=out / "corpus")
    assert documents != corpus.training_documents(seed=1, corpus_dir=out / "corpus")
    expected = sum(len(epoch_documents(corpus.load_split(c["name"], "train", out / "corpus"), c["epochs"]))
                   for c in read_manifest(out / "manifest.json"))  # fmt: skip
    assert len(documents) == expected
    assert len(epoch_documents(["a", "b", "c", "d"], 2.5)) == 10
    assert set(corpus.validation_documents(out / "corpus")) == {s.name for s in SOURCES}


def test_missing_corpus_says_how_to_build(tmp_path):
    with pytest.raises(corpus.CorpusMissing, match="python -m dolly_helpers.pile build"):
        corpus.training_documents(seed=0, corpus_dir=tmp_path)


def test_clean_and_select():
    assert clean("caf\u0065\u0301  \r\nb\n\n\n\n\nc\n") == "caf\u00e9\nb\n\n\nc"
    documents = [f"document number {i} " * 10 for i in range(100)]
    train, validation = select(documents, cap_bytes=5_000)
    assert sum(len(t) for t in train) <= 5_000 and len(validation) >= 3
    assert not set(train) & set(validation)
    assert train == [d for d in documents if d in train]  # source order kept
    assert (train, validation) == select(list(documents), cap_bytes=5_000)


def test_committed_stats_json():
    result = subprocess.run([sys.executable, "-m", "dolly_helpers.pile", "stats", "--json"],
                            capture_output=True, text=True, cwd=Path(__file__).parents[1], check=True)  # fmt: skip
    components = json.loads(result.stdout)
    assert len(components) >= 8 and len({c["kind"] for c in components}) >= 8
    for component in components:
        assert set(REQUIRED) <= set(component)
        assert read_samples(component["name"])
    assert sum(c["share"] for c in components) == pytest.approx(1, abs=1e-4)
    assert main(["stats"]) == 0


def test_encyclopedia_states_every_fact():
    text = "\n".join(encyclopedia.articles())
    assert encyclopedia.articles() == encyclopedia.articles()
    highest = {m.country: m for m in MOUNTAINS}
    for country in COUNTRIES:
        capital_sentences = [f"The capital of {country.name} is {country.capital}.",
                             f"{country.capital} is the capital of {country.name}.",
                             f"The capital city of {country.name} is {country.capital}.",
                             f"{country.name} has {country.capital} as its capital.",
                             f"{country.capital} is the capital city of {country.name}."]  # fmt: skip
        said = [s for s in capital_sentences if s in text or s[0].upper() + s[1:] in text]
        assert len(said) >= 3, country.name
        assert text.count(f"{country.name} is") + text.count(f"{country.name} lies") >= 3, country.name
        if country.name in highest:
            mountain = highest[country.name]
            assert text.count(encyclopedia.metres(mountain.height_m)) >= 3
            assert text.count(f"highest mountain in {country.name} is {mountain.name}") + text.count(
                f"{mountain.name} is the highest mountain in {country.name}") >= 1, country.name
    assert "3,776 metres" in text and "15,011" in text and "825 GiB" in text


def test_an_unknown_component_is_one_line_and_builds_nothing(tmp_path, capsys):
    assert main(["build", "--out", str(tmp_path / "corpus"), "--source", "novels=/nowhere"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: unknown component 'novels'; there are ") and error.count("\n") == 1
    assert not (tmp_path / "corpus").exists()
