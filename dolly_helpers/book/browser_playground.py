"""The files behind the site's browser playground (``book/browser-playground.md``).

A static page has no Python kernel, so the playground page runs the tiny models in the reader's
browser: :func:`prepare_playground`, run by every site build, exports each tiny model to ONNX
(:func:`dolly_helpers.onnx_export.export_onnx`), copies its tokenizer files beside it and writes
``config.json``, which gives the page's script (``web/playground.js``) everything it must agree
on with Python: Dolly's prompt strings, each model's window and stop tokens, the examples, and
where ONNX Runtime Web and Tokenizers.js lie in the site. All of it goes under
``.cache/playground/static/playground/``, a folder in ``html_static_path``, outside git.

An export is redone only when what it was made from changed: the model's files, the exporting
code or the versions of torch and onnxscript (``export.json`` beside each ``model.onnx``).
"""

from __future__ import annotations

import json
import shutil
from importlib.metadata import version
from pathlib import Path

from ..models import DEFAULT_MODEL, TINY_BASE_MODELS, TINY_MODELS, get_spec
from ..prompt import END_KEY, INPUT_KEY, INSTRUCTION_KEY, INTRO_BLURB, RESPONSE_KEY
from ..questions import COMPARISON_QUESTIONS
from . import paths
from .assets import ONNXRUNTIME_JS, TOKENIZERS_JS_FILE
from .fingerprint import file_digest, tree_digest

#: Everything the playground adds to the site; delete it to export again.
CACHE = paths.ROOT / ".cache" / "playground"
#: The page's script, kept in the package beside this module.
SCRIPT = Path(__file__).parent / "web" / "playground.js"
#: The models the page offers: the tuned sizes first, then their bases.
PLAYGROUND_MODELS = (*reversed(TINY_MODELS), *reversed(TINY_BASE_MODELS))
#: The answer length the page starts with: ``generate``'s default.
MAX_NEW_TOKENS = 64
#: The examples under the form: a few of the book's questions, with and without a passage.
EXAMPLE_COUNT = 6
_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json")


def static_folder(cache: Path | None = None) -> Path:
    """The folder that ``_config.yml`` adds to ``html_static_path``."""
    return (cache or CACHE) / "static"


def playground_folder(cache: Path | None = None) -> Path:
    """Where the page's script, ``config.json`` and the models lie: ``_static/playground/`` in the site."""
    return static_folder(cache) / "playground"


def prepare_playground(cache: Path | None = None, models: tuple[str, ...] = PLAYGROUND_MODELS) -> Path:
    """Export what changed, write the page's files and return the static folder."""
    folder = playground_folder(cache)
    folder.mkdir(parents=True, exist_ok=True)
    for name in models:
        _export(name, folder / "models" / name)
    _write_if_changed(folder / "playground.js", SCRIPT.read_text())
    _write_if_changed(folder / "config.json", json.dumps(page_config(folder, models), indent=1, ensure_ascii=False) + "\n")
    return static_folder(cache)


def page_config(folder: Path, models: tuple[str, ...] = PLAYGROUND_MODELS) -> dict:
    """What the page's script reads from ``config.json``; ``folder`` holds the exported models."""
    from tokenizers import Tokenizer

    entries = []
    for name in models:
        spec = get_spec(name)
        tokenizer = Tokenizer.from_file(str(spec.local_path / "tokenizer.json"))
        eos = json.loads((spec.local_path / "tokenizer_config.json").read_text())["eos_token"]
        onnx = folder / "models" / name / "model.onnx"
        entries.append({
            "name": name,
            "label": f"{name} ({'tuned' if spec.stage == 'instruct' else 'base'}, {spec.n_params / 1e6:.1f} M parameters)",
            "window": spec.context_length,
            "cache": {"layers": spec.num_layers, "heads": spec.num_heads, "head_size": spec.head_dim},
            "end_id": tokenizer.token_to_id(END_KEY),  # None for a base model: it writes the key as text
            "eos_id": tokenizer.token_to_id(eos),
            "megabytes": round(onnx.stat().st_size / 1e6, 1),
        })  # fmt: skip
    return {
        "default_model": DEFAULT_MODEL if DEFAULT_MODEL in models else models[0],
        "max_new_tokens": MAX_NEW_TOKENS,
        "prompt": {"intro": INTRO_BLURB, "instruction_key": INSTRUCTION_KEY, "input_key": INPUT_KEY,
                   "response_key": RESPONSE_KEY, "end_key": END_KEY},  # fmt: skip
        "models": entries,
        "examples": [{"instruction": q.instruction, "context": q.context or ""} for q in _examples()],
        # Relative to the page's script, in _static/playground/.
        "scripts": {"onnxruntime": f"../{ONNXRUNTIME_JS}", "tokenizers": f"../{TOKENIZERS_JS_FILE}"},
    }


def _examples():
    """The first seed questions, then the book's passage questions."""
    with_passage = [q for q in COMPARISON_QUESTIONS if q.context]
    without = [q for q in COMPARISON_QUESTIONS if not q.context]
    return (without[: EXAMPLE_COUNT - 3] + with_passage[:3])[:EXAMPLE_COUNT]


def export_inputs(name: str) -> dict[str, str]:
    """What an export of ``name`` is made from, one hash or version per part."""
    return {
        "model": tree_digest(get_spec(name).local_path),
        "exporter": file_digest(paths.PACKAGE / "onnx_export.py"),
        "torch": version("torch"),
        "onnxscript": version("onnxscript"),
    }


def _export(name: str, target: Path) -> None:
    """Export ``name`` into ``target`` unless the export there was made from the same inputs."""
    from ..loading import load_model
    from ..onnx_export import export_onnx

    stamp = target / "export.json"
    inputs = export_inputs(name)
    try:
        done = json.loads(stamp.read_text()) == inputs and (target / "model.onnx").is_file()
    except (OSError, ValueError):
        done = False
    if not done:
        stamp.unlink(missing_ok=True)
        export_onnx(load_model(name, device="cpu"), target / "model.onnx")
        stamp.write_text(json.dumps(inputs, indent=1) + "\n")
    for file in _TOKENIZER_FILES:
        source = get_spec(name).local_path / file
        if not (target / file).is_file() or file_digest(target / file) != file_digest(source):
            shutil.copyfile(source, target / file)


def _write_if_changed(path: Path, text: str) -> None:
    if not path.is_file() or path.read_text() != text:
        path.write_text(text)
