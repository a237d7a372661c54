"""The GPU benchmark: how fast Dolly's three sizes load and decode, on random weights.

Real Dolly weights cannot be fetched on the GPU machine, so each size is built with the exact
dolly-v2-3b/7b/12b configuration and random weights, straight on the GPU in bfloat16, saved
once as safetensors, and measured: load time and read bandwidth, weights memory, decode tokens/s
at batch 1 and 8 against the bandwidth roofline (:mod:`dolly_helpers.gpus`), the plain
``pipeline("text-generation")`` run alternately with it, and each optimization tried (SDPA,
static KV cache with ``torch.compile``, CUDA graphs). Speed does not depend on the weights'
values, only on their shape and number format, so these figures hold for the real Dolly.

The JSON (``runs/gpu-benchmark.json``) is rewritten after every step, so a killed run keeps
what it finished. ``--cpu-smoke`` runs the same code on a CPU at tiny shapes, for the tests.
Run: ``python -m dolly_helpers.bench gpu``.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import os
import platform
import shutil
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import torch

from ..gpus import GpuInfo, decode_roofline_tokens_per_s, get_gpu
from ..models import DOLLY_MODELS, TINY_MODELS_DIR, ModelSpec, get_spec
from ..quiet import quiet

NO_GPU_MESSAGE = "no CUDA GPU here: the GPU figures are pending; run this on a GPU machine"
NO_GPU_EXIT_CODE = 3
DEFAULT_JSON = Path("runs/gpu-benchmark.json")
DEFAULT_WORKDIR = Path("/tmp/dolly-bench")
#: The tokenizer shipped with the book: Dolly's own cannot be downloaded on the GPU machine.
#: Only the pipeline's text handling uses it; every prompt is the same number of tokens.
TOKENIZER_DIR = TINY_MODELS_DIR / "tiny-dolly-large"
#: The 12b target of the speed chapter: batch-1 decode at 75% of the roofline, twice the pipeline.
TARGET_FRACTION_OF_ROOFLINE = 0.75
TARGET_SPEEDUP_VS_PIPELINE = 2.0


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


# --- Settings from the command line ----------------------------------------------------------


def smoke_spec(spec: ModelSpec) -> ModelSpec:
    """A 2-layer, 32-times-narrower copy of a Dolly shape (vocabulary kept) for the CPU smoke run."""
    hidden = spec.hidden_size // 32
    return dataclasses.replace(
        spec, name=f"{spec.name}-smoke", num_layers=2, hidden_size=hidden,
        num_heads=spec.num_heads // 16, intermediate_size=4 * hidden,
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m dolly_helpers.bench gpu",
        description="Load and decode benchmark of Dolly's three shapes on random weights.",
    )
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR,
                        help="scratch folder for the saved weights (default: %(default)s)")
    parser.add_argument("--json", type=Path, default=None,
                        help=f"where to write the results (default: {DEFAULT_JSON}; "
                             "with --cpu-smoke: <workdir>/gpu-benchmark-smoke.json)")
    parser.add_argument("--budget-seconds", type=float, default=540.0,
                        help="skip what is left after this many seconds (default: %(default)s)")
    parser.add_argument("--shapes", nargs="+", choices=DOLLY_MODELS, default=list(DOLLY_MODELS),
                        help="Dolly shapes to measure, in order (default: all three)")
    parser.add_argument("--prompt-tokens", type=int, default=None, help="default 128 (smoke: 16)")
    parser.add_argument("--new-tokens", type=int, default=None, help="default 128 (smoke: 8)")
    parser.add_argument("--rounds", type=int, default=None,
                        help="timed rounds per phase (default 3; smoke: 2)")
    parser.add_argument("--bin-compare", nargs="*", default=None,
                        help="shapes whose pytorch_model.bin load is timed too (default: dolly-v2-3b)")
    parser.add_argument("--keep-weights", action="store_true", help="keep the saved weights after a shape")
    parser.add_argument("--cpu-smoke", action="store_true",
                        help="run the same steps on the CPU with 2-layer shapes, in float32")
    return parser.parse_args(argv)


def settings_from(args: argparse.Namespace) -> BenchSettings:
    """Turn parsed arguments into settings; the smoke run scales everything down."""
    specs = tuple(get_spec(name) for name in args.shapes)
    smoke = args.cpu_smoke
    if smoke:
        specs = tuple(smoke_spec(spec) for spec in specs)
        device, dtype = "cpu", torch.float32
    else:
        device = "cuda"
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    bin_compare = args.bin_compare if args.bin_compare is not None else ["dolly-v2-3b"]
    if smoke:
        bin_compare = [f"{name}-smoke" for name in bin_compare]
    json_path = args.json or (args.workdir / "gpu-benchmark-smoke.json" if smoke else DEFAULT_JSON)
    return BenchSettings(
        shapes=specs, device=device, dtype=dtype, workdir=args.workdir, json_path=json_path,
        budget_seconds=args.budget_seconds,
        prompt_tokens=args.prompt_tokens or (16 if smoke else 128),
        new_tokens=args.new_tokens or (8 if smoke else 128),
        rounds=args.rounds or (2 if smoke else 3),
        bin_compare=tuple(bin_compare), keep_weights=args.keep_weights, smoke=smoke,
    )


# --- Device helpers --------------------------------------------------------------------------


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _timed(device: str, action: Callable[[], object]) -> tuple[float, object]:
    """Run ``action`` and return (seconds, its result), waiting for the device to finish."""
    _sync(device)
    started = time.perf_counter()
    result = action()
    _sync(device)
    return time.perf_counter() - started, result


def _free(device: str) -> None:
    """Return memory held by dropped models and compiled graphs."""
    gc.collect()
    if device.startswith("cuda"):
        torch.cuda.empty_cache()


def _device_memory_gb(device: str) -> float | None:
    return torch.cuda.memory_allocated() / 1e9 if device.startswith("cuda") else None


def _one_line(error: BaseException) -> str:
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
    return _filesystem(folder) != "tmpfs"


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
        seconds, model = _timed(device, load)
    size = _weight_bytes(folder)
    result = LoadResult(fmt, size, seconds, size / seconds / 1e9, "evicted" if evicted else "warm")
    return model.eval(), result


def read_every_page(model: torch.nn.Module) -> None:
    """Make a memory-mapped model read all its weights now: one element per 4 KiB page."""
    with torch.no_grad():
        for tensor in [*model.parameters(), *model.buffers()]:
            flat = tensor.detach().reshape(-1)
            flat[:: max(1, 4096 // flat.element_size())].sum()


def _filesystem(path: Path) -> str:
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


# --- The workload ----------------------------------------------------------------------------


def fixed_length_prompts(tokenizer, batch_size: int, length: int) -> list[str]:
    """``batch_size`` different prompts of exactly ``length`` tokens each.

    Built from words that are one token each (with their leading space), so both the pipeline
    (which tokenizes text) and ``generate`` (which takes ids) see the same ``length`` tokens.
    """
    words = _single_token_words(tokenizer)
    prompts = []
    for row in range(batch_size):
        chosen = [words[(row * 7 + i) % len(words)] for i in range(length)]
        prompts.append("".join(chosen))
    lengths = {len(tokenizer(p)["input_ids"]) for p in prompts}
    if lengths != {length}:
        raise RuntimeError(f"prompts came out {sorted(lengths)} tokens long, not {length}")
    return prompts


def _single_token_words(tokenizer) -> list[str]:
    """Words (with a leading space) that the tokenizer reads as exactly one token."""
    words = []
    for token in sorted(tokenizer.get_vocab()):
        text = tokenizer.convert_tokens_to_string([token])
        if text.startswith(" ") and text[1:].isascii() and text[1:].isalpha():
            if len(tokenizer(text)["input_ids"]) == 1:
                words.append(text)
    if len(words) < 8:
        raise RuntimeError("the tokenizer has too few one-token words to build prompts")
    return words


#: A runner generates ``max_new_tokens`` for the phase's batch and returns the new token ids
#: (or None where the API returns text only).
Runner = Callable[[int], "torch.Tensor | None"]


def generate_runner(model, inputs: dict, variant: Variant, smoke: bool) -> Runner:
    """Run ``model.generate`` greedily for a fixed number of tokens (end tokens ignored)."""
    options: dict = {}
    if variant.cache == "static":
        options["cache_implementation"] = "static"
    if variant.compiled:
        options["compile_config"] = _compile_config(variant.compile_mode, smoke)
    prompt_length = inputs["input_ids"].shape[1]

    def run(max_new_tokens: int) -> torch.Tensor:
        previous = _set_attention(model, variant.attention)
        try:
            with quiet(), torch.no_grad():
                output = model.generate(
                    **inputs, max_new_tokens=max_new_tokens, min_new_tokens=max_new_tokens,
                    do_sample=False, **options,
                )
        finally:
            _set_attention(model, previous)
        return output[:, prompt_length:]

    return run


def _compile_config(mode: str | None, smoke: bool):
    """transformers' auto-compile settings: inductor on a GPU; dynamo alone in the smoke run."""
    from transformers import CompileConfig

    if smoke:  # the CPU smoke run checks the plumbing, not inductor's C++ build
        config = CompileConfig(backend="eager", mode=None, dynamic=False)
        config._compile_all_devices = True
        return config
    return CompileConfig(mode=mode, dynamic=False)


