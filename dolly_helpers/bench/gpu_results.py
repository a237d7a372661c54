"""The GPU benchmark's settings, results and arithmetic: what is measured and the roofline."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..gpus import GpuInfo, decode_roofline_tokens_per_s, get_gpu
from ..models import ModelSpec



# --- What is measured: settings and results ------------------------------------------------


@dataclass(frozen=True)
class BenchSettings:
    """One run's plan: which shapes, what workload, where to write, how long it may take."""

    shapes: tuple[ModelSpec, ...]
    device: str  # "cuda" or "cpu" (the smoke run)
    dtype: torch.dtype
    workdir: Path
    json_path: Path
    budget_seconds: float
    prompt_tokens: int = 128
    new_tokens: int = 128
    batch_sizes: tuple[int, ...] = (1, 8)
    rounds: int = 3
    bin_compare: tuple[str, ...] = ("dolly-v2-3b",)
    keep_weights: bool = False
    smoke: bool = False


@dataclass
class LoadResult:
    """One timed load from disk into the device, with the OS page cache emptied first."""

    format: str  # "safetensors" or "bin"
    bytes: int
    seconds: float
    read_gb_per_s: float
    page_cache: str  # "evicted" or "warm" (eviction refused, e.g. on a tmpfs)


@dataclass
class DecodeResult:
    """One variant's decode speed: medians of rounds run alternately with the others of its phase.

    ``decode_tokens_per_s`` leaves the prefill out: (batch x (new_tokens - 1)) / (median full
    run - median prefill-only run). ``end_to_end_tokens_per_s`` keeps it in.
    """

    variant: str
    phase: str
    batch_size: int
    prompt_tokens: int
    new_tokens: int
    full_seconds: list[float] = field(default_factory=list)
    prefill_seconds: list[float] = field(default_factory=list)
    warmup_seconds: float | None = None  # the first call: compiling and graph capture
    decode_tokens_per_s: float | None = None
    end_to_end_tokens_per_s: float | None = None
    fraction_of_roofline: float | None = None  # batch 1 only
    speedup_vs_pipeline: float | None = None  # against the pipeline of the same phase
    matches_baseline: float | None = None  # share of new tokens equal to the plain generate's
    graph_breaks: int | None = None  # torch.compile's, in this phase
    compiled_graphs: int | None = None  # graphs compiled in this phase: 1 per batch size is right
    cudagraph_skips: int | None = None  # times inductor fell back from CUDA graphs, in this phase
    error: str | None = None


@dataclass
class ShapeResult:
    """Everything measured on one Dolly shape."""

    name: str
    status: str  # "running", "measured", "skipped" or "failed"
    num_layers: int
    hidden_size: int
    num_heads: int
    intermediate_size: int
    vocab_size: int
    n_params: int
    dtype: str
    reason: str | None = None
    weights_gb: float | None = None
    device_memory_gb: float | None = None
    roofline_tokens_per_s: float | None = None
    build_seconds: float | None = None
    save_seconds: float | None = None
    saved_bytes: int | None = None
    load: LoadResult | None = None
    decode: list[DecodeResult] = field(default_factory=list)
    best_batch1: dict | None = None
    bin_vs_safetensors: dict | None = None
    skipped_steps: list[str] = field(default_factory=list)
    seconds: float | None = None


@dataclass(frozen=True)
class Variant:
    """One way of decoding: through ``generate`` with options, the pipeline, or our own loop."""

    name: str
    kind: str  # "generate", "pipeline" or "graph-loop"
    attention: str = "sdpa"
    cache: str = "dynamic"  # "dynamic" or "static"
    compile_mode: str | None = None  # None, "default" or "reduce-overhead"

    @property
    def compiled(self) -> bool:
        return self.compile_mode is not None


BASELINE = Variant("generate", "generate")
PIPELINE = Variant("pipeline", "pipeline")
EAGER_ATTENTION = Variant("generate-eager-attention", "generate", attention="eager")
COMPILED_VARIANTS = (
    Variant("generate-static-compile", "generate", cache="static", compile_mode="default"),
    Variant("generate-static-cudagraphs", "generate", cache="static", compile_mode="reduce-overhead"),
    Variant("graph-loop-static-cudagraphs", "graph-loop", cache="static", compile_mode="reduce-overhead"),
)


class Budget:
    """The run's time limit: past it, remaining shapes and optional steps are skipped."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.perf_counter):
        self.seconds = seconds
        self._clock = clock
        self._started = clock()

    def elapsed(self) -> float:
        return self._clock() - self._started

    def left(self) -> float:
        return self.seconds - self.elapsed()

    def allows(self, estimated_seconds: float = 0.0) -> bool:
        """Whether a step expected to take ``estimated_seconds`` still ends inside the budget."""
        return self.left() > estimated_seconds


# --- Arithmetic ------------------------------------------------------------------------------


def weights_gb(n_params: int, dtype: torch.dtype) -> float:
    """Bytes of weights in GB (1e9): what one batch-1 decode step reads from memory."""
    return n_params * _itemsize(dtype) / 1e9


def roofline_tokens_per_s(spec: ModelSpec, dtype: torch.dtype, gpu: GpuInfo | None) -> float | None:
    """The batch-1 decode bound for ``spec`` on ``gpu``: bandwidth / bytes of weights."""
    if gpu is None:
        return None
    return decode_roofline_tokens_per_s(weights_gb(spec.n_params, dtype), gpu)


def decode_rate(
    batch_size: int, new_tokens: int, full: Sequence[float], prefill: Sequence[float]
) -> float | None:
    """Decode tokens/s from medians: the tokens after the first, over the time after prefill."""
    if not full or not prefill or new_tokens < 2:
        return None
    decode_seconds = statistics.median(full) - statistics.median(prefill)
    return batch_size * (new_tokens - 1) / decode_seconds if decode_seconds > 0 else None


def find_gpu(device_name: str) -> GpuInfo | None:
    """The :mod:`dolly_helpers.gpus` entry of a CUDA device name, None if it is not listed."""
    try:
        return get_gpu(device_name)
    except ValueError:
        return None


def _itemsize(dtype: torch.dtype) -> int:
    return torch.empty((), dtype=dtype).element_size()

