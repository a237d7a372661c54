"""The site's own copies of its JavaScript: pins, cache, npm errors, and the check on built pages.

No test here reaches the network: npm is a stand-in script that copies a tarball made here.
"""

import fnmatch
import io
import subprocess
import tarfile

import pytest
import yaml
from sphinx.builders.html._assets import _JavaScript

from dolly_helpers.book import assets, browser_playground, paths
from dolly_helpers.book.__main__ import main
from dolly_helpers.book.assets import (
    AssetsUnavailable, Package, drop_repeated_scripts, offsite_urls_in_css, offsite_urls_in_html,
    prepare_assets,
)


def _sphinx_config() -> dict:
    return yaml.safe_load((paths.ROOT / "_config.yml").read_text())["sphinx"]


def test_the_config_loads_the_shipped_files():
    sphinx = _sphinx_config()
    config = sphinx["config"]
    assert config["html_static_path"] == [folder.relative_to(paths.ROOT).as_posix() for folder in
                                          (assets.static_folder(), browser_playground.static_folder())]
    assert config["mathjax_path"] == assets.MATHJAX_JS
    assert list(config["nb_ipywidgets_js"]) == [assets.REQUIREJS_JS, assets.WIDGETS_SETUP_JS, assets.WIDGETS_JS]
    assert "dolly_helpers.book.assets" in sphinx["extra_extensions"]
    assert ".cache" in yaml.safe_load((paths.ROOT / "_config.yml").read_text())["exclude_patterns"]


@pytest.mark.parametrize("script", [assets.REQUIREJS_JS, assets.WIDGETS_JS, assets.MATHJAX_JS,
                                    assets.ONNXRUNTIME_JS, assets.TOKENIZERS_JS_FILE])
def test_each_script_the_config_names_is_a_file_its_package_ships(script):
    package = next(p for p in assets.PACKAGES if script.startswith(p.folder + "/"))
    inside = script.removeprefix(package.folder + "/")
    assert any(fnmatch.fnmatchcase(inside, pattern) for pattern in package.files)


def test_the_cache_stays_out_of_git():
    for shipped in (assets.CACHE / "static" / "npm" / "x.js", browser_playground.CACHE / "static" / "x.onnx"):
        assert subprocess.run(["git", "check-ignore", "-q", str(shipped)], cwd=paths.ROOT).returncode == 0


# --- fetching and caching, with a stand-in npm ------------------------------------------------

