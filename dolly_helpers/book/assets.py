"""The site's own copies of require.js, the widget manager, MathJax, ONNX Runtime Web and Tokenizers.js, so that it works offline.

By default a jupyter-book 1.x page loads MathJax, and chapter 9's saved widgets load require.js
and ``@jupyter-widgets/html-manager``, from CDNs; the playground page needs ONNX Runtime Web
and Tokenizers.js. :func:`prepare_assets`, run by every site build,
fetches the same npm packages once (``npm pack``, pinned versions checked against their sha512)
into ``.cache/site-assets/``, outside git, and copies the files the pages need, plus a few lines
of widget set-up, into ``.cache/site-assets/static/``. That folder is in ``html_static_path`` in
``_config.yml``, so Sphinx ships it in the site's ``_static/``, and ``mathjax_path`` and
``nb_ipywidgets_js`` point there. After the build, :func:`offsite_assets` checks that no page
still loads a script, stylesheet, font or image from another site.

The module is also a small Sphinx extension (``extra_extensions`` in ``_config.yml``) that
removes a script Sphinx 7.4 repeats on every page, an error in the browser's console.
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import json
import re
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from . import paths

#: Everything fetched from npm; delete it to fetch again.
CACHE = paths.ROOT / ".cache" / "site-assets"


@dataclass(frozen=True)
class Package:
    """One pinned npm package and the files of it that the site ships."""

    name: str
    version: str
    #: npm's ``integrity`` of the tarball, checked after every download.
    integrity: str
    #: ``fnmatch`` patterns inside the tarball's ``package/`` folder (``*`` crosses folders).
    files: tuple[str, ...]

    @property
    def spec(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def folder(self) -> str:
        """Where the files go under ``_static/``, e.g. ``npm/html-manager-1.0.15``."""
        return f"npm/{self.name.rsplit('/', 1)[-1]}-{self.version}"

    @property
    def tarball(self) -> str:
        """The file name ``npm pack`` gives the tarball."""
        return f"{self.name.lstrip('@').replace('/', '-')}-{self.version}.tgz"


REQUIREJS = Package(
    "requirejs", "2.3.8",
    "sha512-7/cTSLOdYkNBNJcDMWf+luFvMriVm7eYxp4BcFCsAX0wF421Vyce5SXP17c+Jd5otXKGNehIonFlyQXSowL6Mw==",
    ("require.js", "package.json"),
)
# 1.x renders the ipywidgets 8 state that chapter 9 saves (@jupyter-widgets/controls 2.0.0).
HTML_MANAGER = Package(
    "@jupyter-widgets/html-manager", "1.0.15",
    "sha512-5thBIV6ymNgmPVOHvzx+gGy8ZSKmSazhtGw4/c4xJDVzRhG9PTeQsRjF3FUTopvFi//SABeNz1yp47bCrJ3CQA==",
    # The bundle finds its Font Awesome files beside itself.
    ("dist/embed-amd.js", "dist/*.woff2", "dist/*.woff", "dist/*.ttf", "dist/*.eot", "dist/*.svg",
     "package.json"),
)
# Sphinx 7.4 loads mathjax@3 tex-mml-chtml.js; it loads fonts, TeX extensions and its menu's
# accessibility tools from the folders beside it.
MATHJAX = Package(
    "mathjax", "3.2.2",
    "sha512-Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw==",
    ("es5/tex-mml-chtml.js", "es5/output/chtml/fonts/woff-v2/*", "es5/input/tex/extensions/*",
     "es5/a11y/*", "es5/ui/*", "es5/sre/*", "LICENSE", "package.json"),
)
# The playground page in the site (dolly_helpers/book/browser_playground.py) runs the tiny models
# with ONNX Runtime's WebAssembly build: the bundle carries its JavaScript glue and loads the
# .wasm beside it. Tokenizers.js reads the models' own tokenizer.json.
ONNXRUNTIME_WEB = Package(
    "onnxruntime-web", "1.30.0",
    "sha512-q0y+JrrtukXSzsBWEMccVfqX25LRmosXHF+CaRJmg8pZClzcV7svNc4rKY3jL02Vb7QmRMDs1SigqR4CXAfKYQ==",
    ("dist/ort.wasm.bundle.min.mjs", "dist/ort-wasm-simd-threaded.wasm", "LICENSE", "package.json"),
)
TOKENIZERS_JS = Package(
    "@huggingface/tokenizers", "0.2.0",
    "sha512-LidMHe1FpcSYH4vcSjXooda34pC0M8m1gmDOv7SQi6Iv+ib1zX7J3sHBCC9/3FPCkn2k1b55FneVqMRxrr99pg==",
    ("dist/tokenizers.min.mjs", "LICENSE", "package.json"),
)
PACKAGES = (REQUIREJS, HTML_MANAGER, MATHJAX, ONNXRUNTIME_WEB, TOKENIZERS_JS)

#: The scripts as ``_config.yml`` names them, relative to ``_static/``.
REQUIREJS_JS = f"{REQUIREJS.folder}/require.js"
WIDGETS_SETUP_JS = "widgets-setup.js"
WIDGETS_JS = f"{HTML_MANAGER.folder}/dist/embed-amd.js"
MATHJAX_JS = f"{MATHJAX.folder}/es5/tex-mml-chtml.js"
ONNXRUNTIME_JS = f"{ONNXRUNTIME_WEB.folder}/dist/ort.wasm.bundle.min.mjs"
TOKENIZERS_JS_FILE = f"{TOKENIZERS_JS.folder}/dist/tokenizers.min.mjs"

#: Loaded between require.js and the widget manager on a page with saved widgets (chapter 9).
WIDGETS_SETUP = """\
/* Written by dolly_helpers/book/assets.py: set-up for the widget manager of a page with saved widgets. */
(function () {
  // The widget bundles look for their Font Awesome files beside their AMD module names,
  // which require.js would place beside the page; place them beside the bundle instead.
  var dist = new URL("%(dist)s", document.currentScript.src).href;
  window.__jupyter_widgets_assets_path__ = dist + "/";
  require.config({paths: {"@jupyter-widgets": dist, "@jupyter-widgets/html-manager/dist": dist}});
  // The widgets typeset their labels with MathJax 2's MathJax.Hub.Queue; the site has MathJax 3.
  document.addEventListener("DOMContentLoaded", function () {
    var mathjax = window.MathJax;
    if (mathjax && mathjax.startup && !mathjax.Hub) {
      mathjax.Hub = {Queue: function (job) {
        mathjax.startup.promise = mathjax.startup.promise.then(function () {
          return mathjax.typesetPromise(job[2] ? [job[2]] : undefined);
        });
      }};
    }
  });
})();
""" % {"dist": f"{HTML_MANAGER.folder}/dist"}

_NPM_MISSING = ("the site ships its own JavaScript (require.js, the widget manager, MathJax, ONNX Runtime) and "
                "needs npm to fetch it once: install Node.js and npm (`apt-get install npm`) and run again")


class AssetsUnavailable(RuntimeError):
    """The npm packages could not be fetched; the message says what to do."""


def static_folder(cache: Path | None = None) -> Path:
    """The folder that ``_config.yml`` adds to ``html_static_path``."""
    return (cache or CACHE) / "static"


def integrity_of(path: Path) -> str:
    """npm's ``sha512-...`` integrity string of a file."""
    digest = hashlib.sha512(path.read_bytes()).digest()
    return "sha512-" + base64.b64encode(digest).decode()


