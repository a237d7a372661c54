"""Build the static site with jupyter-book 1.x, warnings treated as errors."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from . import paths


class SiteBuildFailed(RuntimeError):
    """jupyter-book stopped; its own messages above say why."""


def build_site(output: Path | None = None) -> Path:
    """Build the HTML site into ``output``/_build/html (the repository root by default) and return the HTML folder.

    Notebooks are rendered with the outputs they carry (``execute_notebooks: "off"``): the
    outputs come from papermill, so the site shows exactly what the runs produced.
    """
    output = output or paths.ROOT
    command = [
        sys.executable, "-c", "from jupyter_book.cli.main import main; main()",
        "build", str(paths.ROOT),
        "--path-output", str(output), "--all", "--warningiserror", "--quiet",
    ]
    if subprocess.run(command, cwd=paths.ROOT).returncode != 0:
        raise SiteBuildFailed("jupyter-book could not build the site; the first warning above says why")
    return output / "_build" / "html"


def check_site() -> int:
    """Build the site in a scratch folder; return the number of HTML pages built."""
    with tempfile.TemporaryDirectory() as scratch:
        html = build_site(Path(scratch))
        return len(list(html.rglob("*.html")))