def _set_attention(model, implementation: str) -> str:
    """Switch the attention kernel (sdpa, eager) in place; return the previous one."""
    previous = model.config._attn_implementation
    if previous != implementation:
        model.set_attn_implementation(implementation)
    return previous


def pipeline_runner(model, tokenizer, prompts: list[str]) -> Runner:
    """The plain ``pipeline("text-generation")`` a reader would start with, same workload."""
    from transformers import pipeline

    with quiet():
        generator = pipeline("text-generation", model=model, tokenizer=tokenizer)

    def run(max_new_tokens: int) -> None:
        with quiet():
            generator(
                prompts, max_new_tokens=max_new_tokens, min_new_tokens=max_new_tokens,
                do_sample=False, batch_size=len(prompts), return_full_text=False,
            )
        return None

    return run


class GraphLoop:
    """Our own greedy decode loop: a static KV cache and one compiled step per token.

    The step (forward pass and argmax) is compiled with ``mode="reduce-overhead"``, so each
    token is one CUDA-graph replay: no Python between kernels, no sync until the end.
    """

    def __init__(self, model, max_length: int, smoke: bool):
        import inspect

        from transformers import StaticCache

        self.model = model
        self.cache = StaticCache(config=model.config, max_cache_len=max_length)
        parameters = inspect.signature(model.forward).parameters
        self.cache_argument = "cache" if "cache" in parameters else "past_key_values"  # 5.2x renamed it
        config = _compile_config("reduce-overhead", smoke)
        options = {"backend": config.backend, "dynamic": False, "fullgraph": True}
        if config.mode is not None:
            options["mode"] = config.mode
        self.step = torch.compile(self._step, **options)

    def _forward(self, input_ids: torch.Tensor, position_ids: torch.Tensor | None) -> torch.Tensor:
        output = self.model(
            input_ids=input_ids, position_ids=position_ids, use_cache=True, logits_to_keep=1,
            **{self.cache_argument: self.cache},
        )
        return output.logits[:, -1].argmax(dim=-1, keepdim=True)

    def _step(self, token: torch.Tensor, position_ids: torch.Tensor) -> torch.Tensor:
        return self._forward(token, position_ids)

    def __call__(self, input_ids: torch.Tensor, max_new_tokens: int) -> torch.Tensor:
        batch, prompt_length = input_ids.shape
        new = torch.empty(batch, max_new_tokens, dtype=torch.long, device=input_ids.device)
        with quiet(), torch.no_grad():
            self.cache.reset()
            token = self._forward(input_ids, None)  # prefill, not compiled
            new[:, :1] = token
            position = torch.full((1, 1), prompt_length, dtype=torch.long, device=input_ids.device)
            for i in range(1, max_new_tokens):
                _mark_cudagraph_step()
                token.copy_(self.step(token, position))
                new[:, i : i + 1] = token
                position.add_(1)
        return new


