"""The built site carries nothing of the machine that built it: no paths, no tokens, no keys.

Like the browser test, it reads the site ``make test`` built (``$DOLLY_SITE_HTML``), or builds
one in a scratch folder when run on its own.
"""

import os
import re
from pathlib import Path

import pytest

from test_security import LEAKS

#: Text files of the site that a reader's browser receives.
SITE_TEXT = (".html", ".js", ".css", ".json", ".txt", ".ipynb", ".md")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    given = os.environ.get("DOLLY_SITE_HTML")
    if given:
        return Path(given)
    from dolly_helpers.book.site import build_site

    return build_site(tmp_path_factory.mktemp("site"))


def _own_files(site: Path) -> list[Path]:
    """The site's pages and sources, without ``_static`` (the theme's and npm's files, not ours)."""
    return [path for path in site.rglob("*") if path.suffix in SITE_TEXT and "_static" not in path.parts]


def test_no_page_leaks_a_path_token_or_key_of_the_build_machine(site):
    leaks = []
    for path in _own_files(site):
        text = path.read_text(encoding="utf-8", errors="ignore")
        leaks += [f"{path.relative_to(site)}: {what}" for what, pattern in LEAKS.items() if pattern.search(text)]
    assert leaks == []


def test_the_scan_covers_every_page(site):
    pages = [path for path in _own_files(site) if path.suffix == ".html"]
    assert len(pages) >= 15 and any(re.search("05_comparing-sizes", p.name) for p in pages)


def test_every_chapter_page_ends_with_its_running_time(site):
    import json

    from dolly_helpers.book import paths
    from dolly_helpers.book.chapter_times import CSS_CLASS, chapter_time_html

    times = json.loads((paths.RUNS / paths.EXECUTION_TIMES).read_text())
    for chapter in paths.chapters():
        page = (site / "notebooks" / f"{chapter.stem}.html").read_text()
        note = chapter_time_html(f"notebooks/{chapter.stem}", times)
        assert CSS_CLASS in note and note in page, chapter.name  # this chapter's own recorded time
        assert page.index(CSS_CLASS) > page.index('id="summary"'), chapter.name  # at the end, after the text
