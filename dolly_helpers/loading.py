"""Load a model and its tokenizer by name, on whatever hardware is at hand.

Chapter 4 loads one model per run; the playground switches between them. A tiny model comes
from the package itself; a Dolly size comes from the Hugging Face Hub at a pinned commit.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from .convert import has_safetensors, local_safetensors_copy
from .hardware import detect_hardware, resolve_dtype
from .models import DEFAULT_MODEL, ModelSpec, get_spec
from .prompt import END_KEY
from .quiet import quiet


class ModelNotAvailableError(RuntimeError):
    """The weights of a requested model are neither on disk nor downloadable."""


@dataclass
class LoadedModel:
    """A model ready to generate: network, tokenizer, spec and what the load cost.

    ``load_seconds`` covers reading the tokenizer and weights and placing them on the device,
    not the one-time import of the libraries.
    """

    model: torch.nn.Module
    tokenizer: object
    spec: ModelSpec
    dtype: torch.dtype
    device: str
    load_seconds: float
    weights_gb: float
    end_token_id: int | None

    @property
    def name(self) -> str:
        return self.spec.name

    def __str__(self) -> str:
        params = sum(p.numel() for p in self.model.parameters())
        return (
            f"{self.name}: {params / 1e6:,.2f} M parameters, {str(self.dtype).removeprefix('torch.')} "
            f"on {self.device}, {self.weights_gb * 1000:,.1f} MB of weights, "
            f"loaded in {self.load_seconds:.2f} s"
        )


def load_model(
    name_or_path: str | os.PathLike = DEFAULT_MODEL,
    *,
    dtype: str | torch.dtype = "auto",
    device: str = "auto",
    load_in_8bit: bool = False,
) -> LoadedModel:
    """Load a model by book name (see ``list_models``) or from a local folder.

    ``dtype="auto"`` picks bf16 on GPUs that have it, fp16 on older GPUs and fp32 for the tiny
    models on a CPU. Dolly sizes on a GPU are spread with ``device_map="auto"``. transformers 5
    always builds the network on the meta device and fills it straight from the checkpoint
    (what ``low_cpu_mem_usage`` used to switch on), reading safetensors where a repository has
    them. Remote code is never run: Dolly is a plain GPT-NeoX and its prompt handling lives in
    this package.
    """
    spec, source, revision = _resolve_source(name_or_path)
    hardware = detect_hardware()
    torch_dtype = resolve_dtype(spec, hardware, dtype)
    target = hardware.device if device == "auto" else device
    options: dict = {"dtype": torch_dtype, "revision": revision}
    if load_in_8bit:
        options["quantization_config"] = _eight_bit_config(target)
        options["device_map"] = "auto"
    elif spec.family == "dolly" and target.startswith("cuda"):
        options["device_map"] = "auto"

    with quiet():
        _import_model_code()  # paid once per process, and not part of loading a model
        started = time.perf_counter()
        tokenizer, model = _from_pretrained(spec, source, options)
        if "device_map" not in options:
            model.to(target)
        model.eval()
        load_seconds = time.perf_counter() - started

    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    end_token_id = tokenizer.convert_tokens_to_ids(END_KEY)
    if end_token_id == tokenizer.unk_token_id:
        end_token_id = None
    return LoadedModel(
        model=model,
        tokenizer=tokenizer,
        spec=spec,
        dtype=torch_dtype,
        device=str(next(model.parameters()).device),
        load_seconds=load_seconds,
        weights_gb=model.get_memory_footprint() / 1e9,
        end_token_id=end_token_id,
    )


def _resolve_source(name_or_path: str | os.PathLike) -> tuple[ModelSpec, str, str | None]:
    """Return the spec, where to load from and the pinned revision of a name or folder."""
    path = Path(name_or_path)
    if (path / "config.json").is_file():
        return spec_from_folder(path), str(path), None
    spec = get_spec(str(name_or_path))
    if spec.local_path is not None:
        return spec, str(spec.local_path), None
    converted = local_safetensors_copy(spec.name)
    if has_safetensors(converted):  # made by `python -m dolly_helpers convert`
        return spec, str(converted), None
    return spec, spec.hub_id, spec.revision


def spec_from_folder(path: str | os.PathLike) -> ModelSpec:
    """Describe a saved GPT-NeoX folder (a model trained in chapter 9, a local Dolly copy)."""
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


def _from_pretrained(spec: ModelSpec, source: str, options: dict) -> tuple[object, torch.nn.Module]:
    """Load tokenizer and model, turning a missing download into one clear error."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    revision = options["revision"]
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, revision=revision)
        model = AutoModelForCausalLM.from_pretrained(source, **options)
    except OSError as error:
        if spec.hub_id is None:
            raise
        raise ModelNotAvailableError(
            f"{spec.name} is not in the local Hugging Face cache and the Hub cannot be reached: "
            f"run once with network access to download {spec.hub_id}, "
            f"or use the tiny default {DEFAULT_MODEL!r}"
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