def _pins(packages: tuple[Package, ...]) -> dict[str, str]:
    return {package.spec: package.integrity for package in packages}


def _unpacked(cache: Path, packages: tuple[Package, ...]) -> bool:
    """Whether ``static/`` holds every file that the last unpacking of these very pins wrote."""
    try:
        stamp = json.loads((cache / "static.json").read_text())
    except (OSError, ValueError):
        return False
    static = static_folder(cache)
    return stamp.get("pins") == _pins(packages) and all((static / name).is_file() for name in stamp.get("files", []))


def prepare_assets(cache: Path | None = None, packages: tuple[Package, ...] = PACKAGES) -> Path:
    """Make sure ``static_folder(cache)`` holds the pinned packages' files and the widgets' set-up; return it.

    A cache that already matches the pins is used as it is, with no npm and no network.
    """
    cache = cache or CACHE
    static = static_folder(cache)
    if not _unpacked(cache, packages):
        _unpack(cache, packages)
    setup = static / WIDGETS_SETUP_JS
    if not setup.is_file() or setup.read_text() != WIDGETS_SETUP:
        setup.write_text(WIDGETS_SETUP)
    return static


def _unpack(cache: Path, packages: tuple[Package, ...]) -> None:
    """Fetch the tarballs that the cache lacks, check them and copy their files into ``static/``."""
    static = static_folder(cache)
    stamp = cache / "static.json"
    tarballs = cache / "packs"
    missing = [p for p in packages if not (tarballs / p.tarball).is_file()
               or integrity_of(tarballs / p.tarball) != p.integrity]
    if missing:
        _npm_pack(missing, tarballs)
    for package in packages:
        if not (tarballs / package.tarball).is_file():
            raise AssetsUnavailable(f"npm pack wrote no {package.tarball} into {_shown(tarballs)}")
        found = integrity_of(tarballs / package.tarball)
        if found != package.integrity:
            raise AssetsUnavailable(
                f"npm gave {package.spec} with integrity {found}, not the pinned {package.integrity}: "
                f"if the version in dolly_helpers/book/assets.py changed, update its integrity too")
    stamp.unlink(missing_ok=True)
    shutil.rmtree(static, ignore_errors=True)
    files = []
    for package in packages:
        files += _extract(tarballs / package.tarball, package, static / package.folder)
    stamp.write_text(json.dumps({"pins": _pins(packages),
                                 "files": [f.relative_to(static).as_posix() for f in files]}, indent=1) + "\n")


