"""Turn a Dolly checkpoint into safetensors once, so every later load is a memory map.

Dolly ships only ``pytorch_model.bin`` on the Hub: a pickle that ``torch.load`` must unpickle
on every load (and that older torch could be tricked into running code with). A safetensors
copy holds the same tensors, is read by memory-mapping, and runs nothing. Chapter 4 (Running
Dolly) offers the conversion; ``python -m dolly_helpers.bench gpu`` measures what it saves.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from .models import ModelSpec, get_spec
from .quiet import quiet
from .validation import first_line

#: File names of weights: never copied next to a converted checkpoint.
_WEIGHT_SUFFIXES = (".bin", ".safetensors", ".pt", ".pth", ".ckpt", ".h5", ".msgpack")
_WEIGHT_INDEXES = ("pytorch_model.bin.index.json", "model.safetensors.index.json")


#: The files that make a tokenizer, any one set of which is enough.
_TOKENIZER_FILES = (("tokenizer.json",), ("vocab.json", "merges.txt"), ("tokenizer.model",))
#: A safetensors header larger than this is damage, not a header (real ones are kilobytes).
_MAX_HEADER_BYTES = 100_000_000


class ModelFolderError(ValueError):
    """A local model folder lacks a file (config, weights, tokenizer) or holds a damaged one."""


def checkpoint_files(folder: str | os.PathLike) -> list[Path]:
    """The weight files of a saved model folder (``pytorch_model*.bin``, ``*.safetensors``)."""
    path = Path(folder)
    if not path.is_dir():
        return []
    return sorted(
        file for file in path.iterdir()
        if file.is_file() and (file.suffix == ".safetensors" or
                               (file.suffix == ".bin" and file.name.startswith("pytorch_model")))
    )


def has_safetensors(folder: str | os.PathLike) -> bool:
    """Whether ``folder`` holds a model saved as safetensors (a finished conversion)."""
    path = Path(folder)
    return (path / "config.json").is_file() and any(
        file.suffix == ".safetensors" for file in checkpoint_files(path)
    )


def convert_to_safetensors(source_folder: str | os.PathLike, target_folder: str | os.PathLike) -> Path:
    """Load the checkpoint in ``source_folder`` and save it as safetensors in ``target_folder``.

    The weights keep the checkpoint's own number format (bfloat16 for Dolly), and the tokenizer
    files travel along, so ``load_model(target_folder)`` works. The copy is written to a
    ``.partial`` folder first and renamed at the end: a killed conversion leaves no folder that
    looks finished. Needs about the checkpoint's size in free RAM (23.8 GB for dolly-v2-12b).
    """
    source, target = Path(source_folder), Path(target_folder)
    _check_source(source)
    if target.exists() and any(target.iterdir()):
        raise ValueError(f"{target} already exists and is not empty: choose a new folder or remove it")
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    _save_as_safetensors(source, partial)
    _copy_side_files(source, partial)
    if target.exists():
        target.rmdir()  # empty, checked above
    os.replace(partial, target)
    return target


def local_safetensors_copy(name: str) -> Path:
    """Where the converted copy of a Hub model lives: ``<cache>/dolly-book/<name>-<revision>``.

    ``<cache>`` is ``$HF_HOME`` when set (next to the Hub's own cache), else ``$XDG_CACHE_HOME``
    or ``~/.cache``. The pinned revision is part of the name, so a new pin gets a new copy.
    The folder may not exist yet: :func:`has_safetensors` says whether it is ready.
    """
    spec = get_spec(name)
    if spec.hub_id is None:
        raise ValueError(f"{name} ships with the book as safetensors already: there is nothing to convert")
    return cache_root() / f"{spec.name}-{spec.revision}"


def convert_cached_model(name: str, *, cache_dir: str | os.PathLike | None = None) -> Path:
    """Return the safetensors copy of a Dolly size, converting its Hub download on first use.

    The download must already be in the Hugging Face cache (``cache_dir``, default the Hub's
    own) at the book's pinned revision; nothing is fetched. What ``load_model`` calls before
    loading a Dolly size, so the pickle is read once and the memory-mapped copy ever after.
    """
    target = local_safetensors_copy(name)
    if has_safetensors(target):
        return target
    spec = get_spec(name)
    from huggingface_hub import snapshot_download

    try:
        with quiet():
            source = snapshot_download(
                spec.hub_id, revision=spec.revision, cache_dir=cache_dir, local_files_only=True
            )
    except OSError:  # LocalEntryNotFoundError is one
        raise ValueError(
            f"{spec.hub_id} at revision {spec.revision[:12]} is not in the Hugging Face cache: "
            "download it first (load_model does), then convert"
        ) from None
    return convert_to_safetensors(source, target)


def cache_root() -> Path:
    """The book's own cache folder, ``<cache>/dolly-book``: converted copies of models live here."""
    for variable in ("HF_HOME", "XDG_CACHE_HOME"):
        if os.environ.get(variable):
            return Path(os.environ[variable]).expanduser() / "dolly-book"
    return Path.home() / ".cache" / "dolly-book"


def _check_source(source: Path) -> None:
    """Refuse a folder without ``config.json`` and weights, in one line."""
    if not (source / "config.json").is_file() or not checkpoint_files(source):
        raise ValueError(
            f"{source} holds no checkpoint: expected config.json and pytorch_model.bin "
            "(or *.safetensors) in it"
        )


def _save_as_safetensors(source: Path, target: Path) -> None:
    """Load with transformers in the checkpoint's dtype, save with ``save_pretrained``."""
    from transformers import AutoModelForCausalLM

    with quiet():
        # low_cpu_mem_usage: build the model empty and fill it from the checkpoint, so the
        # weights are in RAM once (transformers 5 always does this and ignores the flag).
        model = AutoModelForCausalLM.from_pretrained(source, dtype="auto", low_cpu_mem_usage=True)
        model.save_pretrained(target)  # transformers 5 writes safetensors only
    if not has_safetensors(target):
        raise RuntimeError(f"saving {source} wrote no safetensors file to {target}")


def _copy_side_files(source: Path, target: Path) -> None:
    """Copy the tokenizer and other small files that ``save_pretrained`` did not write."""
    for file in source.iterdir():
        is_weights = file.suffix in _WEIGHT_SUFFIXES or file.name in _WEIGHT_INDEXES
        if file.is_file() and not is_weights and not (target / file.name).exists():
            shutil.copy2(file, target / file.name)


def check_model_folder(folder: str | os.PathLike) -> None:
    """Raise a one-line :class:`ModelFolderError` if ``folder`` cannot hold a loadable model.

    It needs a readable ``config.json``, weights (``*.safetensors`` or ``pytorch_model*.bin``)
    and a tokenizer (``tokenizer.json``, or ``vocab.json`` with ``merges.txt``). Each
    ``*.safetensors`` file's header is read to catch a truncated or garbled file; the tensors
    themselves are not read, so the check costs milliseconds even for dolly-v2-12b.
    """
    folder = Path(folder)
    config = folder / "config.json"
    if not config.is_file():
        raise ModelFolderError(
            f"model folder {folder} has no config.json: it is not a saved model "
            "(save one with model.save_pretrained(folder) and tokenizer.save_pretrained(folder))"
        )
    try:
        json.loads(config.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise ModelFolderError(
            f"model folder {folder} has a damaged config.json ({first_line(error)}): "
            "save or copy the model again"
        ) from None
    weights = checkpoint_files(folder)
    if not weights:
        raise ModelFolderError(
            f"model folder {folder} has no weights (model.safetensors or pytorch_model.bin): "
            "save them with model.save_pretrained(folder), or copy the folder again"
        )
    if not any(all((folder / name).is_file() for name in files) for files in _TOKENIZER_FILES):
        raise ModelFolderError(
            f"model folder {folder} has no tokenizer (tokenizer.json): "
            "save it next to the weights with tokenizer.save_pretrained(folder)"
        )
    for file in weights:
        if file.suffix == ".safetensors":
            problem = _safetensors_problem(file)
            if problem:
                raise ModelFolderError(
                    f"model folder {folder} has a corrupt {file.name} ({problem}): "
                    "save or copy the model again"
                )


def _safetensors_problem(file: Path) -> str | None:
    """Why a safetensors file cannot be read, from its header alone, or None if it looks whole.

    The format: 8 bytes of header length, a JSON header giving each tensor's byte range, then
    the bytes. A truncated file ends before the last range does; a garbled one has no header.
    """
    size = file.stat().st_size
    try:
        with file.open("rb") as handle:
            start = handle.read(8)
            if len(start) < 8:
                return f"{size} bytes, too short to be safetensors"
            header_bytes = int.from_bytes(start, "little")
            if header_bytes > min(size - 8, _MAX_HEADER_BYTES):
                return "not a safetensors file: its header is garbage"
            header = json.loads(handle.read(header_bytes))
        ends = [entry["data_offsets"][1] for key, entry in header.items() if key != "__metadata__"]
    except (ValueError, UnicodeDecodeError, KeyError, TypeError, IndexError, AttributeError):
        return "not a safetensors file: its header is garbage"
    expected = 8 + header_bytes + max(ends, default=0)
    if size < expected:
        return f"truncated: {size:,} of {expected:,} bytes"
    return None


def spec_of_folder(path: Path) -> ModelSpec:
    """:func:`spec_from_folder`, with a config that is not a GPT-NeoX reported as one line."""
    try:
        return spec_from_folder(path)
    except (AttributeError, KeyError, TypeError, ValueError, OSError) as error:
        raise ModelFolderError(
            f"model folder {path} has a config.json the book cannot use ({first_line(error)}): "
            "it needs a GPT-NeoX model such as Dolly's"
        ) from None


def spec_from_folder(path: str | os.PathLike) -> ModelSpec:
    """Describe a saved GPT-NeoX folder (a model trained in chapter 10, a local Dolly copy)."""
    from transformers import AutoConfig

    path = Path(path)
    with quiet():
        config = AutoConfig.from_pretrained(path)
    rope = getattr(config, "rope_parameters", None) or {}
    return ModelSpec(
        name=path.name,
        family="local",
        hub_id=None,
        revision=None,
        base_model="local folder",
        num_layers=config.num_hidden_layers,
        hidden_size=config.hidden_size,
        num_heads=config.num_attention_heads,
        intermediate_size=config.intermediate_size,
        vocab_size=config.vocab_size,
        context_length=config.max_position_embeddings,
        rotary_pct=rope.get("partial_rotary_factor", 0.25),
    )
