"""The GPU benchmark: Dolly's three sizes, loaded and answered each way the book teaches.

Real Dolly weights cannot be fetched on the GPU machine, so each size is built with the exact
dolly-v2-3b/7b/12b configuration and random weights, on the GPU in bfloat16 (speed depends on
shapes and number format, not on values), saved as safetensors, dropped from the page cache and
loaded back. Then it climbs the CPU benchmark's ladder (:mod:`.gpu_ladder`): eight Dolly prompts,
greedy, every answer ``--new-tokens`` long, answered by (1) ``dolly_pipeline``, Dolly's pipeline,
one prompt per call, the baseline of every speedup; (2) ``stock_pipeline``, the stock
``pipeline("text-generation")``, one per call; (3) ``generate_one``, the batch-1 decode
set beside the bandwidth roofline (:func:`dolly_helpers.gpus.decode_roofline_tokens_per_s`);
(4) ``generate_batched``, all eight in one call; (5) ``static_cache_compiled``, with
``cache_implementation="static"`` and a ``CompileConfig``, so generate compiles its decoding step
with CUDA graphs; (6) ``ctranslate2_direct``, where CTranslate2 is installed and sees a GPU.

Rungs 2 and 3 claim rung 1's answers exactly. Rungs 4 to 6 run other kernels, which round
bfloat16 differently, and random weights leave the top tokens close, so on the GPU they count
the answers that agree without claiming it; in float32 (the smoke run) they claim it too.
Tokens/s count the new tokens of whole calls, each prompt's one forward pass included. Timing is
``torch.utils.benchmark.Timer.blocked_autorange`` (median), peak memory ``max_memory_allocated``.

The JSON (``runs/gpu-benchmark.json``) is rewritten after every step; a rerun keeps the sizes
measured before with the same settings on the same device (``--force`` redoes them). Top level:
``title``, ``device``, ``gpu_table_entry``, ``versions``, ``settings``, ``timing``, ``workdir``,
``started_at``, ``elapsed_seconds`` and ``shapes``, one :class:`SizeResult` per size, with its
``rungs`` (:class:`.gpu_ladder.RungResult`). Chapter 5 reads ``title`` and each shape's ``name``,
``status``, ``weights_gb``, ``load`` (``seconds``, ``read_gb_per_s``), ``roofline_tokens_per_s``
and ``best_batch1`` (``variant``, ``decode_tokens_per_s``, ``fraction_of_roofline``,
``speedup_vs_pipeline``: the fastest one-prompt rung, against Dolly's pipeline).

Time on an H200, from each step's expected cost (eager generate about 12 ms a token at batch 1,
bound by Python, not memory, so each one-prompt rung takes two calls of 8 x 64 tokens, about 12 s;
compiling 40 to 90 s a size; saving and loading 5.7, 13.8 and 23.7 GB at 1 to 2 GB/s): about
120 s for 3b, 140 s for 7b and 180 s for 12b, with start-up about 460 s. CTranslate2, where it
runs, adds a float32 conversion per size (a minute or more; 12b's needs about 55 GB of free disk).
``--budget-seconds`` (540) skips a compile or CTranslate2 rung that would not leave each later
size its essential steps and its compile rung, and a size that cannot fit. ``--cpu-smoke`` runs
the same code on the CPU at 2-layer shapes in float32, in seconds.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM

from ..cli import CommandLineError
from ..gpus import GpuInfo, decode_roofline_tokens_per_s, get_gpu
from ..models import DOLLY_MODELS, ModelSpec, get_spec
from ..quiet import quiet
from . import gpu_ladder as ladder
from .gpu_ladder import BATCH_SIZE, RungResult, one_line

DEFAULT_JSON = Path("runs/gpu-benchmark.json")
INSTRUCTIONS = [f"Describe item number {i} in a few words." for i in range(BATCH_SIZE)]
COMPILE_RUNG, CTRANSLATE2_RUNG = "static_cache_compiled", "ctranslate2_direct"
NO_GPU = "error: no CUDA GPU here: the GPU figures are pending (run this on a GPU machine, or pass --cpu-smoke)"


@dataclass(frozen=True)
class Settings:
    """One run's plan, from the command line."""

    models: tuple[ModelSpec, ...]
    new_tokens: int
    min_run_time: float
    budget_seconds: float
    workdir: Path
    json_path: Path
    force: bool
    smoke: bool
    device: str  # "cuda", or "cpu" in the smoke run, in float32
    dtype: torch.dtype

    def workload(self) -> dict:
        """What the figures depend on: a rerun resumes only when this is unchanged."""
        return {"dtype": str(self.dtype).removeprefix("torch."), "new_tokens": self.new_tokens,
                "instructions": INSTRUCTIONS, "decoding": "greedy, fixed length", "smoke": self.smoke,
                "tokenizer": "tiny-dolly-large's, with placeholders up to Dolly's vocabulary size"}