def _mark_cudagraph_step() -> None:
    marker = getattr(torch.compiler, "cudagraph_mark_step_begin", None)
    if marker is not None:
        marker()


def graph_loop_runner(model, inputs: dict, max_length: int, smoke: bool) -> Runner:
    loop = GraphLoop(model, max_length, smoke)
    return lambda max_new_tokens: loop(inputs["input_ids"], max_new_tokens)


# --- Measuring -------------------------------------------------------------------------------


def _compile_counts() -> tuple[int, int, int] | None:
    """(graph breaks, graphs compiled, CUDA-graph fallbacks) so far, from torch's counters."""
    try:
        from torch._dynamo.utils import counters
    except ImportError:
        return None
    return (sum(counters["graph_break"].values()), counters["stats"]["unique_graphs"],
            counters["inductor"]["cudagraph_skips"])


def measure_alternating(
    runners: dict[str, Runner],
    settings: BenchSettings,
    batch_size: int,
    phase: str,
    baseline_tokens: torch.Tensor | None = None,
) -> tuple[list[DecodeResult], dict[str, torch.Tensor | None]]:
    """Warm each runner up, then time them in turns, ``rounds`` times; medians decide.

    Each round runs every variant twice: the full ``new_tokens`` and a prefill-only run (one
    new token), whose difference is the decode time. Returns the results and each variant's
    last new tokens. A variant that fails is recorded with its error; the others go on.
    """
    results = {
        name: DecodeResult(name, phase, batch_size, settings.prompt_tokens, settings.new_tokens)
        for name in runners
    }
    counts_before = _compile_counts()
    working = {name: run for name, run in runners.items() if _warm_up(run, results[name], settings)}
    last_tokens: dict[str, torch.Tensor | None] = {}
    for _ in range(settings.rounds):
        for name, run in list(working.items()):
            try:
                seconds, tokens = _timed(settings.device, lambda: run(settings.new_tokens))
                prefill_seconds, _ = _timed(settings.device, lambda: run(1))
            except Exception as error:
                results[name].error = _one_line(error)
                del working[name]
                continue
            results[name].full_seconds.append(seconds)
            results[name].prefill_seconds.append(prefill_seconds)
            last_tokens[name] = tokens
    counts_after = _compile_counts()
    for name, result in results.items():
        if counts_before is not None and counts_after is not None:
            result.graph_breaks, result.compiled_graphs, result.cudagraph_skips = (
                after - before for after, before in zip(counts_after, counts_before)
            )
        _summarize(result, last_tokens.get(name), baseline_tokens)
    _add_speedups(list(results.values()))
    return list(results.values()), last_tokens


