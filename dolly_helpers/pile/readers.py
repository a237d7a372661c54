"""Readers that turn the mini-Pile's free sources on this machine into plain-text documents.

Each reader takes the folder its source lives in (injectable, so the tests use tiny fake
folders) and returns documents in a fixed order. A missing source raises :class:`MissingSource`
naming the Debian package that provides it.
"""

from __future__ import annotations

import gzip
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

BIBLE_PROGRAM = "bible"
#: Debian packages whose changelogs make the discussion component (every Debian machine has the
#: first twelve; the build installs the last four).
CHANGELOG_PACKAGES = (
    "base-files", "bash", "coreutils", "dpkg", "apt", "tar", "gzip", "sed", "grep", "findutils",
    "debianutils", "util-linux", "bible-kjv-text", "bible-kjv", "wordnet-base", "python3-doc",
)  # fmt: skip
MAX_CODE_BYTES = 20_000
MAX_PAGE_BYTES = 40_000
WORDNET_DOCUMENT_BYTES = 2_000
WORDNET_FILES = (("data.noun", "noun"), ("data.verb", "verb"), ("data.adj", "adjective"),
                 ("data.adv", "adverb"))  # fmt: skip


class MissingSource(Exception):
    """A source is not on this machine; ``package`` is the Debian package that provides it."""

    def __init__(self, package: str, path: Path | str, component: str = ""):
        super().__init__(f"{path} not found")
        self.package, self.path, self.component = package, path, component


def _require(path: Path, package: str) -> Path:
    if not path.exists():
        raise MissingSource(package, path)
    return path


