"""The repository address is set once (dolly_helpers/project.py) and every other place agrees."""

import json
import re

from dolly_helpers.book import paths
from dolly_helpers.project import COLAB_INSTALL, REPO_URL

GITHUB_REPO = re.compile(r"github(?:\.com)?/([\w.-]+/[\w.-]+?)(?:\.git|/|@|'|\"|\)|\s|$)")
OWNER_AND_NAME = REPO_URL.removeprefix("https://github.com/")


def _repositories_named_in(text: str) -> set[str]:
    return set(GITHUB_REPO.findall(text))


def test_the_address_is_a_github_repository():
    assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", REPO_URL)


def test_readme_config_and_pyproject_name_only_this_repository():
    for name in ("README.md", "_config.yml", "pyproject.toml", "book/intro.md", "book/_callouts/which-model.md"):
        text = (paths.ROOT / name).read_text()
        named = _repositories_named_in(text) - {"databrickslabs/dolly"}
        assert named <= {OWNER_AND_NAME}, f"{name} names {named}"
    assert f"url: {REPO_URL}\n" in (paths.ROOT / "_config.yml").read_text()
    assert f'Repository = "{REPO_URL}"' in (paths.ROOT / "pyproject.toml").read_text()


def test_every_chapter_installs_from_this_repository_on_colab():
    for chapter in paths.chapters():
        setup = json.loads(chapter.read_text())["cells"][1]
        assert COLAB_INSTALL in "".join(setup["source"]), chapter.name