def _warm_up(run: Runner, result: DecodeResult, settings: BenchSettings) -> bool:
    """First calls (compiling, capturing graphs, sizing caches); False if the variant fails."""
    try:
        result.warmup_seconds, _ = _timed(settings.device, lambda: run(settings.new_tokens))
        run(1)  # sizes a static cache for both lengths
    except Exception as error:
        result.error = _one_line(error)
        return False
    return True


def _summarize(result: DecodeResult, tokens: torch.Tensor | None, baseline: torch.Tensor | None) -> None:
    if result.error is not None or not result.full_seconds:
        return
    result.decode_tokens_per_s = decode_rate(
        result.batch_size, result.new_tokens, result.full_seconds, result.prefill_seconds
    )
    full_median = statistics.median(result.full_seconds)
    result.end_to_end_tokens_per_s = result.batch_size * result.new_tokens / full_median
    if tokens is not None:
        expected = (result.batch_size, result.new_tokens)
        if tuple(tokens.shape) != expected:
            result.error = f"generated {tuple(tokens.shape)} tokens, expected {expected}"
        elif baseline is not None:
            result.matches_baseline = float((tokens == baseline).float().mean())


def _add_speedups(results: list[DecodeResult]) -> None:
    pipeline = next((r for r in results if r.variant == PIPELINE.name), None)
    if pipeline is None or not pipeline.decode_tokens_per_s:
        return
    for result in results:
        if result is not pipeline and result.decode_tokens_per_s:
            result.speedup_vs_pipeline = result.decode_tokens_per_s / pipeline.decode_tokens_per_s


# --- One shape, step by step -----------------------------------------------------------------


@dataclass
class RunState:
    """What one shape passes on to the next: the variant that won, and how long compiling took."""

    chosen: Variant | None = None
    chosen_on: str | None = None
    compile_seconds: list[float] = field(default_factory=list)

    def compile_estimate(self, smoke: bool) -> float:
        """Seconds one compiled variant's warm-up should take: the slowest seen, else a guess."""
        return max(self.compile_seconds, default=5.0 if smoke else 60.0)


def shape_weight(spec: ModelSpec, dtype: torch.dtype) -> float:
    """A shape's expected share of the run: its GB of weights plus 10 for the fixed costs."""
    return weights_gb(spec.n_params, dtype) + 10.0