def read_books(folder: Path) -> list[str]:
    """The King James Bible, one chapter per document, decoded by the ``bible`` program."""
    _require(folder / "bible.data", "bible-kjv-text")
    program = shutil.which(BIBLE_PROGRAM)
    if program is None:
        raise MissingSource("bible-kjv", BIBLE_PROGRAM)
    # -l: one verse per line (no wrapping); -p: where bible.data is. Input closed: no prompt.
    result = subprocess.run(
        [program, "-l100000", "-p", str(folder), "gen1:1-rev22:21"],
        capture_output=True, text=True, check=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    return chapters(result.stdout)


def chapters(text: str) -> list[str]:
    """Split the ``bible`` program's pretty-printed output at its chapter headings."""
    documents, current = [], []
    for line in text.splitlines():
        if line and not line.startswith(" ") and re.search(r" \d+$", line):
            if current:
                documents.append("\n".join(current))
            current = [line, ""]
        elif line.strip() and current:
            current.append(line.strip())
    if current:
        documents.append("\n".join(current))
    return documents


def read_dictionary(folder: Path) -> list[str]:
    """WordNet synsets as readable glossary lines, about 2 KB of consecutive entries per document."""
    documents = []
    for filename, part in WORDNET_FILES:
        lines: list[str] = []
        size = 0
        path = _require(folder / filename, "wordnet-base")
        for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
            entry = _synset(raw, part)
            if entry is None:
                continue
            lines.append(entry)
            size += len(entry) + 1
            if size >= WORDNET_DOCUMENT_BYTES:
                documents.append("\n".join(lines))
                lines, size = [], 0
        if lines:
            documents.append("\n".join(lines))
    return documents


def _synset(line: str, part: str) -> str | None:
    """``cognition, knowledge (noun): the result of perception; "an example"`` from one data line."""
    if line.startswith("  ") or " | " not in line:
        return None  # the licence header, or a malformed line
    fields, gloss = line.split(" | ", 1)
    parts = fields.split()
    count = int(parts[3], 16)
    words = [re.sub(r"\(\w+\)$", "", w).replace("_", " ") for w in parts[4 : 4 + 2 * count : 2]]
    return f"{', '.join(words)} ({part}): {gloss.strip()}"


def read_code(folder: Path) -> list[str]:
    """The standard library's Python files, one per document, sorted by path; no tests, none over 20 KB."""
    _require(folder / "os.py", "python3")
    documents = []
    for path in sorted(folder.rglob("*.py"), key=lambda p: p.relative_to(folder).as_posix()):
        relative = path.relative_to(folder).parts
        if relative[0] == "site-packages" or any(p in ("test", "tests", "idle_test") for p in relative):
            continue
        if path.name.startswith("test_") or path.stat().st_size > MAX_CODE_BYTES:
            continue
        try:
            documents.append(path.read_text(encoding="utf-8"))
        except UnicodeDecodeError:
            continue
    return documents


class _PageText(HTMLParser):
    """Plain text of a Sphinx page's main body, keeping ``pre`` blocks as they are."""

    BLOCKS = {"p", "div", "section", "h1", "h2", "h3", "h4", "li", "dt", "dd", "pre", "tr", "br",
              "table", "ul", "ol", "dl", "blockquote"}  # fmt: skip
    VOID = {"br", "img", "hr", "meta", "link", "input", "wbr", "col", "area", "source"}
    SKIP = {"script", "style", "nav"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.open: list[tuple[str, bool]] = []  # elements open inside the main body, and "skip me"

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if not self.open and attributes.get("role") != "main":
            return
        if tag in self.BLOCKS:
            self.parts.append("\n")
        if tag not in self.VOID:
            skip = tag in self.SKIP or "headerlink" in (attributes.get("class") or "")
            self.open.append((tag, skip))

    def handle_endtag(self, tag):
        if not self.open or tag in self.VOID:
            return
        while self.open and self.open.pop()[0] != tag:
            pass  # close elements left open, as browsers do
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.open or any(skip for _, skip in self.open):
            return
        pre = any(tag == "pre" for tag, _ in self.open)
        self.parts.append(data if pre else re.sub(r"\s+", " ", data))

    def text(self) -> str:
        joined = "".join(self.parts)
        lines = [line if line.startswith("    ") else line.strip() for line in joined.split("\n")]
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def html_text(html: str) -> str:
    """The readable text of one Sphinx HTML page."""
    parser = _PageText()
    parser.feed(html)
    parser.close()
    return parser.text()


def read_documentation(folder: Path) -> list[str]:
    """Python's HTML documentation as plain text, one page per document (index pages left out)."""
    _require(folder / "index.html", "python3-doc")
    documents = []
    for path in sorted(folder.rglob("*.html"), key=lambda p: p.relative_to(folder).as_posix()):
        if path.stem in ("genindex", "search", "py-modindex", "contents") or path.stem.startswith("genindex-"):
            continue
        text = html_text(path.read_text(encoding="utf-8", errors="replace"))
        if len(text.encode()) <= MAX_PAGE_BYTES:
            documents.append(text)
    return documents


def read_law(folder: Path) -> list[str]:
    """Every licence text in ``/usr/share/common-licenses``, sorted by name (links followed)."""
    _require(folder / "GPL-3", "base-files")
    return [path.read_text(encoding="utf-8") for path in sorted(folder.iterdir()) if path.is_file()]


def changelog_path(doc_folder: Path, package: str) -> Path:
    """A package's Debian changelog: ``changelog.Debian.gz``, or ``changelog.gz`` for native packages."""
    for name in ("changelog.Debian.gz", "changelog.gz"):
        path = doc_folder / package / name
        if path.exists():
            return path
    raise MissingSource(package, doc_folder / package / "changelog.Debian.gz")


def read_discussion(folder: Path) -> list[str]:
    """Debian changelog entries of ``CHANGELOG_PACKAGES``, one entry per document."""
    documents = []
    for package in CHANGELOG_PACKAGES:
        text = gzip.decompress(changelog_path(folder, package).read_bytes()).decode("utf-8", errors="replace")
        documents += changelog_entries(text)
    return documents


def changelog_entries(text: str) -> list[str]:
    """Split a Debian changelog into its entries: from ``pkg (version) ...`` to the `` -- `` line."""
    entries, current = [], []
    for line in text.splitlines():
        if re.match(r"^[a-z0-9][a-z0-9.+-]* \(.+\) .*;", line):
            current = [line]
        elif current:
            current.append(line)
            if line.startswith(" -- "):
                entries.append("\n".join(current))
                current = []
    return entries
