"""Will this model fit? A memory plan before a multi-gigabyte download.

Chapter 4 (Running Dolly) plans each Dolly size against a T4 and an A100 before loading it;
chapter 9 (Playground) checks a choice before switching models. Every figure is in
GB = 1e9 bytes (a GPU sold as "16 GB" has 16e9 bytes; PyTorch prints GiB = 2**30 bytes).

The estimate itself, term by term, is in :mod:`dolly_helpers.memory_estimate`. With it,
dolly-v2-7b in float16 fits a 16 GB T4 for sequences up to about 1,500 tokens
(15.4 GB at 512) and not at the full 2,048; dolly-v2-12b needs about 26 GB in 16 bits and about
14 GB in 8-bit.
"""

from __future__ import annotations

import html
import textwrap
import warnings
from dataclasses import dataclass
from typing import Literal

import torch

from .gpus import GpuInfo, get_gpu, list_gpus
from .hardware import DeviceKind, Hardware, detect_hardware, dtype_name, resolve_dtype
from .memory_estimate import HOST_LOAD_FACTOR, Estimate, estimate_memory, host_ram_gb
from .models import DEFAULT_MODEL, DOLLY_MODELS, ModelSpec, get_spec

#: How the weights are stored: a torch dtype, or 8 or 4 bits with bitsandbytes.
WeightFormat = Literal["bfloat16", "float16", "float32", "int8", "int4"]
_OFFLOAD_NOTE = (
    'device_map="auto" with CPU offload loads it anyway, but generation slows to minutes '
    "per answer (Dolly issues 44 and 107)"
)


@dataclass(frozen=True)
class MemoryPlan:
    """What a model needs on one device, whether it fits, and what to do if it does not."""

    model_name: str
    device: str
    device_type: DeviceKind
    device_memory_gb: float
    dtype: WeightFormat
    batch_size: int
    sequence_length: int
    weights_gb: float
    kv_cache_gb: float
    overhead_gb: float
    total_gb: float
    host_ram_gb: float  # peak host RAM while loading
    host_ram_available_gb: float | None  # known only when planning for this machine
    fits: bool
    advice: str

    @property
    def headroom_gb(self) -> float:
        """Device memory left after the plan; negative when it does not fit."""
        return self.device_memory_gb - self.total_gb

    def rows(self) -> list[tuple[str, str]]:
        """The plan as (label, value) pairs, for text and HTML tables."""
        rows = [
            ("model", self.model_name),
            ("device", f"{self.device}, {_gb(self.device_memory_gb)}"),
            ("dtype", self.dtype),
            ("sequence", f"{self.sequence_length:,} tokens x batch {self.batch_size}"),
            ("weights", _gb(self.weights_gb)),
            ("KV cache", _gb(self.kv_cache_gb)),
            ("overhead", _gb(self.overhead_gb)),
            ("total", f"{_gb(self.total_gb)} of {_gb(self.device_memory_gb)}"),
            ("host RAM to load", _gb(self.host_ram_gb)),
        ]
        if self.host_ram_available_gb is not None:
            rows.append(("host RAM here", _gb(self.host_ram_available_gb)))
        rows += [("fits", "yes" if self.fits else "no"), ("advice", self.advice)]
        return rows

    def to_table(self) -> str:
        """A two-column text table; the advice wraps under its column."""
        rows = self.rows()
        width = max(len(label) for label, _ in rows)
        lines = []
        for label, value in rows:
            # Keep "16.00 GB" on one line: wrap with a no-break space, then put the space back.
            unbroken = value.replace(" GB", "\u00a0GB").replace(" MB", "\u00a0MB")
            wrapped = [part.replace("\u00a0", " ") for part in textwrap.wrap(unbroken, 88 - width)]
            wrapped = wrapped or [""]
            lines.append(f"{label:<{width}}  {wrapped[0]}")
            lines += [f"{'':<{width}}  {more}" for more in wrapped[1:]]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_table()

    def _repr_html_(self) -> str:
        cells = "".join(
            f"<tr><th style='text-align:left'>{html.escape(label)}</th>"
            f"<td style='text-align:left'>{html.escape(value)}</td></tr>"
            for label, value in self.rows()
        )
        return f"<table>{cells}</table>"


def _gb(value: float) -> str:
    return f"{value:,.2f} GB" if value >= 0.1 else f"{value * 1000:,.1f} MB"


