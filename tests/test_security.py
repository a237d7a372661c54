"""Security: no remote code, pinned Hub revisions, nothing of the build machine in the notebooks."""

import json
import re
import subprocess
from pathlib import Path

import nbformat
import pytest

from dolly_helpers import DOLLY_MODELS, get_spec
from dolly_helpers.book import paths

ROOT = Path(__file__).resolve().parents[1]
#: ``trust_remote_code`` set to anything but False, as a keyword or a dict entry.
REMOTE_CODE = re.compile(r"""trust_remote_code["']?\s*[=:]\s*(?!False\b)""")
#: What must never appear in a committed output: a machine's paths, a Hub token, a key.
LEAKS = {
    "an absolute path of the build machine": re.compile(r"(?<![\w.])/(?:work|root|home/\w+|tmp)/"),
    "a Hugging Face token": re.compile(r"\bhf_[A-Za-z0-9]{30,}\b"),
    "a secret key": re.compile(r"(?i)\b(?:api[_-]?key|secret|password)\s*[=:]\s*\S{8,}"),
}


def _tracked_text_files() -> list[Path]:
    names = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    files = []
    for name in names.splitlines():
        path = ROOT / name
        if path.suffix not in {".safetensors", ".png", ".jpg"} and path.is_file() and path != Path(__file__):
            files.append(path)
    return files


def test_remote_code_is_never_enabled_anywhere_in_the_repository():
    offenders = []
    for path in _tracked_text_files():
        text = path.read_text(encoding="utf-8", errors="ignore")
        offenders += [f"{path.relative_to(ROOT)}: {m.group(0)}" for m in REMOTE_CODE.finditer(text)]
    assert offenders == []


@pytest.mark.parametrize("text, enabled", [
    ('pipeline(model=name, trust_remote_code=True)', True),
    ('{"trust_remote_code": True}', True),
    ('from_pretrained(name, trust_remote_code = flag)', True),
    ('pipeline(model=name, trust_remote_code=False)', False),
])
def test_the_scan_catches_remote_code_in_every_spelling(text, enabled):
    assert bool(REMOTE_CODE.search(text)) == enabled


@pytest.mark.parametrize("name", DOLLY_MODELS)
def test_every_hub_model_is_pinned_to_a_commit(name):
    spec = get_spec(name)
    assert spec.hub_id.startswith("databricks/") and re.fullmatch(r"[0-9a-f]{40}", spec.revision)


def _outputs_text(path: Path) -> str:
    """Everything a notebook's code cells printed or displayed, as one string."""
    notebook = nbformat.read(path, as_version=4)
    return json.dumps([cell.get("outputs", []) for cell in notebook.cells])


@pytest.mark.parametrize("path", paths.committed_notebooks(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_committed_notebook_leaks_the_build_machine_or_a_secret(path):
    text = _outputs_text(path)
    found = [what for what, pattern in LEAKS.items() if pattern.search(text)]
    assert found == []


@pytest.mark.parametrize("text", ["see /work/main/notebooks", "/root/.cache/huggingface", "/tmp/tmpabc/x.ipynb",
                                  "token hf_abcdefghijklmnopqrstuvwxyz0123456789"])
def test_the_leak_patterns_catch_what_they_should(text):
    assert any(pattern.search(text) for pattern in LEAKS.values())


def _captured_load(monkeypatch) -> dict:
    """Stop load_model just before it reads anything and record what it would read."""
    from dolly_helpers import loading

    seen = {}

    def capture(spec, source, options):
        seen.update(source=source, revision=options["revision"])
        raise RuntimeError("captured")

    monkeypatch.setattr(loading, "check_downloadable", lambda spec: None)
    monkeypatch.setattr(loading, "_from_pretrained", capture)
    return seen


def test_a_hub_model_loads_at_its_pinned_revision_unless_overridden(monkeypatch):
    from dolly_helpers import load_model

    seen = _captured_load(monkeypatch)
    with pytest.raises(RuntimeError, match="captured"):
        load_model("dolly-v2-3b", device="cpu")
    assert seen == {"source": "databricks/dolly-v2-3b", "revision": get_spec("dolly-v2-3b").revision}
    with pytest.raises(RuntimeError, match="captured"):
        load_model("dolly-v2-3b", device="cpu", revision="main")
    assert seen == {"source": "databricks/dolly-v2-3b", "revision": "main"}


def test_a_shipped_model_has_no_revision_to_override():
    from dolly_helpers import load_model

    with pytest.raises(ValueError, match="tiny-dolly-small is not loaded from the Hub"):
        load_model("tiny-dolly-small", revision="main")
