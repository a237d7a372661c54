"""Load a model and its tokenizer by name, on whatever hardware is at hand.

Chapter 4 loads one model per run; the playground switches between them. A tiny model comes
from the package itself; a Dolly size comes from the Hugging Face Hub at a pinned commit.

Everything that can be known before a load is checked before it, each failure one line: an
unknown name (:class:`~dolly_helpers.models.UnknownModelError`), a folder with a file missing
or damaged (:class:`ModelFolderError`), a Dolly size that cannot be downloaded here
(:class:`ModelNotAvailableError`) or that does not fit this machine (:class:`ModelDoesNotFitError`).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Literal

import torch

from .convert import ModelFolderError
from .hardware import detect_hardware, resolve_device, resolve_dtype
from .memory import check_fits
from .models import DEFAULT_MODEL, ModelSpec
from .prompt import END_KEY
from .quiet import quiet
from .sources import (
    ModelNotAvailableError,
    check_downloadable,
    not_available_message,
    resolve_source,
)
from .validation import first_line


@dataclass
class LoadedModel:
    """A model ready to generate: network, tokenizer, spec and what the load cost.

    ``load_seconds`` covers reading the tokenizer and weights and placing them on the device,
    not the one-time import of the libraries.
    """

    model: torch.nn.Module  # a ctranslate2_backend.Engine on the ctranslate2 backend
    tokenizer: object
    spec: ModelSpec
    dtype: torch.dtype
    device: str
    load_seconds: float
    weights_gb: float
    end_token_id: int | None
    backend: Literal["torch", "ctranslate2"] = "torch"
    compute_type: str | None = None  # the ctranslate2 backend's number format: "float32" or "int8"

    @property
    def name(self) -> str:
        return self.spec.name

    def __str__(self) -> str:
        if self.backend == "ctranslate2":
            number_format = f"{self.compute_type} in CTranslate2"
        else:
            params = sum(p.numel() for p in self.model.parameters())
            number_format = f"{params / 1e6:,.2f} M parameters, {str(self.dtype).removeprefix('torch.')}"
        return (
            f"{self.name}: {number_format} on {self.device}, {self.weights_gb * 1000:,.1f} MB of weights, "
            f"loaded in {self.load_seconds:.2f} s"
        )


def load_model(
    name_or_path: str | os.PathLike = DEFAULT_MODEL,
    *,
    dtype: str | torch.dtype = "auto",
    device: str = "auto",
    load_in_8bit: bool = False,
    allow_offload: bool = False,
    revision: str | None = None,
    backend: Literal["torch", "ctranslate2"] = "torch",
    compute_type: Literal["float32", "int8"] = "float32",
) -> LoadedModel:
    """Load a model by book name (see ``list_models``) or from a local folder.

    Before anything is read, a Dolly size is planned with :func:`~dolly_helpers.plan_memory` on
    this machine. If it does not fit the GPU, :class:`ModelDoesNotFitError` carries the plan's
    advice (a smaller size, 8-bit, a bigger GPU) unless ``allow_offload=True``, which loads it
    anyway with the layers that do not fit kept in host RAM (slow: minutes per answer), and only
    when host RAM can hold them. With no GPU at all a Dolly size runs from host RAM, just as slow,
    so it too needs ``allow_offload=True``, and is refused when the RAM cannot hold it. An
    explicit ``device`` skips the plan. Offline (``HF_HUB_OFFLINE=1``) a size that is not in the
    local cache raises :class:`ModelNotAvailableError` at once.

    A Dolly size is read from the Hub at the commit its spec pins (``spec.revision``), so a
    later change to the Hub repository cannot change the book's results; ``revision`` overrides
    the pin with another commit, branch or tag, on purpose.

    ``dtype="auto"`` picks bf16 on GPUs that have it, fp16 on older GPUs and fp32 for the tiny
    models on a CPU. Dolly sizes on a GPU are spread with ``device_map="auto"``. transformers 5
    always builds the network on the meta device and fills it straight from the checkpoint
    (what ``low_cpu_mem_usage`` used to switch on), reading safetensors where a repository has
    them. Remote code is never run: Dolly is a plain GPT-NeoX and its prompt handling lives in
    this package.

    ``backend="ctranslate2"`` is the CPU fast path (:mod:`dolly_helpers.ctranslate2_backend`):
    the model is converted once into a cache folder and run by CTranslate2, in float32 or, with
    ``compute_type="int8"``, with 8-bit weights; ``generate`` is called the same way.
    """
    if backend not in ("torch", "ctranslate2"):
        raise ValueError(f"backend={backend!r} is not offered: choose 'torch' or 'ctranslate2'")
    if backend == "ctranslate2":
        return _load_ctranslate2(name_or_path, dtype, device, load_in_8bit, revision, compute_type)
    spec, source, pinned = resolve_source(name_or_path)
    if revision is not None and spec.hub_id is None:
        raise ValueError(f"{spec.name} is not loaded from the Hub, so it has no revision to override: drop revision=")
    if revision is not None:
        source = spec.hub_id  # another commit than the pin: not a local copy of the pinned one
    revision = revision or pinned
    hardware = detect_hardware()
    torch_dtype = resolve_dtype(spec, hardware, dtype)
    target = resolve_device(device, hardware)
    options: dict = {"dtype": torch_dtype, "revision": revision}
    if load_in_8bit:
        options["quantization_config"] = _eight_bit_config(target)
        options["device_map"] = "auto"
    elif spec.hub_id is not None and target.startswith("cuda"):
        # One named GPU (e.g. the one Spark gave a task) holds the whole model; "auto" spreads it.
        options["device_map"] = "auto" if device == "auto" else {"": target}
    if spec.hub_id is not None and source == spec.hub_id:
        check_downloadable(spec)
    if spec.hub_id is not None and device == "auto":
        offload = check_fits(
            spec.name, dtype=torch_dtype, load_in_8bit=load_in_8bit, allow_offload=allow_offload
        )
        if offload and load_in_8bit:  # bitsandbytes keeps offloaded layers in float32
            options["quantization_config"].llm_int8_enable_fp32_cpu_offload = True

    with quiet():
        _import_model_code()  # paid once per process, and not part of loading a model
        started = time.perf_counter()
        tokenizer, model = _from_pretrained(spec, source, options)
        if "device_map" not in options:
            model.to(target)
        model.eval()
        load_seconds = time.perf_counter() - started

    _prepare_tokenizer(tokenizer)
    return LoadedModel(
        model=model,
        tokenizer=tokenizer,
        spec=spec,
        dtype=torch_dtype,
        device=str(next(model.parameters()).device),
        load_seconds=load_seconds,
        weights_gb=model.get_memory_footprint() / 1e9,
        end_token_id=_end_token_id(tokenizer),
    )


def _load_ctranslate2(
    name_or_path: str | os.PathLike, dtype: str | torch.dtype, device: str, load_in_8bit: bool,
    revision: str | None, compute_type: str,
) -> LoadedModel:
    """``load_model`` on the CPU fast path: convert once (cached), then load with CTranslate2."""
    from . import ctranslate2_backend as fast
    from .convert import cache_root

    fast.check_compute_type(compute_type)
    if device not in ("auto", "cpu") or load_in_8bit or dtype not in ("auto", "float32", torch.float32):
        raise ValueError(
            "backend='ctranslate2' runs on the CPU in float32 or int8: drop device=, dtype= and "
            "load_in_8bit=, and pass compute_type='int8' for 8-bit weights"
        )
    fast.import_ctranslate2()  # a missing package says so before any work
    spec, source, pinned = resolve_source(name_or_path)
    revision = revision or pinned
    if spec.hub_id is not None and source == spec.hub_id:
        check_downloadable(spec)
    with quiet():
        _import_model_code()
        started = time.perf_counter()
        tokenizer, _ = _from_pretrained(spec, source, {"revision": revision}, tokenizer_only=True)
        _prepare_tokenizer(tokenizer)
        folder = fast.convert(source, revision, cache_root(), compute_type)
        engine = fast.Engine(folder, compute_type, threads=torch.get_num_threads())
        load_seconds = time.perf_counter() - started
    return LoadedModel(
        model=engine,
        tokenizer=tokenizer,
        spec=spec,
        dtype=torch.float32,
        device="cpu",
        load_seconds=load_seconds,
        weights_gb=fast.weights_gb(folder),
        end_token_id=_end_token_id(tokenizer),
        backend="ctranslate2",
        compute_type=compute_type,
    )


def _prepare_tokenizer(tokenizer) -> None:
    """Pad on the left (batched prompts end where the answer starts), with eos where none is set."""
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token


def _end_token_id(tokenizer) -> int | None:
    """The id of ``### End`` when the tokenizer has it as one token (a tuned model), else None."""
    end_token_id = tokenizer.convert_tokens_to_ids(END_KEY)
    return None if end_token_id == tokenizer.unk_token_id else end_token_id


