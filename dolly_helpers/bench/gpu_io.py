"""The GPU benchmark's models on disk: build random weights of a shape, save, evict, load."""

from __future__ import annotations

import gc
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import torch

from ..models import TINY_MODELS_DIR, ModelSpec
from ..quiet import quiet
from .gpu_results import LoadResult

#: The tokenizer shipped with the book: Dolly's own cannot be downloaded on the GPU machine.
#: Only the pipeline's text handling uses it; every prompt is the same number of tokens.
TOKENIZER_DIR = TINY_MODELS_DIR / "tiny-dolly-large"


# --- Device helpers --------------------------------------------------------------------------


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def timed(device: str, action: Callable[[], object]) -> tuple[float, object]:
    """Run ``action`` and return (seconds, its result), waiting for the device to finish."""
    sync(device)
    started = time.perf_counter()
    result = action()
    sync(device)
    return time.perf_counter() - started, result


def free_memory(device: str) -> None:
    """Return memory held by dropped models and compiled graphs."""
    gc.collect()
    if device.startswith("cuda"):
        torch.cuda.empty_cache()


def device_memory_gb(device: str) -> float | None:
    return torch.cuda.memory_allocated() / 1e9 if device.startswith("cuda") else None


def one_line(error: BaseException) -> str:
    text = f"{type(error).__name__}: {error}".strip().splitlines()
    return text[0][:300] if text else type(error).__name__


# --- Building, saving and loading ------------------------------------------------------------


def load_tokenizer():
    """The book's own tokenizer, left-padded; no download."""
    from transformers import AutoTokenizer

    with quiet():
        tokenizer = AutoTokenizer.from_pretrained(TOKENIZER_DIR)
    tokenizer.padding_side = "left"
    return tokenizer


def build_random_model(spec: ModelSpec, tokenizer, dtype: torch.dtype, device: str) -> torch.nn.Module:
    """A GPT-NeoX of ``spec``'s exact shape with random weights, created on ``device`` in ``dtype``.

    No float32 copy is ever made on the CPU: parameters are allocated and initialized where
    they will live.
    """
    from transformers import AutoModelForCausalLM

    from ..tiny.train import neox_config

    with quiet(), torch.device(device):
        model = AutoModelForCausalLM.from_config(neox_config(spec, tokenizer), dtype=dtype)
    return model.eval()


def save_safetensors(model: torch.nn.Module, tokenizer, folder: Path) -> int:
    """Save model and tokenizer as a loadable folder; return the bytes of weight files."""
    shutil.rmtree(folder, ignore_errors=True)
    with quiet():
        model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)
    _flush(folder)
    return _weight_bytes(folder)


def save_pickle(model: torch.nn.Module, tokenizer, folder: Path) -> int:
    """Save the way Dolly is published: config, tokenizer and one ``pytorch_model.bin``."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    model.config.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    state = {name: tensor.detach().cpu() for name, tensor in model.state_dict().items()}
    torch.save(state, folder / "pytorch_model.bin")
    del state
    _flush(folder)
    return _weight_bytes(folder)


def _weight_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.iterdir() if f.suffix in (".safetensors", ".bin"))


def _flush(folder: Path) -> None:
    """Wait until ``folder``'s files are on disk, so a save's time is the real write."""
    for file in folder.iterdir():
        if file.is_file():
            descriptor = os.open(file, os.O_RDONLY)
            try:
                os.fsync(descriptor)
            finally:
                os.close(descriptor)


def evict_page_cache(folder: Path) -> bool:
    """Ask the OS to drop ``folder``'s files from its page cache, so a load reads the disk.

    Only these files are touched (``posix_fadvise``), nothing system-wide. Returns False where
    that is not possible; then the next load reads from memory and says so.
    """
    if not hasattr(os, "posix_fadvise"):
        return False
    try:
        for file in folder.iterdir():
            if file.is_file():
                descriptor = os.open(file, os.O_RDONLY)
                try:
                    os.fsync(descriptor)  # only clean pages can be dropped
                    os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_DONTNEED)
                finally:
                    os.close(descriptor)
    except OSError:
        return False
    return filesystem_of(folder) != "tmpfs"


def timed_load(
    folder: Path, dtype: torch.dtype, device: str, fmt: str
) -> tuple[torch.nn.Module, LoadResult]:
    """Load ``folder`` onto ``device`` the way a reader would, timing it from a cold page cache.

    On a GPU the copy to the device reads every byte. On a CPU both formats are memory-mapped
    and read lazily, so the timing includes touching every page: the load a first token pays.
    """
    from transformers import AutoModelForCausalLM

    def load() -> torch.nn.Module:
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype, device_map=device)
        if not device.startswith("cuda"):
            read_every_page(model)
        return model

    evicted = evict_page_cache(folder)
    with quiet():
        seconds, model = timed(device, load)
    size = _weight_bytes(folder)
    result = LoadResult(fmt, size, seconds, size / seconds / 1e9, "evicted" if evicted else "warm")
    return model.eval(), result


def read_every_page(model: torch.nn.Module) -> None:
    """Make a memory-mapped model read all its weights now: one element per 4 KiB page."""
    with torch.no_grad():
        for tensor in [*model.parameters(), *model.buffers()]:
            flat = tensor.detach().reshape(-1)
            flat[:: max(1, 4096 // flat.element_size())].sum()


def filesystem_of(path: Path) -> str:
    """The type of the file system holding ``path`` (ext4, xfs, tmpfs...), from /proc/mounts."""
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return "unknown"
    target, best = str(path.resolve()), ("", "unknown")
    for line in mounts:
        parts = line.split()
        if len(parts) > 2 and target.startswith(parts[1]) and len(parts[1]) >= len(best[0]):
            best = (parts[1], parts[2])
    return best[1]