class ShapeRun:
    """Measure one shape: build, save, load, then the decode phases the budget allows.

    Essential steps run while the whole budget lasts: the load, batch 1 plain, eager attention
    and compiled variants, batch 8 plain, and the .bin comparison where asked. The optional
    step, batch 8 compiled, must also end by this shape's deadline (its fair share of what is
    left), so that the larger shapes after it still get their essential steps.
    """

    def __init__(self, spec: ModelSpec, settings: BenchSettings, budget: Budget, gpu: GpuInfo | None,
                 tokenizer, state: RunState, deadline: float, on_step: Callable[[], None]):
        self.spec, self.settings, self.budget, self.gpu = spec, settings, budget, gpu
        self.tokenizer, self.state, self.deadline, self.on_step = tokenizer, state, deadline, on_step
        self.folder = settings.workdir / spec.name
        self.model = None
        self.baseline_tokens: dict[int, torch.Tensor] = {}
        self.result = _shape_result(spec, settings, "running")

    def run(self) -> ShapeResult:
        started = time.perf_counter()
        try:
            self._prepare()
            self._batch_phases(1, explore=self.state.chosen is None)
            self._batch_phases(8, explore=False)
            self._compare_bin()
            self.result.status = "measured"
        except Exception as error:  # keep going past a failed shape
            self.result.status, self.result.reason = "failed", _one_line(error)
            print(f"  failed: {self.result.reason}", flush=True)
        finally:
            self._clean_up()
            self.result.seconds = time.perf_counter() - started
        for step in self.result.skipped_steps:
            print(f"  skipped {step}", flush=True)
        return self.result

    def _prepare(self) -> None:
        s, r = self.settings, self.result
        r.build_seconds, model = _timed(
            s.device, lambda: build_random_model(self.spec, self.tokenizer, s.dtype, s.device)
        )
        r.save_seconds, r.saved_bytes = _timed(
            s.device, lambda: save_safetensors(model, self.tokenizer, self.folder)
        )
        del model
        _free(s.device)
        memory_before = _device_memory_gb(s.device)
        self.model, r.load = timed_load(self.folder, s.dtype, s.device, "safetensors")
        if memory_before is not None:
            r.device_memory_gb = _device_memory_gb(s.device) - memory_before
        r.weights_gb = weights_gb(sum(p.numel() for p in self.model.parameters()), s.dtype)
        if self.gpu is not None:
            r.roofline_tokens_per_s = decode_roofline_tokens_per_s(r.weights_gb, self.gpu)
        print(f"  built in {r.build_seconds:.1f} s, saved {r.saved_bytes / 1e9:.2f} GB in "
              f"{r.save_seconds:.1f} s, loaded in {r.load.seconds:.1f} s "
              f"({r.load.read_gb_per_s:.2f} GB/s, page cache {r.load.page_cache})", flush=True)
        self.on_step()

    def _batch_phases(self, batch_size: int, explore: bool) -> None:
        """Plain generate against the pipeline, then the compiled variants against the pipeline."""
        if batch_size not in self.settings.batch_sizes:
            return
        if not self.budget.allows():
            self.result.skipped_steps.append(f"batch {batch_size}: budget spent")
            return
        s = self.settings
        prompts, inputs = self._inputs(batch_size)
        pipe = pipeline_runner(self.model, self.tokenizer, prompts)
        base = generate_runner(self.model, inputs, BASELINE, s.smoke)
        results, tokens = measure_alternating(
            {BASELINE.name: base, PIPELINE.name: pipe}, s, batch_size, f"batch{batch_size}-plain"
        )
        if tokens.get(BASELINE.name) is not None:
            self.baseline_tokens[batch_size] = tokens[BASELINE.name]
        self._record(results)
        if explore:  # SDPA (the default) against the eager attention it replaced
            self._uncompiled_phase(batch_size, EAGER_ATTENTION, inputs)
        compiled = list(COMPILED_VARIANTS) if explore else [self.state.chosen] if self.state.chosen else []
        for variant in compiled:
            if not variant.compiled:
                continue
            if not self._fits(self._estimate(variant), optional=batch_size != 1):
                self.result.skipped_steps.append(f"batch {batch_size} {variant.name}: budget")
                continue
            self._compiled_phase(batch_size, variant, inputs, pipe)
        if batch_size == 1:
            self._choose_best()

    def _compiled_phase(self, batch_size: int, variant: Variant, inputs: dict, pipe: Runner) -> None:
        s = self.settings
        self._reset_compiled()
        runner = self._runner(variant, inputs)
        results, _ = measure_alternating(
            {variant.name: runner, PIPELINE.name: pipe}, s, batch_size,
            f"batch{batch_size}-{variant.name}", self.baseline_tokens.get(batch_size),
        )
        measured = results[0]
        if measured.error is None and measured.warmup_seconds is not None:
            self.state.compile_seconds.append(measured.warmup_seconds)
        self._record(results)
        self._reset_compiled()

    def _uncompiled_phase(self, batch_size: int, variant: Variant, inputs: dict) -> None:
        """An uncompiled variant (eager attention), timed against plain generate."""
        if not self._fits(self._estimate(variant), optional=False):
            self.result.skipped_steps.append(f"batch {batch_size} {variant.name}: budget")
            return
        runners = {BASELINE.name: generate_runner(self.model, inputs, BASELINE, self.settings.smoke),
                   variant.name: generate_runner(self.model, inputs, variant, self.settings.smoke)}
        results, _ = measure_alternating(
            runners, self.settings, batch_size, f"batch{batch_size}-{variant.name}",
            self.baseline_tokens.get(batch_size),
        )
        self._record(results)

    def _fits(self, estimate: float, optional: bool) -> bool:
        if not self.budget.allows(estimate):
            return False
        return not optional or self.budget.elapsed() + estimate <= self.deadline

    def _estimate(self, variant: Variant) -> float:
        """Seconds a phase should take: a compile (if any) plus the slowest phase so far."""
        phases: dict[str, float] = {}
        for r in self.result.decode:
            phases[r.phase] = phases.get(r.phase, 0.0) + sum(r.full_seconds) + sum(r.prefill_seconds)
        compile_seconds = self.state.compile_estimate(self.settings.smoke) if variant.compiled else 0.0
        return compile_seconds + max(phases.values(), default=0.0)

    def _inputs(self, batch_size: int) -> tuple[list[str], dict]:
        prompts = fixed_length_prompts(self.tokenizer, batch_size, self.settings.prompt_tokens)
        inputs = self.tokenizer(prompts, return_tensors="pt", padding=True).to(self.settings.device)
        return prompts, dict(inputs)

    def _runner(self, variant: Variant, inputs: dict) -> Runner:
        s = self.settings
        if variant.kind == "graph-loop":
            return graph_loop_runner(self.model, inputs, s.prompt_tokens + s.new_tokens, s.smoke)
        return generate_runner(self.model, inputs, variant, s.smoke)

    def _reset_compiled(self) -> None:
        """Forget compiled graphs, so variants never share (or evict) each other's."""
        if hasattr(self.model, "_compiled_call"):
            del self.model._compiled_call
        torch._dynamo.reset()
        _free(self.settings.device)

    def _record(self, results: list[DecodeResult]) -> None:
        roofline = self.result.roofline_tokens_per_s
        for result in results:
            if result.batch_size == 1 and result.decode_tokens_per_s and roofline:
                result.fraction_of_roofline = result.decode_tokens_per_s / roofline
        self.result.decode.extend(results)
        print(f"  {results[0].phase}: " + ", ".join(_describe(r) for r in results), flush=True)
        self.on_step()

    def _choose_best(self) -> None:
        """Pick the fastest batch-1 variant; the first shape's choice is kept for the others."""
        candidates = [r for r in self.result.decode
                      if r.batch_size == 1 and r.variant != PIPELINE.name and r.decode_tokens_per_s]
        if not candidates:
            return
        best = max(candidates, key=lambda r: r.decode_tokens_per_s)
        self.result.best_batch1 = {
            "variant": best.variant,
            "decode_tokens_per_s": best.decode_tokens_per_s,
            "fraction_of_roofline": best.fraction_of_roofline,
            "speedup_vs_pipeline": best.speedup_vs_pipeline,
            "meets_target": _meets_target(best),
        }
        if self.state.chosen is None:
            by_name = {v.name: v for v in (BASELINE, *COMPILED_VARIANTS)}
            self.state.chosen = by_name.get(best.variant, BASELINE)
            self.state.chosen_on = self.spec.name

    def _compare_bin(self) -> None:
        """Time loading Dolly's published format (one pickle) against the safetensors copy."""
        s = self.settings
        if self.spec.name not in s.bin_compare:
            return
        estimate = 3 * self.result.load.seconds + (self.result.save_seconds or 0.0)
        if not self.budget.allows(estimate):
            self.result.skipped_steps.append("bin vs safetensors: budget")
            return
        bin_folder = self.folder.with_name(self.folder.name + "-bin")
        save_seconds, _ = _timed(s.device, lambda: save_pickle(self.model, self.tokenizer, bin_folder))
        self.model = None
        _free(s.device)
        loads = {}
        for fmt, folder in (("bin", bin_folder), ("safetensors", self.folder)):
            model, loads[fmt] = timed_load(folder, s.dtype, s.device, fmt)
            del model
            _free(s.device)
        self.result.bin_vs_safetensors = {
            "bin": loads["bin"], "safetensors": loads["safetensors"],
            "bin_save_seconds": save_seconds,
            "speedup": loads["bin"].seconds / loads["safetensors"].seconds,
        }
        print(f"  pytorch_model.bin loads in {loads['bin'].seconds:.2f} s, safetensors in "
              f"{loads['safetensors'].seconds:.2f} s", flush=True)
        self.on_step()

    def _clean_up(self) -> None:
        self.model = None
        torch._dynamo.reset()
        _free(self.settings.device)
        if not self.settings.keep_weights:
            shutil.rmtree(self.folder, ignore_errors=True)
            shutil.rmtree(self.folder.with_name(self.folder.name + "-bin"), ignore_errors=True)