def _npm_pack(packages: list[Package], destination: Path) -> None:
    """Download the packages' tarballs with ``npm pack`` (npm's own cache first)."""
    npm = shutil.which("npm")
    if npm is None:
        raise AssetsUnavailable(_NPM_MISSING)
    destination.mkdir(parents=True, exist_ok=True)
    specs = [package.spec for package in packages]
    command = [npm, "pack", *specs, "--pack-destination", str(destination), "--json",
               "--prefer-offline", "--fetch-retries=1", "--loglevel=error", "--no-fund", "--no-audit"]
    try:
        result = subprocess.run(command, cwd=destination, capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        raise AssetsUnavailable(
            f"npm took over 5 minutes to fetch {' '.join(specs)}: check that this machine reaches "
            f"the npm registry (`npm config get registry`) and run again") from None
    if result.returncode != 0:
        raise AssetsUnavailable(
            f"npm could not fetch {' '.join(specs)} ({_npm_reason(result.stderr)}): the site needs "
            f"them once from the npm registry (`npm config get registry`), then builds offline "
            f"from {_shown(destination.parent)}; reconnect and run again")


def _npm_reason(stderr: str) -> str:
    """The gist of npm's error output, on one line."""
    lines = [re.sub(r"^npm (error|ERR!)\s*", "", line).strip() for line in stderr.splitlines()]
    lines = [line for line in lines if line and not line.startswith(("A complete log", "Log files"))]
    code = next((line for line in lines if line.startswith("code ")), None)
    detail = next((line for line in lines if not line.startswith(("code ", "errno ", "syscall "))), "")
    reason = "; ".join(part for part in (code, detail) if part) or "no message"
    return reason[:200]


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(paths.ROOT))
    except ValueError:
        return str(path)