def _tarball(path, files: dict[str, bytes]) -> None:
    with tarfile.open(path, "w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("package/dist/link.js")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        archive.addfile(link)


@pytest.fixture
def fake_package(tmp_path):
    """A package tarball as the registry would serve it, and its pin."""
    source = tmp_path / "registry" / "scope-widgets-1.2.3.tgz"
    source.parent.mkdir()
    _tarball(source, {
        "package/dist/embed.js": b"define('widgets', [], {});",
        "package/dist/font.woff2": b"font",
        "package/src/index.ts": b"export {};",
        "package/../evil.js": b"alert(1)",
    })
    package = Package("@scope/widgets", "1.2.3", assets.integrity_of(source), ("dist/*.js", "dist/*.woff2"))
    return package, source


def _fake_npm(tmp_path, monkeypatch, script: str):
    """Put an ``npm`` that runs ``script`` (sh) first on PATH; return the file it logs its calls to."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "npm-calls.log"
    npm = bin_dir / "npm"
    npm.write_text(f'#!/bin/sh\necho "$@" >> {log}\n{script}\n')
    npm.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    return log


def test_packages_are_fetched_once_then_served_from_the_cache(tmp_path, monkeypatch, fake_package):
    package, source = fake_package
    # `npm pack SPEC --pack-destination DIR ...`: copy the registry's tarball into DIR.
    log = _fake_npm(tmp_path, monkeypatch, f'cp {source} "$4/"; echo "[]"')
    cache = tmp_path / "cache"

    static = prepare_assets(cache, (package,))
    shipped = sorted(p.relative_to(static).as_posix() for p in static.rglob("*") if p.is_file())
    assert shipped == ["npm/widgets-1.2.3/dist/embed.js", "npm/widgets-1.2.3/dist/font.woff2", "widgets-setup.js"]
    assert (static / "widgets-setup.js").read_text() == assets.WIDGETS_SETUP
    assert not (tmp_path / "evil.js").exists()
    assert log.read_text().split()[:2] == ["pack", "@scope/widgets@1.2.3"]

    assert prepare_assets(cache, (package,)) == static  # cached: npm is not asked again
    (static / "npm" / "widgets-1.2.3" / "dist" / "embed.js").unlink()
    prepare_assets(cache, (package,))  # a damaged static folder is unpacked again from the tarball
    assert (static / "npm" / "widgets-1.2.3" / "dist" / "embed.js").is_file()
    assert len(log.read_text().splitlines()) == 1


def test_a_tarball_that_does_not_match_its_pin_is_refused(tmp_path, monkeypatch, fake_package):
    package, source = fake_package
    _fake_npm(tmp_path, monkeypatch, f'cp {source} "$4/"')
    pinned = Package(package.name, package.version, "sha512-AAAA", package.files)
    with pytest.raises(AssetsUnavailable, match=r"integrity .* not the pinned sha512-AAAA"):
        prepare_assets(tmp_path / "cache", (pinned,))


def test_an_unreachable_registry_is_a_one_line_error(tmp_path, monkeypatch, fake_package):
    package, _ = fake_package
    _fake_npm(tmp_path, monkeypatch, (
        "echo 'npm error code ENOTFOUND' >&2; echo 'npm error syscall getaddrinfo' >&2;"
        "echo 'npm error network request to https://registry.npmjs.org/x failed, reason: getaddrinfo ENOTFOUND' >&2;"
        "echo 'npm error A complete log of this run can be found in: /root/.npm/_logs/x.log' >&2; exit 1"))
    with pytest.raises(AssetsUnavailable) as raised:
        prepare_assets(tmp_path / "cache", (package,))
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith("npm could not fetch @scope/widgets@1.2.3 (code ENOTFOUND; network request to")
    assert "npm registry" in message and "run again" in message and "complete log" not in message


def test_no_npm_stops_the_site_build_with_a_one_line_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(assets, "CACHE", tmp_path / "cache")
    monkeypatch.setenv("PATH", str(tmp_path))  # no npm on it
    assert main(["site"]) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert error.startswith("error: the site ships its own JavaScript") and "apt-get install npm" in error


# --- the check on the built pages ------------------------------------------------------------

PAGE = """<!DOCTYPE html><html><head>
<link rel="stylesheet" href="../_static/styles/theme.css">
<link rel="stylesheet" href="https://fonts.example.org/css?family=Roboto">
<link rel="canonical" href="https://dolly-book.example.org/notebooks/09_playground.html">
<link rel="preload" as="font" href="//cdn.example.org/font.woff2">
<script src="../_static/npm/requirejs-2.3.8/require.js"></script>
<script src="https://cdnjs.cloudflare.com/ajax/libs/require.js/2.3.4/require.min.js"></script>
<script>const THEBE_JS_URL = "https://unpkg.com/thebe@0.8.2/lib/index.js"</script>
<style>@import url("https://fonts.googleapis.com/css?family=Roboto+Mono");</style>
</head><body>
<a href="https://github.com/dolly-book/dolly-at-every-size">the repository</a>
<img src="../_images/plot.png"><img src="https://img.shields.io/badge/x.svg">
<div style="background: url('https://example.org/bg.png')"></div>
</body></html>"""


def test_the_check_finds_what_a_page_loads_from_other_sites():
    assert offsite_urls_in_html(PAGE) == [
        "https://fonts.example.org/css?family=Roboto",
        "//cdn.example.org/font.woff2",
        "https://cdnjs.cloudflare.com/ajax/libs/require.js/2.3.4/require.min.js",
        "https://fonts.googleapis.com/css?family=Roboto+Mono",
        "https://img.shields.io/badge/x.svg",
        "https://example.org/bg.png",
    ]


def test_the_check_finds_fonts_a_stylesheet_loads_from_other_sites():
    css = ("@font-face { src: url(../webfonts/fa-solid-900.woff2) format('woff2'); }\n"
           "@font-face { src: url('https://fonts.gstatic.com/s/roboto.woff2'); }\n"
           ".icon { background: url(data:image/svg+xml;base64,AAAA); }\n"
           "@import 'https://cdn.example.org/theme.css';\n")
    assert offsite_urls_in_css(css) == ["https://fonts.gstatic.com/s/roboto.woff2", "https://cdn.example.org/theme.css"]


def test_repeated_inline_scripts_are_dropped():
    thebe = 'const THEBE_JS_URL = "x"'
    scripts = [_JavaScript(None, body=thebe), _JavaScript("_static/a.js"), _JavaScript("", body=thebe),
               _JavaScript("_static/a.js", **{"async": "async"}), _JavaScript("_static/a.js")]
    drop_repeated_scripts(None, "intro", "page.html", {"script_files": scripts}, None)
    assert [(s.filename, dict(s.attributes)) for s in scripts] == [
        (None, {"body": thebe}), ("_static/a.js", {}), ("_static/a.js", {"async": "async"})]


def test_there_is_no_root_static_folder():
    # With a _static/ beside _config.yml, jupyter-book 1.x puts every .js and .css file of every
    # html_static_path folder on every page: all of MathJax and the widget manager, everywhere.
    assert not (paths.ROOT / "_static").exists(), "keep extra site files out of a root _static/ folder"


def test_make_test_opens_the_site_that_the_check_built():
    from dolly_helpers.book.site import CHECK_OUTPUT

    makefile = (paths.ROOT / "Makefile").read_text()
    expected = (CHECK_OUTPUT / "_build" / "html").relative_to(paths.ROOT).as_posix()
    assert f"SITE_CHECK_HTML := {expected}\n" in makefile
    assert "DOLLY_SITE_HTML=$(SITE_CHECK_HTML)" in makefile
