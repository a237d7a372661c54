"""Build the static site with jupyter-book 1.x, warnings treated as errors, loading nothing from a CDN.

``make site`` (:func:`update_site`) skips the build when the site in ``_build/html`` was built
from the same inputs: every file jupyter-book reads (``_config.yml``, ``_toc.yml``, ``book/``,
``notebooks/``, ``runs/``, the shipped JavaScript, the browser playground's files) and the
package its Sphinx extension lives in. ``site --check`` (:func:`check_site`, run by ``make test``) always builds afresh.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from . import paths
from . import browser_playground
from .assets import AssetsUnavailable, offsite_assets, prepare_assets, static_folder
from .fingerprint import PROJECT_FILES, changes, file_digest, tree_digest

#: Where ``site --check`` builds; ``make test`` then opens this build in a browser.
CHECK_OUTPUT = paths.ROOT / "_build" / "check"
#: The inputs of the last successful build of the site in ``_build/html``.
SITE_STAMP = "site-inputs.json"


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
    _prepare_assets()
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


def update_site(force: bool = False) -> tuple[Path, list[str]]:
    """Build the site into ``_build/html`` unless it was built from the same inputs.

    Returns the HTML folder and why it was built (empty when it was up to date).
    """
    _prepare_assets()
    html = paths.ROOT / "_build" / "html"
    stamp = paths.ROOT / "_build" / SITE_STAMP
    inputs = site_inputs()
    try:
        recorded = json.loads(stamp.read_text())
    except (OSError, ValueError):
        recorded = None
    if not (html / "index.html").is_file():
        reasons = ["no site built yet"]
    else:
        reasons = ["forced"] if force else changes(recorded, inputs)
    if reasons:
        stamp.unlink(missing_ok=True)
        build_site()
        stamp.write_text(json.dumps(inputs, indent=1) + "\n")
    return html, reasons


def site_inputs() -> dict[str, str]:
    """Every file a build of the site reads, one hash per part (see the module's docstring)."""
    root = paths.ROOT
    inputs = {name: file_digest(root / name) for name in ("_config.yml", "_toc.yml", *PROJECT_FILES)
              if (root / name).is_file()}
    for folder in (paths.PAGES, paths.NOTEBOOKS, paths.RUNS, paths.PACKAGE):
        inputs[f"{paths.shown(folder)}/"] = tree_digest(folder, exclude=[paths.RUNS / paths.STAMPS])
    inputs["site assets"] = tree_digest(static_folder())
    inputs["browser playground"] = tree_digest(browser_playground.static_folder())
    return inputs


def _prepare_assets() -> None:
    try:
        prepare_assets()
    except AssetsUnavailable as error:
        raise SiteBuildFailed(str(error)) from error
    browser_playground.prepare_playground()