@dataclass
class SizeResult:
    """Everything measured on one Dolly size."""

    name: str
    n_params: int
    config: dict  # num_layers, hidden_size, num_heads, intermediate_size, vocab_size
    status: str = "running"  # then measured, failed or skipped
    reason: str | None = None
    weights_gb: float | None = None
    device_memory_gb: float | None = None  # what loading added to torch.cuda.memory_allocated
    roofline_tokens_per_s: float | None = None
    build_seconds: float | None = None
    save_seconds: float | None = None  # safetensors written and flushed to the disk
    load: dict | None = None
    rungs: list[RungResult] = field(default_factory=list)
    best_batch1: dict | None = None
    seconds: float | None = None


def smoke_spec(spec: ModelSpec) -> ModelSpec:
    """A 2-layer, 32-times-narrower copy of a Dolly shape (vocabulary kept), for the smoke run."""
    hidden = spec.hidden_size // 32
    return dataclasses.replace(spec, name=f"{spec.name}-smoke", num_layers=2, hidden_size=hidden,
                               num_heads=spec.num_heads // 16, intermediate_size=4 * hidden)


def free_memory() -> None:
    """Wait for the device, then give back what dropped models and compiled graphs held."""
    torch.compiler.reset()
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
        torch.cuda.empty_cache()


def report_header(settings: Settings, gpu: GpuInfo | None) -> dict:
    """The JSON's first fields: where and with what the figures were made."""
    import transformers

    device = f"CPU ({platform.machine()}), smoke run" if settings.smoke else torch.cuda.get_device_name(0)
    filesystem = subprocess.run(["stat", "-f", "-c", "%T", str(settings.workdir)], capture_output=True, text=True)
    return {
        "title": f"measured on {device}, random weights of the exact shape", "device": device,
        "gpu_table_entry": dataclasses.asdict(gpu) if gpu else None,
        "versions": {"python": platform.python_version(), "torch": torch.__version__,
                     "transformers": transformers.__version__, "cuda": torch.version.cuda},
        "settings": settings.workload(),
        "timing": {"timer": "torch.utils.benchmark.Timer.blocked_autorange, median",
                   "min_run_time": settings.min_run_time, "budget_seconds": settings.budget_seconds},
        "workdir": {"path": str(settings.workdir), "filesystem": filesystem.stdout.strip() or "unknown"},
        "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def as_json(report: dict) -> str:
    """The report as JSON text, its dataclasses as objects."""
    return json.dumps(report, indent=2, default=dataclasses.asdict)


def weights_gb(specs: Sequence[ModelSpec], dtype: torch.dtype) -> float:
    """The sizes' weights in GB (1e9 bytes) in ``dtype``: what one batch-1 decode step reads."""
    return sum(spec.n_params for spec in specs) * dtype.itemsize / 1e9


class Benchmark:
    """One run: every size in order, within a time budget, the JSON rewritten after each step."""

    def __init__(self, settings: Settings):
        self.settings, self.started = settings, time.perf_counter()
        try:  # the dolly_helpers.gpus entry of this GPU: its bandwidth gives the roofline
            self.gpu = None if settings.smoke else get_gpu(torch.cuda.get_device_name(0))
        except ValueError:
            self.gpu = None
        self.report = report_header(settings, self.gpu)
        self.tokenizer = ladder.load_tokenizer(settings.models[0].vocab_size)
        # What the last size took, to foresee the next: building, saving and loading grow with the
        # weights; rungs 1 to 4 hardly do (Python-bound); each rung's seconds, with the size's GB.
        self.disk_seconds_per_gb, self.ladder_seconds = 0.0, 0.0
        self.rung_seconds: dict[str, tuple[float, float]] = {}
        self.reference: ladder.Answers | None = None  # this size's answers from Dolly's pipeline

    def left(self) -> float:
        return self.settings.budget_seconds - (time.perf_counter() - self.started)

    def essential_seconds(self, specs: Sequence[ModelSpec]) -> float:
        """What building, saving, loading and rungs 1 to 4 of ``specs`` should take."""
        return len(specs) * self.ladder_seconds + self.disk_seconds_per_gb * weights_gb(specs, self.settings.dtype)

    def save(self) -> None:
        """Rewrite the JSON, atomically: a reader never sees half a file."""
        self.report["elapsed_seconds"] = time.perf_counter() - self.started
        path = self.settings.json_path
        path.with_name(path.name + ".partial").write_text(as_json(self.report) + "\n")
        os.replace(path.with_name(path.name + ".partial"), path)

    def finished_sizes(self) -> dict[str, dict]:
        """The sizes an earlier run measured with the same settings on the same device, by name."""
        try:
            earlier = json.loads(self.settings.json_path.read_text())
        except (OSError, ValueError):
            return {}
        same = (earlier.get("device"), earlier.get("settings")) == (self.report["device"], self.report["settings"])
        if self.settings.force or not same:
            return {}
        return {shape["name"]: shape for shape in earlier.get("shapes", []) if shape.get("status") == "measured"}

    def run(self) -> dict:
        """Measure every size not measured before; return the report as plain JSON values."""
        finished, models = self.finished_sizes(), self.settings.models
        names = [spec.name for spec in models]
        self.report["shapes"] = shapes = [shape for name, shape in finished.items() if name not in names]
        self.settings.json_path.parent.mkdir(parents=True, exist_ok=True)
        for index, spec in enumerate(models):
            if spec.name in finished:
                print(f"{spec.name}: measured before, kept (--force measures it again)", flush=True)
                shapes.append(finished[spec.name])
                continue
            config = {key: getattr(spec, key) for key in ("num_layers", "hidden_size", "num_heads",
                                                          "intermediate_size", "vocab_size")}
            shapes.append(result := SizeResult(spec.name, spec.n_params, config))
            if self.left() <= self.essential_seconds([spec]):
                result.status, result.reason = "skipped", f"time budget: {self.left():.0f} s left"
            else:
                print(f"{spec.name}: measuring ({time.perf_counter() - self.started:.0f} s elapsed)", flush=True)
                self.measure_size(result, spec, later=models[index + 1 :])
            print(f"{spec.name}: {result.status}" + (f" ({result.reason})" if result.reason else ""), flush=True)
            self.save()
        return json.loads(as_json(self.report))

    def measure_size(self, result: SizeResult, spec: ModelSpec, later: Sequence[ModelSpec]) -> None:
        """Build, save and load one size, then climb the ladder; a failure is recorded, not raised."""
        started, s = time.perf_counter(), self.settings
        folder = s.workdir / spec.name
        try:
            from ..tiny.train import neox_config

            torch.manual_seed(0)
            with quiet(), torch.device(s.device):  # random weights made where they will live
                model = AutoModelForCausalLM.from_config(neox_config(spec, self.tokenizer), dtype=s.dtype).eval()
            free_memory()
            result.build_seconds = time.perf_counter() - started
            model = self.save_and_load(model, result, folder)
            result.weights_gb = sum(p.numel() * p.element_size() for p in model.parameters()) / 1e9
            if self.gpu is not None:
                result.roofline_tokens_per_s = decode_roofline_tokens_per_s(result.weights_gb, self.gpu)
            self.disk_seconds_per_gb = (time.perf_counter() - started) / result.weights_gb
            self.save()
            workload = ladder.Workload(model, self.tokenizer, s.device, s.new_tokens, INSTRUCTIONS)
            del model
            self.climb_ladder(result, workload, folder, later)
            result.status = "measured"
        except Exception as error:  # keep going past a failed size
            result.status, result.reason = "failed", one_line(error)
        finally:
            workload = None
            free_memory()
            shutil.rmtree(folder, ignore_errors=True)
            shutil.rmtree(s.workdir / "ctranslate2", ignore_errors=True)
            result.seconds = time.perf_counter() - started

    def save_and_load(self, model: torch.nn.Module, result: SizeResult, folder: Path) -> torch.nn.Module:
        """Save as safetensors, drop the model, and time loading it back from disk, as a reader would."""
        started = time.perf_counter()
        with quiet():
            model.save_pretrained(folder)
            self.tokenizer.save_pretrained(folder)
        for file in folder.iterdir():  # on the disk and out of the page cache: the load reads the disk
            descriptor = os.open(file, os.O_RDONLY)
            os.fsync(descriptor)
            if hasattr(os, "posix_fadvise"):
                os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_DONTNEED)
            os.close(descriptor)
        result.save_seconds = time.perf_counter() - started
        del model
        free_memory()
        before = torch.cuda.memory_allocated() if torch.cuda.is_available() else 0
        started = time.perf_counter()
        with quiet():
            model = AutoModelForCausalLM.from_pretrained(folder, dtype=self.settings.dtype,
                                                         device_map=self.settings.device)
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        seconds = time.perf_counter() - started
        size = sum(file.stat().st_size for file in folder.glob("*.safetensors"))
        result.load = {"seconds": seconds, "bytes": size, "read_gb_per_s": size / seconds / 1e9,
                       "page_cache": "dropped" if hasattr(os, "posix_fadvise") else "warm"}
        if torch.cuda.is_available():
            result.device_memory_gb = (torch.cuda.memory_allocated() - before) / 1e9
        return model.eval()

    def climb_ladder(self, result: SizeResult, w: ladder.Workload, folder: Path,
                     later: Sequence[ModelSpec]) -> None:
        """The six rungs in order, each timed, checked against the first and saved as it ends."""
        s, exact, started = self.settings, self.settings.dtype == torch.float32, time.perf_counter()
        static = {"cache_implementation": "static", "compile_config": ladder.compile_config(s.smoke)}
        rungs = [
            ("dolly_pipeline", 1, lambda: ladder.dolly_pipeline_rung(w), True),
            ("stock_pipeline", 1, lambda: ladder.stock_pipeline_rung(w), True),
            ("generate_one", 1, lambda: ladder.generate_rung(w, 1), True),
            ("generate_batched", BATCH_SIZE, lambda: ladder.generate_rung(w, BATCH_SIZE), exact),
            (COMPILE_RUNG, BATCH_SIZE, lambda: ladder.generate_rung(w, BATCH_SIZE, **static), exact),
            (CTRANSLATE2_RUNG, BATCH_SIZE, lambda: ladder.ctranslate2_rung(w, folder, s.workdir, s.smoke), exact),
        ]
        for name, batch_size, build, claims in rungs:
            result.rungs.append(rung := RungResult(name, batch_size, claims))
            if name == COMPILE_RUNG:  # the essential rungs are done
                self.ladder_seconds = time.perf_counter() - started
            rung.skipped = self.skip_reason(rung, result, later)
            if not rung.skipped:
                self.measure_rung(rung, build, result, w.model)
            print(f"  {describe(rung)}", flush=True)
            self.save()
        result.best_batch1 = best_batch1(result)

    def skip_reason(self, rung: RungResult, result: SizeResult, later: Sequence[ModelSpec]) -> str | None:
        """Why an optional rung is skipped: no CTranslate2 here, or too little time for the later sizes.

        An optional rung must end in time (its last time, else a first guess: 60 s of compiling,
        CTranslate2 10 s per GB it converts) and leave each later size its essential steps and
        its compile rung.
        """
        s = self.settings
        if rung.name == CTRANSLATE2_RUNG:
            if reason := ladder.ctranslate2_skip(result.n_params, s.workdir, s.smoke):
                return reason
        elif rung.name != COMPILE_RUNG:
            return None
        guesses = {COMPILE_RUNG: (60.0, result.weights_gb), CTRANSLATE2_RUNG: (10.0, 1.0)}
        seconds, gb = self.rung_seconds.get(rung.name, guesses[rung.name])
        own = seconds * (result.weights_gb / gb if rung.name == CTRANSLATE2_RUNG else 1.0)
        later_compiles = self.rung_seconds.get(COMPILE_RUNG, guesses[COMPILE_RUNG])[0] * len(later)
        needed = 1.25 * (own + later_compiles) + self.essential_seconds(later)
        if self.left() < needed:
            return f"skipped: time budget ({self.left():.0f} s left, {needed:.0f} s needed)"
        return None

    def measure_rung(self, rung: RungResult, build: Callable, result: SizeResult, model: torch.nn.Module) -> None:
        """Time one rung and check its answers against the first rung's."""
        started, first = time.perf_counter(), result.rungs[0]
        answers = ladder.measure_rung(rung, build, self.settings.min_run_time)
        self.rung_seconds[rung.name] = (time.perf_counter() - started, result.weights_gb)
        self.reference = answers if rung is first else self.reference
        ladder.check_answers(rung, answers, self.reference, self.settings.new_tokens)
        if first.seconds and rung.seconds:
            rung.speedup_vs_dolly_pipeline = first.seconds / rung.seconds
        if rung.name == COMPILE_RUNG and rung.error is None:
            rung.compiled = hasattr(model, "_compiled_call")  # generate sets it when it compiles
            rung.error = None if rung.compiled else "generate did not compile (transformers' criteria unmet)"


def best_batch1(result: SizeResult) -> dict | None:
    """The fastest one-prompt-per-call rung, beside the roofline and Dolly's pipeline."""
    rungs = [rung for rung in result.rungs if rung.batch_size == 1 and rung.tokens_per_s]
    if not rungs:
        return None
    best, roofline = max(rungs, key=lambda rung: rung.tokens_per_s), result.roofline_tokens_per_s
    return {"variant": best.name, "decode_tokens_per_s": best.tokens_per_s,
            "fraction_of_roofline": best.tokens_per_s / roofline if roofline else None,
            "speedup_vs_pipeline": best.speedup_vs_dolly_pipeline}


def describe(rung: RungResult) -> str:
    """One progress line: the rung's speed and its answers against the first rung's, or why none."""
    if rung.skipped or rung.seconds is None:
        return f"{rung.name}: {rung.skipped or 'failed: ' + str(rung.error)}"
    check = {True: "identical answers", False: "ANSWERS DIFFER", None: f"{rung.same_answers} answers the same"}
    speedup = f", {rung.speedup_vs_dolly_pipeline:.2f}x Dolly's pipeline" if rung.speedup_vs_dolly_pipeline else ""
    return f"{rung.name}: {rung.tokens_per_s:.1f} tokens/s{speedup}, {check[rung.identical]}" + (
        f" ({rung.error})" if rung.error else "")


def summary_lines(report: dict) -> list[str]:
    """Per size: batch-1 decode against the roofline, the best batched rung against Dolly's pipeline."""
    lines = [report["title"]]
    for shape in report["shapes"]:
        line, best = f"{shape['name']}: {shape['status']}", shape.get("best_batch1")
        if best:
            roofline = shape["roofline_tokens_per_s"]
            line += f"; batch 1 {best['decode_tokens_per_s']:.1f} tokens/s" + (
                f" = {best['fraction_of_roofline']:.0%} of the {roofline:.0f} roofline" if roofline else "")
        rungs = shape.get("rungs", [])
        batched = [rung for rung in rungs if rung["batch_size"] > 1 and rung["speedup_vs_dolly_pipeline"]]
        if batched:
            fastest = max(batched, key=lambda rung: rung["speedup_vs_dolly_pipeline"])
            line += f"; batched {fastest['speedup_vs_dolly_pipeline']:.1f}x Dolly's pipeline ({fastest['name']})"
        lines.append(line + (f"; {shape['reason']}" if shape.get("reason") else ""))
    return lines


def problems(report: dict) -> list[str]:
    """Failed sizes, and rungs whose claim of identical answers does not hold."""
    shapes = report["shapes"]
    failed = [f"{shape['name']} failed: {shape['reason']}" for shape in shapes if shape["status"] == "failed"]
    return failed + [
        f"{shape['name']} {rung['name']}: answers differ from dolly_pipeline's "
        f"({rung['same_answers']} the same{', ' + rung['error'] if rung['error'] else ''})"
        for shape in shapes for rung in shape.get("rungs", []) if rung["identical"] is False
    ]


# --- The command line -------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise CommandLineError(message)


def parse_args(argv: Sequence[str]) -> Settings:
    """Turn the arguments into settings; a mistake raises :class:`CommandLineError` (one line)."""
    parser = _Parser(prog="python -m dolly_helpers.bench gpu", description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", choices=DOLLY_MODELS, default=list(DOLLY_MODELS), metavar="MODEL",
                        help=f"Dolly sizes to measure, in order (default: {' '.join(DOLLY_MODELS)})")
    parser.add_argument("--json", type=Path, help=f"the report (default: {DEFAULT_JSON}; smoke: in --workdir)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/dolly-bench"), help="scratch for saved weights")
    parser.add_argument("--new-tokens", type=int, help="tokens in every answer (default: 64; smoke: 8)")
    parser.add_argument("--min-run-time", type=float, help="Timer seconds per rung (default: 1; smoke: 0.01)")
    parser.add_argument("--budget-seconds", type=float, default=540.0, help="time limit (default: %(default)s)")
    parser.add_argument("--force", action="store_true", help="measure again the sizes the JSON has")
    parser.add_argument("--cpu-smoke", action="store_true", help="the same on the CPU: small shapes, float32")
    args = parser.parse_args(list(argv))
    smoke = args.cpu_smoke
    new_tokens = args.new_tokens if args.new_tokens is not None else 8 if smoke else 64
    min_run_time = args.min_run_time if args.min_run_time is not None else 0.01 if smoke else 1.0
    if new_tokens < 1 or min_run_time <= 0 or args.budget_seconds <= 0:
        raise CommandLineError("--new-tokens, --min-run-time and --budget-seconds must be positive")
    specs = tuple(get_spec(name) for name in dict.fromkeys(args.models))
    return Settings(
        models=tuple(map(smoke_spec, specs)) if smoke else specs, new_tokens=new_tokens,
        min_run_time=min_run_time, budget_seconds=args.budget_seconds, workdir=args.workdir,
        json_path=args.json or (args.workdir / "gpu-benchmark-smoke.json" if smoke else DEFAULT_JSON),
        force=args.force, smoke=smoke, device="cpu" if smoke else "cuda",
        dtype=torch.float32 if smoke else torch.bfloat16,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m dolly_helpers.bench gpu``: 0 if every claim held, 1 if not, 2 on bad input, 3 without a GPU."""
    try:
        settings = parse_args(sys.argv[1:] if argv is None else argv)
    except CommandLineError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except SystemExit as done:  # --help
        return done.code if isinstance(done.code, int) else 0
    if not settings.smoke and not torch.cuda.is_available():
        print(NO_GPU, file=sys.stderr)
        return 3
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # every file is local: never wait on the Hub
    settings.workdir.mkdir(parents=True, exist_ok=True)
    threads = torch.get_num_threads()
    torch.set_num_threads(1 if settings.smoke else threads)  # the smoke run checks code, not speed
    try:
        report = Benchmark(settings).run()
    finally:
        torch.set_num_threads(threads)
    print("\n".join(summary_lines(report)) + f"\nwrote {settings.json_path}")
    for problem in problems(report):
        print(f"error: {problem}", file=sys.stderr)
    return 1 if problems(report) else 0