def _extract(tarball: Path, package: Package, target: Path) -> list[Path]:
    """Copy the package's matching files (never links or ``..``) from ``package/`` into ``target``; list them."""
    written = []
    with tarfile.open(tarball) as archive:
        for member in archive.getmembers():
            name = member.name.removeprefix("package/")
            if not member.isfile() or ".." in Path(name).parts or name == member.name:
                continue
            if any(fnmatch.fnmatchcase(name, pattern) for pattern in package.files):
                destination = target / name
                destination.parent.mkdir(parents=True, exist_ok=True)
                destination.write_bytes(archive.extractfile(member).read())
                written.append(destination)
    return written


# --- the check on the built site -------------------------------------------------------------

#: ``<link rel=...>`` values that make the browser fetch the target as the page loads.
_LOADED_LINKS = {"stylesheet", "icon", "shortcut", "apple-touch-icon", "preload", "modulepreload",
                 "prefetch", "manifest", "mask-icon"}
_CSS_URL = re.compile(r"""(?:url\(\s*|@import\s+)['"]?((?:https?:)?//[^'")\s]+)""", re.IGNORECASE)


def _is_offsite(url: str | None) -> bool:
    return bool(url) and url.strip().lower().startswith(("http://", "https://", "//"))


class _LoadedUrls(HTMLParser):
    """The URLs that a page makes the browser fetch: scripts, stylesheets, icons, images, frames."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag in ("script", "img", "iframe", "source", "audio", "video", "embed", "input"):
            self.urls.append(attributes.get("src") or "")
        if tag == "link" and set((attributes.get("rel") or "").lower().split()) & _LOADED_LINKS:
            self.urls.append(attributes.get("href") or "")
        if tag == "object":
            self.urls.append(attributes.get("data") or "")
        if attributes.get("style"):
            self.urls.extend(_CSS_URL.findall(attributes["style"]))
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.urls.extend(_CSS_URL.findall(data))


def offsite_urls_in_html(text: str) -> list[str]:
    """The URLs on another site that an HTML page loads as it opens (plain hyperlinks are fine)."""
    parser = _LoadedUrls()
    parser.feed(text)
    parser.close()
    return [url for url in parser.urls if _is_offsite(url)]


def offsite_urls_in_css(text: str) -> list[str]:
    """The ``url(...)`` and ``@import`` targets on another site in a stylesheet."""
    return _CSS_URL.findall(text)


def offsite_assets(html: Path) -> list[str]:
    """Every ``page: url`` in the built site ``html`` that loads a file from another site."""
    found = []
    for page in sorted(html.rglob("*.html")):
        found += [f"{page.relative_to(html)}: {url}" for url in offsite_urls_in_html(page.read_text(errors="replace"))]
    for sheet in sorted(html.rglob("*.css")):
        found += [f"{sheet.relative_to(html)}: {url}" for url in offsite_urls_in_css(sheet.read_text(errors="replace"))]
    return found


# --- a Sphinx extension (``extra_extensions`` in ``_config.yml``) ----------------------------

def drop_repeated_scripts(app, pagename: str, templatename: str, context: dict, doctree) -> None:
    """Keep one copy of each ``<script>`` on a page.

    Sphinx 7.4 lists an inline script that an extension adds while reading twice (``None`` and
    ``''`` as its file name; sphinx-doc/sphinx#13402, fixed in later Sphinx), and sphinx-thebe's
    ``const THEBE_JS_URL`` declared twice is an error in every page's console.
    """
    scripts = context.get("script_files")
    if not isinstance(scripts, list):
        return
    seen, unique = set(), []
    for script in scripts:
        attributes = getattr(script, "attributes", {})
        key = (getattr(script, "filename", script) or "", getattr(script, "priority", 500),
               tuple(sorted(attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique


def setup(app) -> dict:
    app.connect("html-page-context", drop_repeated_scripts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
