"""Where the book lives. The repository address is written here once; the README, the
site's launch buttons and the notebooks' Colab install cells must agree with it
(``tests/test_repository_url.py`` checks them)."""

REPO_URL = "https://github.com/dolly-book/dolly-at-every-size"
BRANCH = "main"
COLAB_INSTALL = f"pip install -q 'dolly-helpers @ git+{REPO_URL}@{BRANCH}'"