def _describe(result: DecodeResult) -> str:
    """"generate 41.3 tokens/s" or "generate failed: ...", for the progress lines."""
    if result.error is not None:
        return f"{result.variant} failed: {result.error}"
    return f"{result.variant} {_num(result.decode_tokens_per_s, 1)} tokens/s"


def _meets_target(result: DecodeResult) -> bool | None:
    if result.fraction_of_roofline is None or result.speedup_vs_pipeline is None:
        return None
    return (result.fraction_of_roofline >= TARGET_FRACTION_OF_ROOFLINE
            and result.speedup_vs_pipeline >= TARGET_SPEEDUP_VS_PIPELINE)


def _shape_result(
    spec: ModelSpec, settings: BenchSettings, status: str, reason: str | None = None
) -> ShapeResult:
    return ShapeResult(
        name=spec.name, status=status, reason=reason, num_layers=spec.num_layers,
        hidden_size=spec.hidden_size, num_heads=spec.num_heads,
        intermediate_size=spec.intermediate_size, vocab_size=spec.vocab_size,
        n_params=spec.n_params, dtype=str(settings.dtype).removeprefix("torch."),
    )


# --- The whole run ---------------------------------------------------------------------------


def device_name(settings: BenchSettings) -> str:
    if settings.device.startswith("cuda"):
        return torch.cuda.get_device_name(0)
    return f"CPU ({platform.machine()}), smoke run"


