"""Links of a chapter executed into another folder still point at the same files."""

from pathlib import Path

from dolly_helpers.book.links import rebase_markdown, rebase_target

NOTEBOOKS = Path("/book/notebooks")
RUN = Path("/book/runs/tiny-dolly-large")


def test_a_link_to_a_sibling_chapter_climbs_out_of_the_run_folder():
    assert rebase_target("05_comparing-sizes.ipynb", NOTEBOOKS, RUN) == "../../notebooks/05_comparing-sizes.ipynb"


def test_a_link_to_a_book_page_is_rebased():
    assert rebase_target("../book/runs.md", NOTEBOOKS, RUN) == "../../book/runs.md"


def test_urls_anchors_and_absolute_paths_are_kept():
    for target in ("https://github.com/databrickslabs/dolly/issues/79", "#troubleshooting", "/book/runs"):
        assert rebase_target(target, NOTEBOOKS, RUN) == target


def test_markdown_links_and_includes_are_rewritten_anchor_kept():
    text = (
        "```{include} ../book/_callouts/which-model.md\n```\n"
        "See [chapter 5](05_comparing-sizes.ipynb#the-answers) and [the issue](https://x.org/a)."
    )
    assert rebase_markdown(text, NOTEBOOKS, RUN) == (
        "```{include} ../../book/_callouts/which-model.md\n```\n"
        "See [chapter 5](../../notebooks/05_comparing-sizes.ipynb#the-answers) and [the issue](https://x.org/a)."
    )


def test_the_same_folder_changes_nothing():
    text = "[chapter 5](05_comparing-sizes.ipynb)"
    assert rebase_markdown(text, NOTEBOOKS, NOTEBOOKS) == text