def _import_model_code() -> None:
    """Import the tokenizer and GPT-NeoX classes that every book model uses.

    The first import of transformers' model code takes a second or two per Python process;
    doing it before the clock starts keeps ``load_seconds`` the cost of the model itself.
    """
    from transformers import AutoTokenizer, GPTNeoXForCausalLM  # noqa: F401


def _from_pretrained(
    spec: ModelSpec, source: str, options: dict, *, tokenizer_only: bool = False
) -> tuple[object, torch.nn.Module | None]:
    """Load tokenizer and model, turning a missing download or a damaged folder into one line."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    revision = options["revision"]
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, revision=revision)
        model = None if tokenizer_only else AutoModelForCausalLM.from_pretrained(source, **options)
    except OSError as error:
        if source != spec.hub_id:
            message = f"model folder {source} could not be read: {first_line(error)}"
            raise ModelFolderError(message) from error
        raise ModelNotAvailableError(not_available_message(spec)) from error
    except (ValueError, RuntimeError) as error:
        if source == spec.hub_id or isinstance(error, torch.cuda.OutOfMemoryError):
            raise
        # A folder that passed check_model_folder but still fails: weights that do not match the
        # config, a tokenizer file that does not parse.
        detail = first_line(error)
        if "mismatched" in detail:  # transformers points at a report that quiet() silenced
            detail = "the shapes of its weights do not match its config.json"
        raise ModelFolderError(
            f"model folder {source} could not be loaded: {detail}; save or copy the model again"
        ) from error
    return tokenizer, model


def _eight_bit_config(target: str) -> object:
    """Return the 8-bit quantization config, or say why 8-bit is not possible here."""
    if not target.startswith("cuda"):
        raise ValueError("8-bit loading needs a CUDA GPU: drop load_in_8bit or run on a GPU machine")
    try:
        import bitsandbytes  # noqa: F401
    except ImportError:
        raise ValueError("8-bit loading needs bitsandbytes: pip install bitsandbytes") from None
    from transformers import BitsAndBytesConfig

    return BitsAndBytesConfig(load_in_8bit=True)