def report_header(settings: BenchSettings, name: str, gpu: GpuInfo | None) -> dict:
    """The JSON's first fields: where and with what the numbers were made."""
    import transformers

    return {
        "title": f"measured on {name}, random weights of the exact shape",
        "device": name,
        "gpu_table_entry": dataclasses.asdict(gpu) if gpu else None,
        "roofline": "batch-1 decode tokens/s <= memory bandwidth / bytes of weights",
        "versions": {
            "python": platform.python_version(), "torch": torch.__version__,
            "transformers": transformers.__version__, "cuda": torch.version.cuda,
        },
        "settings": {
            "dtype": str(settings.dtype).removeprefix("torch."), "prompt_tokens": settings.prompt_tokens,
            "new_tokens": settings.new_tokens, "batch_sizes": list(settings.batch_sizes),
            "rounds": settings.rounds, "decoding": "greedy, end tokens ignored (fixed length)",
            "tokenizer": "the book's tiny-dolly-large tokenizer (Dolly's cannot be downloaded)",
            "budget_seconds": settings.budget_seconds, "smoke": settings.smoke,
        },
        "workdir": {"path": str(settings.workdir), "filesystem": _filesystem(settings.workdir)},
        "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "targets": {"shape": "dolly-v2-12b", "batch": 1,
                    "fraction_of_roofline": TARGET_FRACTION_OF_ROOFLINE,
                    "speedup_vs_pipeline": TARGET_SPEEDUP_VS_PIPELINE},
    }


