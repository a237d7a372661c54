"""Build the static site with jupyter-book 1.x, warnings treated as errors, loading nothing from a CDN."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from . import paths
from .assets import AssetsUnavailable, offsite_assets, prepare_assets

#: Where ``site --check`` builds; ``make test`` then opens this build in a browser.
CHECK_OUTPUT = paths.ROOT / "_build" / "check"


class SiteBuildFailed(RuntimeError):
    """jupyter-book stopped; its own messages above say why."""


def build_site(output: Path | None = None) -> Path:
    """Build the HTML site into ``output``/_build/html (the repository root by default) and return the HTML folder.

    Notebooks are rendered with the outputs they carry (``execute_notebooks: "off"``): the
    outputs come from papermill, so the site shows exactly what the runs produced. The
    JavaScript the pages need is fetched once into ``.cache/site-assets/`` and shipped with the
    site (see :mod:`.assets`), so the built site works offline.
    """
    output = output or paths.ROOT
    try:
        prepare_assets()
    except AssetsUnavailable as error:
        raise SiteBuildFailed(str(error)) from error
    command = [
        sys.executable, "-c", "from jupyter_book.cli.main import main; main()",
        "build", str(paths.ROOT),
        "--path-output", str(output), "--all", "--warningiserror", "--quiet",
    ]
    if subprocess.run(command, cwd=paths.ROOT).returncode != 0:
        raise SiteBuildFailed("jupyter-book could not build the site; the first warning above says why")
    html = output / "_build" / "html"
    offsite = offsite_assets(html)
    if offsite:
        raise SiteBuildFailed(
            f"{len(offsite)} files in the site load from other sites, first {offsite[0]}; "
            "ship them with the site (dolly_helpers/book/assets.py, _config.yml)")
    return html


def check_site(output: Path = CHECK_OUTPUT) -> int:
    """Build the site afresh in ``output`` (kept for the browser test); return the number of HTML pages."""
    shutil.rmtree(output, ignore_errors=True)
    html = build_site(output)
    return len(list(html.rglob("*.html")))