def plan_memory(
    name: str,
    *,
    gpu: str | None = None,
    dtype: str = "auto",
    load_in_8bit: bool = False,
    load_in_4bit: bool = False,
    batch_size: int = 1,
    sequence_length: int = 512,
) -> MemoryPlan:
    """Plan the memory of model ``name`` on a named GPU, or on this machine when ``gpu`` is None.

    ``dtype="auto"`` follows the GPU: bfloat16 where it has it, float16 on a T4 or V100.
    ``sequence_length`` (prompt plus new tokens) is capped at the model's context length.
    8-bit and 4-bit (``load_in_4bit``, planned for bitsandbytes' NF4) need a CUDA GPU; asking for
    either on a CPU, or for both, raises a one-line ``ValueError``.
    """
    spec = get_spec(name)
    if batch_size < 1 or sequence_length < 1:
        raise ValueError("batch_size and sequence_length must be positive integers")
    sequence_length = min(sequence_length, spec.context_length)
    target: GpuInfo | Hardware = get_gpu(gpu) if gpu is not None else detect_hardware()
    if load_in_8bit and load_in_4bit:
        raise ValueError("choose 8-bit or 4-bit, not both")
    bits = 8 if load_in_8bit else 4 if load_in_4bit else None
    if bits and target.device != "cuda":
        raise ValueError(
            f"{bits}-bit needs a CUDA GPU and none is here: plan for a named GPU (e.g. T4) or drop {bits}-bit"
        )
    torch_dtype = resolve_dtype(spec, target, dtype)
    nbytes = torch.empty((), dtype=torch_dtype).element_size()
    on_gpu = target.device != "cpu"
    estimate = estimate_memory(spec, nbytes, bits, sequence_length, batch_size, on_gpu)
    host_ram = host_ram_gb(spec, estimate.weights_gb, on_gpu)

    if isinstance(target, GpuInfo):
        device, memory_gb, ram_here = target.name, float(target.memory_gb), None
    else:
        device = target.name if on_gpu else f"CPU: {target.name}"
        memory_gb, ram_here = target.memory_gb, target.host_ram_gb
    where = f"the {device}" if on_gpu else "this machine's RAM"
    fits = estimate.total_gb <= memory_gb and (ram_here is None or host_ram <= ram_here)
    format_name = f"int{bits}" if bits else dtype_name(torch_dtype)
    settings = _Settings(spec, nbytes, bits, sequence_length, batch_size, on_gpu, memory_gb)
    advice = _advice(settings, estimate, format_name, where, host_ram, ram_here)
    return MemoryPlan(
        model_name=spec.name,
        device=device,
        device_type=target.device,
        device_memory_gb=memory_gb,
        dtype=format_name,
        batch_size=batch_size,
        sequence_length=sequence_length,
        weights_gb=estimate.weights_gb,
        kv_cache_gb=estimate.kv_cache_gb,
        overhead_gb=estimate.overhead_gb,
        total_gb=estimate.total_gb,
        host_ram_gb=host_ram,
        host_ram_available_gb=ram_here,
        fits=fits,
        advice=advice,
    )


@dataclass(frozen=True)
class _Settings:
    """The settings of one plan, so the advice can re-estimate variations of it."""

    spec: ModelSpec
    nbytes: int
    bits: int | None
    sequence_length: int
    batch_size: int
    on_gpu: bool
    memory_gb: float

    def total(
        self,
        spec: ModelSpec | None = None,
        bits: int | None = None,
        sequence_length: int | None = None,
    ) -> float:
        """Total GB of this plan with one setting changed."""
        return estimate_memory(
            spec or self.spec,
            self.nbytes,
            self.bits if bits is None else bits,
            sequence_length or self.sequence_length,
            self.batch_size,
            self.on_gpu,
        ).total_gb

    def max_tokens(self) -> int:
        """The longest sequence (prompt plus answer) whose KV cache still fits."""
        per_token = self.total(sequence_length=2) - self.total(sequence_length=1)
        spare = self.memory_gb - self.total(sequence_length=1)
        return max(0, min(self.spec.context_length, 1 + int(spare / per_token)))


def _advice(
    plan: _Settings,
    estimate: Estimate,
    format_name: str,
    where: str,
    host_ram: float,
    ram_here: float | None,
) -> str:
    """Say whether the plan fits, and name concrete ways out when it does not."""
    name, need = plan.spec.name, f"needs {_gb(estimate.total_gb)} of {_gb(plan.memory_gb)}"
    ram_note = f"loading it takes about {_gb(host_ram)} of host RAM"
    if ram_here is not None and host_ram > ram_here and estimate.total_gb <= plan.memory_gb:
        return (
            f"{name} in {format_name} {need}, but {ram_note} and this machine has "
            f"{_gb(ram_here)}: use a machine with more RAM or a smaller model."
        )
    if estimate.total_gb <= plan.memory_gb:
        advice = f"{name} fits {where} in {format_name}: it {need}; {ram_note}."
        if estimate.total_gb > 0.9 * plan.memory_gb:
            longest = plan.max_tokens()
            longest = longest // 100 * 100 if longest >= 200 else longest
            advice += f" It is tight: keep prompt plus answer under about {longest:,} tokens."
        return advice

    options = []
    short = plan.total(sequence_length=512)
    if plan.sequence_length > 512 and short <= plan.memory_gb:
        options.append(f"shorter sequences: at 512 tokens it needs {_gb(short)}")
    smaller = [get_spec(other) for other in DOLLY_MODELS]
    smaller = [other for other in smaller if other.n_params < plan.spec.n_params]
    fitting = [other for other in smaller if plan.total(spec=other) <= plan.memory_gb]
    if fitting:
        best = fitting[-1]
        options.append(f"{best.name}, which needs {_gb(plan.total(spec=best))} in {format_name}")
    if plan.on_gpu and not plan.bits:
        eight = plan.total(bits=8)
        verdict = "fits" if eight <= plan.memory_gb else "does not fit either"
        options.append(
            f"8-bit (load_model(..., load_in_8bit=True), needs bitsandbytes and a CUDA GPU): "
            f"{_gb(eight)}, {verdict}"
        )
    if plan.on_gpu:
        by_memory = sorted(list_gpus(), key=lambda gpu: gpu.memory_gb)
        bigger = [gpu for gpu in by_memory if gpu.memory_gb >= estimate.total_gb]
        if bigger:
            options.append(f"a GPU with more memory, such as the {bigger[0].name}")
        options.append(_OFFLOAD_NOTE)
    else:
        options.append("a machine with more RAM, or a CUDA GPU")
    verdict = f"{name} does not fit {where} in {format_name}: it {need}."
    return f"{verdict} Options: " + "; ".join(options) + "."


class ModelDoesNotFitError(RuntimeError):
    """The memory plan says the model does not fit this machine; the message carries its advice."""


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