def write_report(path: Path, report: dict) -> None:
    """Write the JSON atomically: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(_jsonable(report), indent=2) + "\n")
    os.replace(partial, path)


def _jsonable(value):
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _jsonable(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if isinstance(value, float):
        return float(f"{value:.6g}")
    if isinstance(value, (torch.dtype, Path)):
        return str(value)
    return value


def run_benchmark(settings: BenchSettings, budget: Budget | None = None) -> dict:
    """Measure every shape in order, rewriting the JSON after each step; return the report."""
    budget = budget or Budget(settings.budget_seconds)
    name = device_name(settings)
    gpu = find_gpu(name) if settings.device.startswith("cuda") else None
    report = report_header(settings, name, gpu)
    report["shapes"] = shapes = []
    state = RunState()

    def save() -> None:
        report["elapsed_seconds"] = budget.elapsed()
        report["chosen_variant"] = state.chosen.name if state.chosen else None
        report["chosen_on"] = state.chosen_on
        write_report(settings.json_path, report)

    settings.workdir.mkdir(parents=True, exist_ok=True)
    tokenizer = load_tokenizer()
    for index, spec in enumerate(settings.shapes):
        if not budget.allows():
            reason = f"budget of {settings.budget_seconds:.0f} s spent"
            shapes.append(_shape_result(spec, settings, "skipped", reason))
            print(f"{spec.name}: skipped, {reason}", flush=True)
            save()
            continue
        print(f"{spec.name}: measuring ({budget.elapsed():.0f} s elapsed)", flush=True)
        deadline = _deadline(settings, budget, settings.shapes[index:])
        shape_run = ShapeRun(spec, settings, budget, gpu, tokenizer, state, deadline, save)
        shapes.append(shape_run.result)
        shape_run.run()
        save()
    return report


def _deadline(settings: BenchSettings, budget: Budget, remaining: Sequence[ModelSpec]) -> float:
    """When this shape's optional steps must end: its weighted share of the time left."""
    weights = [shape_weight(spec, settings.dtype) for spec in remaining]
    return budget.elapsed() + budget.left() * weights[0] / sum(weights)


def format_summary(report: dict) -> str:
    """A short table of the headline numbers, printed last."""
    lines = [report["title"],
             "decode tokens/s; b1 = batch 1, b8 = batch 8 (all sequences together); "
             "x pipe = against the pipeline timed alternately with the best variant",
             f"{'shape':<22}{'status':<10}{'load s':>8}{'GB/s':>7}{'weights GB':>12}{'roofline':>10}"
             f"{'b1 pipe':>9}{'b1 best':>9}{'of roof':>9}{'x pipe':>8}{'b8 pipe':>9}{'b8 best':>9}"
             "  b1 best variant"]
    for shape in report["shapes"]:
        shape = _jsonable(shape)
        load = shape.get("load") or {}
        best = shape.get("best_batch1") or {}
        lines.append(
            f"{shape['name']:<22}{shape['status']:<10}{_num(load.get('seconds'), 1):>8}"
            f"{_num(load.get('read_gb_per_s'), 2):>7}{_num(shape.get('weights_gb'), 2):>12}"
            f"{_num(shape.get('roofline_tokens_per_s'), 1):>10}{_num(_fastest(shape, 1, True), 1):>9}"
            f"{_num(best.get('decode_tokens_per_s'), 1):>9}{_pct(best.get('fraction_of_roofline')):>9}"
            f"{_num(best.get('speedup_vs_pipeline'), 2):>8}{_num(_fastest(shape, 8, True), 1):>9}"
            f"{_num(_fastest(shape, 8, False), 1):>9}  {best.get('variant', shape.get('reason') or '-')}"
        )
    return "\n".join(lines)


def _fastest(shape: dict, batch_size: int, pipeline: bool) -> float | None:
    """The best decode tokens/s of the pipeline (or of every other variant) at a batch size."""
    rates = [d["decode_tokens_per_s"] for d in shape.get("decode", [])
             if d["batch_size"] == batch_size and (d["variant"] == PIPELINE.name) == pipeline
             and d["decode_tokens_per_s"]]
    return max(rates, default=None)


def _num(value, digits: int) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _pct(value) -> str:
    return "-" if value is None else f"{value:.0%}"


def main(argv: list[str] | None = None) -> int:
    """``python -m dolly_helpers.bench gpu``: 0 when every shape ran or was skipped, 1 on a failure,
    3 without a CUDA GPU (unless ``--cpu-smoke``)."""
    args = parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # every file is local: never wait on the Hub
    if not args.cpu_smoke and not torch.cuda.is_available():
        print(NO_GPU_MESSAGE, file=sys.stderr)
        return NO_GPU_EXIT_CODE
    settings = settings_from(args)
    threads = torch.get_num_threads()
    if settings.smoke:
        torch.set_num_threads(1)  # steadier on a shared CPU; the smoke run checks code, not speed
    try:
        report = run_benchmark(settings)
    finally:
        torch.set_num_threads(threads)
    print(format_summary(report))
    print(f"wrote {settings.json_path}")
    failed = [shape for shape in report["shapes"] if _jsonable(shape)["status"] == "failed"]
    for shape in failed:
        print(f"{shape.name} failed: {shape.reason}", file=sys.stderr)
    return 1 if failed else 0
