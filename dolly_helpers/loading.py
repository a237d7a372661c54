"""Load a model and its tokenizer by name, on whatever hardware is at hand.

Chapter 4 loads one model per run; the playground switches between them. A tiny model comes
from the package itself; a Dolly size comes from the Hugging Face Hub at a pinned commit.

Everything that can be known before a load is checked before it, each failure one line: an
unknown name (:class:`~dolly_helpers.models.UnknownModelError`), a folder with a file missing
or damaged (:class:`ModelFolderError`), a Dolly size that cannot be downloaded here
(:class:`ModelNotAvailableError`) or that does not fit this machine (:class:`ModelDoesNotFitError`).
"""

from __future__ import annotations

import json
import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch

from .convert import checkpoint_files, has_safetensors, local_safetensors_copy
from .hardware import detect_hardware, resolve_dtype
from .models import DEFAULT_MODEL, ModelSpec, UnknownModelError, get_spec, unknown_model_message
from .prompt import END_KEY
from .quiet import quiet
from .validation import first_line

#: The files that make a tokenizer, any one set of which is enough.
_TOKENIZER_FILES = (("tokenizer.json",), ("vocab.json", "merges.txt"), ("tokenizer.model",))
#: A safetensors header larger than this is damage, not a header (real ones are kilobytes).
_MAX_HEADER_BYTES = 100_000_000


class ModelNotAvailableError(RuntimeError):
    """The weights of a requested model are neither on disk nor downloadable."""


class ModelDoesNotFitError(RuntimeError):
    """The memory plan says the model does not fit this machine; the message carries its advice."""


class ModelFolderError(ValueError):
    """A local model folder lacks a file (config, weights, tokenizer) or holds a damaged one."""


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
    spec, source, pinned = _resolve_source(name_or_path)
    if revision is not None and spec.hub_id is None:
        raise ValueError(f"{spec.name} is not loaded from the Hub, so it has no revision to override: drop revision=")
    if revision is not None:
        source = spec.hub_id  # another commit than the pin: not a local copy of the pinned one
    revision = revision or pinned
    hardware = detect_hardware()
    torch_dtype = resolve_dtype(spec, hardware, dtype)
    target = hardware.device if device == "auto" else device
    options: dict = {"dtype": torch_dtype, "revision": revision}
    if load_in_8bit:
        options["quantization_config"] = _eight_bit_config(target)
        options["device_map"] = "auto"
    elif spec.hub_id is not None and target.startswith("cuda"):
        # One named GPU (e.g. the one Spark gave a task) holds the whole model; "auto" spreads it.
        options["device_map"] = "auto" if device == "auto" else {"": target}
    if spec.hub_id is not None and source == spec.hub_id:
        _check_downloadable(spec)
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
    spec, source, pinned = _resolve_source(name_or_path)
    revision = revision or pinned
    if spec.hub_id is not None and source == spec.hub_id:
        _check_downloadable(spec)
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


def _resolve_source(name_or_path: str | os.PathLike) -> tuple[ModelSpec, str, str | None]:
    """Return the spec, where to load from and the pinned revision of a name or folder.

    A folder is checked for its files first (:func:`check_model_folder`); so is a shipped tiny
    model and a converted safetensors copy of a Dolly size.
    """
    if not isinstance(name_or_path, (str, os.PathLike)):
        raise TypeError(unknown_model_message(name_or_path))
    path = Path(name_or_path).expanduser()
    if (path / "config.json").is_file():
        check_model_folder(path)
        return _spec_of_folder(path), str(path), None
    try:
        spec = get_spec(str(name_or_path))
    except UnknownModelError:
        if path.is_dir():
            check_model_folder(path)  # raises, naming what the folder lacks
        if path.is_file():
            raise ModelFolderError(
                f"{path} is a file, not a model folder: pass the folder that holds it and config.json"
            ) from None
        if _looks_like_a_path(name_or_path):
            raise ModelFolderError(
                f"model folder {str(name_or_path)!r} does not exist: check the path, or pass a model name "
                f"({unknown_model_message(str(name_or_path)).split(': ', 1)[1]})"
            ) from None
        raise
    if spec.local_path is not None:
        check_model_folder(spec.local_path)
        return spec, str(spec.local_path), None
    converted = local_safetensors_copy(spec.name)
    if has_safetensors(converted):  # made by `python -m dolly_helpers convert`
        check_model_folder(converted)
        return spec, str(converted), None
    return spec, spec.hub_id, spec.revision


