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
import json
import os
import platform
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import torch

from ..gpus import GpuInfo, decode_roofline_tokens_per_s
from ..models import DOLLY_MODELS, ModelSpec, get_spec
from .gpu_decode import (
    Runner,
    fixed_length_prompts,
    generate_runner,
    graph_loop_runner,
    measure_alternating,
    pipeline_runner,
)
from .gpu_io import (
    build_random_model,
    device_memory_gb,
    filesystem_of,
    free_memory,
    load_tokenizer,
    one_line,
    save_pickle,
    save_safetensors,
    timed,
    timed_load,
)
from .gpu_results import (
    BASELINE,
    COMPILED_VARIANTS,
    EAGER_ATTENTION,
    PIPELINE,
    BenchSettings,
    Budget,
    DecodeResult,
    ShapeResult,
    Variant,
    find_gpu,
    weights_gb,
)

NO_GPU_MESSAGE = "no CUDA GPU here: the GPU figures are pending; run this on a GPU machine"
NO_GPU_EXIT_CODE = 3
DEFAULT_JSON = Path("runs/gpu-benchmark.json")
DEFAULT_WORKDIR = Path("/tmp/dolly-bench")
#: The 12b target of the speed chapter: batch-1 decode at 75% of the roofline, twice the pipeline.
TARGET_FRACTION_OF_ROOFLINE = 0.75
TARGET_SPEEDUP_VS_PIPELINE = 2.0


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
            self.result.status, self.result.reason = "failed", one_line(error)
            print(f"  failed: {self.result.reason}", flush=True)
        finally:
            self._clean_up()
            self.result.seconds = time.perf_counter() - started
        for step in self.result.skipped_steps:
            print(f"  skipped {step}", flush=True)
        return self.result

    def _prepare(self) -> None:
        s, r = self.settings, self.result
        r.build_seconds, model = timed(
            s.device, lambda: build_random_model(self.spec, self.tokenizer, s.dtype, s.device)
        )
        r.save_seconds, r.saved_bytes = timed(
            s.device, lambda: save_safetensors(model, self.tokenizer, self.folder)
        )
        del model
        free_memory(s.device)
        memory_before = device_memory_gb(s.device)
        self.model, r.load = timed_load(self.folder, s.dtype, s.device, "safetensors")
        if memory_before is not None:
            r.device_memory_gb = device_memory_gb(s.device) - memory_before
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
        free_memory(self.settings.device)

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
        save_seconds, _ = timed(s.device, lambda: save_pickle(self.model, self.tokenizer, bin_folder))
        self.model = None
        free_memory(s.device)
        loads = {}
        for fmt, folder in (("bin", bin_folder), ("safetensors", self.folder)):
            model, loads[fmt] = timed_load(folder, s.dtype, s.device, fmt)
            del model
            free_memory(s.device)
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
        free_memory(self.settings.device)
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
        "workdir": {"path": str(settings.workdir), "filesystem": filesystem_of(settings.workdir)},
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