def _looks_like_a_path(name: str | os.PathLike) -> bool:
    """A folder someone meant, not a mistyped name: a PathLike, or text with a separator or dot start.

    A Hub id such as ``databricks/dolly-v2-3b`` has a slash but is answered as an unknown name,
    with its book name suggested.
    """
    if isinstance(name, os.PathLike):
        return True
    from .models import list_models

    if any(spec.hub_id and name.strip().lower() == spec.hub_id.lower() for spec in list_models()):
        return False
    return name.startswith((".", "~")) or "/" in name or os.sep in name


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


def _spec_of_folder(path: Path) -> ModelSpec:
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
        raise ModelNotAvailableError(_not_available_message(spec)) from error
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


def _not_available_message(spec: ModelSpec) -> str:
    return (
        f"{spec.name} is not in the local Hugging Face cache and the Hub cannot be reached: "
        f"run once with network access to download {spec.hub_id}, "
        f"or use the tiny default {DEFAULT_MODEL!r}"
    )


def _hub_offline() -> bool:
    from huggingface_hub import constants

    flag = os.environ.get("HF_HUB_OFFLINE", "").strip().lower()
    return bool(constants.HF_HUB_OFFLINE) or flag in {"1", "true", "yes", "on"}


def _hub_cache_dir() -> str | None:
    """The Hub cache as the environment says now (huggingface_hub reads it once, at import)."""
    if os.environ.get("HF_HUB_CACHE"):
        return os.environ["HF_HUB_CACHE"]
    if os.environ.get("HF_HOME"):
        return str(Path(os.environ["HF_HOME"]) / "hub")
    return None


def is_downloadable(spec: ModelSpec) -> bool:
    """True when a Hub model is in the local cache or the Hub may be asked for it."""
    if spec.hub_id is None or not _hub_offline():
        return True
    from huggingface_hub import try_to_load_from_cache

    cached = try_to_load_from_cache(
        spec.hub_id, "config.json", cache_dir=_hub_cache_dir(), revision=spec.revision
    )
    return isinstance(cached, str)


def _check_downloadable(spec: ModelSpec) -> None:
    """Offline with no cached copy: say so now, before planning or loading anything."""
    if not is_downloadable(spec):
        raise ModelNotAvailableError(_not_available_message(spec))


def check_fits(
    name: str,
    *,
    dtype: str | torch.dtype = "auto",
    load_in_8bit: bool = False,
    allow_offload: bool = False,
) -> bool:
    """Plan model ``name`` on this machine; return True when it needs CPU offload, else False.

    Raises :class:`ModelDoesNotFitError` with the plan's advice when it does not fit and
    offloading is not allowed, or not possible: on a CUDA GPU the layers that do not fit need
    room in host RAM; with no GPU the whole model runs from host RAM, which the plan checks.
    """
    from .memory import HOST_LOAD_FACTOR, plan_memory

    plan = plan_memory(name, dtype=dtype, load_in_8bit=load_in_8bit)
    advice = plan.advice.rstrip(".")
    how = "pass allow_offload=True (ask --allow-offload)"
    if plan.device_type == "cpu":
        if not plan.fits:
            raise ModelDoesNotFitError(f"no GPU here, and {advice}")
        if allow_offload:
            return True
        raise ModelDoesNotFitError(
            f"no GPU here: {name} would run on the CPU, slowly ({advice}): "
            f"{how} to run it anyway, or use the tiny default {DEFAULT_MODEL!r}"
        )
    if plan.fits:
        return False
    if plan.total_gb <= plan.device_memory_gb:  # the GPU is big enough; host RAM is what lacks
        raise ModelDoesNotFitError(advice)
    if plan.device_type != "cuda":
        raise ModelDoesNotFitError(f"{advice}; CPU offload is not possible on {plan.device}")
    ram_here = plan.host_ram_available_gb
    spill_gb = plan.total_gb - plan.device_memory_gb
    ram_needed = plan.host_ram_gb + HOST_LOAD_FACTOR * spill_gb  # the layers kept in RAM, too
    if ram_here and ram_needed > ram_here:
        raise ModelDoesNotFitError(
            f"{advice}; but not on this machine: offloading needs about {ram_needed:,.1f} GB "
            f"of host RAM and it has {ram_here:,.1f} GB"
        )
    if allow_offload:
        warnings.warn(
            f"{name} does not fit the {plan.device}: about {spill_gb:,.1f} GB of it stays in host RAM, "
            "so answers take minutes",
            stacklevel=3,
        )
        return True
    raise ModelDoesNotFitError(f"{advice}; to load it anyway with CPU offload, {how}")


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
