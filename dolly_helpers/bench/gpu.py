"""The GPU benchmark: the CPU benchmark's ladder on Dolly's three real shapes, on one GPU.

Dolly's weights cannot be fetched on the GPU machine, and speed depends on shapes and number
format, not on values: each size is built with the exact dolly-v2-3b/7b/12b configuration and
random bfloat16 weights on the GPU, saved as safetensors (in ``TMPDIR``), dropped from the page
cache and loaded back, timed. Eight Dolly prompts, greedy, each answer :data:`NEW_TOKENS` long,
then climb :mod:`.cpu`'s :data:`RUNGS`: Dolly's pipeline (:mod:`.baseline`, the baseline of every
speedup) and the stock ``pipeline("text-generation")``, one prompt per call; ``model.generate`` one
per call (beside the roofline, :func:`dolly_helpers.gpus.decode_roofline_tokens_per_s`) and all
eight at once; and that with a static cache and a ``CompileConfig`` (CUDA graphs).
``torch.utils.benchmark.Timer.blocked_autorange`` times each (median; its first call warms up).
Rungs 2-3 must answer as rung 1 exactly; rungs 4-5 run other kernels, which round bfloat16
differently, so on the GPU they count the answers that agree, and must agree only in float32
(``--cpu-smoke``: 2-layer shapes on the CPU).

The JSON (``runs/gpu-benchmark.json``, read by chapter 5) is rewritten after every step; a rerun
keeps the sizes measured with the same settings (``--force`` measures them again). Per size: the
status, the load, the roofline, ``best_batch1`` (the fastest one-prompt rung), every :class:`Rung`.

Time on one H200 (weights 5.6, 13.7, 23.7 GB): eager decoding at batch 1 is bound by Python, at
20 to 30 ms a token, so rungs 1-3 take 3 x 2 calls x 8 prompts x 32 tokens x 25 ms = 38 s (12b:
43 s); rungs 4-5 take 5 s and 60 s of compiling (12b: 70 s); building, 5 s; saving and loading at
1 GB/s, 11, 27 and 47 s. So 3b takes 120 s, 7b 135 s, 12b 170 s (:data:`SIZE_SECONDS`): 445 s in
one call with the start-up, within the default budget of 540 s. A size that would pass the budget
is skipped, and so is the compile rung when fewer than :data:`COMPILE_MARGIN_SECONDS` are left.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from torch.utils.benchmark import Timer

from ..cli import CommandLineError, Parser, parse_or_status
from ..gpus import decode_roofline_tokens_per_s, get_gpu
from ..models import DOLLY_MODELS, TINY_MODELS_DIR, ModelSpec, get_spec
from ..prompt import END_KEY, RESPONSE_KEY, build_prompt
from ..quiet import quiet
from ..validation import error_line
from .baseline import DollyPipeline

DEFAULT_JSON = Path("runs/gpu-benchmark.json")
RUNGS = ("dolly_pipeline", "stock_pipeline", "generate_one", "generate_batched", "static_cache_compiled")
INSTRUCTIONS = [f"Describe item number {i} in a few words." for i in range(8)]  # of equal token lengths
NEW_TOKENS = 32  # every answer's length; the smoke run's: 4
SIZE_SECONDS = {"dolly-v2-3b": 120.0, "dolly-v2-7b": 135.0, "dolly-v2-12b": 170.0}  # the smoke run's: 5
COMPILE_MARGIN_SECONDS = 90.0
NO_GPU = "error: no CUDA GPU here: the GPU figures are pending (run this on a GPU machine, or pass --cpu-smoke)"
Answers = list[tuple[str, int]]  # each prompt's answer, cut as Dolly's pipeline cuts it, and its new tokens


@dataclasses.dataclass
class Rung:
    """One rung's figures, for the whole workload: all eight prompts answered."""

    name: str
    batch_size: int  # prompts per call
    seconds: float | None = None  # the median call
    wall_seconds: float | None = None  # the rung's whole time: building, warming up (compiling), timing
    tokens_per_s: float | None = None
    speedup_vs_dolly_pipeline: float | None = None
    peak_memory_gb: float | None = None  # None on the CPU
    same_answers: int | None = None  # prompts answered exactly as dolly_pipeline answered them
    identical: bool | None = None  # the claim that all are, checked; None where nothing is claimed
    error: str | None = None
    skipped: str | None = None


def smoke_spec(spec: ModelSpec) -> ModelSpec:
    """A 2-layer, 32-times-narrower copy of a Dolly shape (vocabulary kept), for the smoke run."""
    hidden = spec.hidden_size // 32
    return dataclasses.replace(spec, name=f"{spec.name}-smoke", num_layers=2, hidden_size=hidden,
                               num_heads=spec.num_heads // 16, intermediate_size=4 * hidden)


def load_tokenizer(vocab_size: int):
    """tiny-dolly-large's tokenizer, with placeholders up to ``vocab_size``: every id has its own text."""
    from transformers import AutoTokenizer

    with quiet():
        tokenizer = AutoTokenizer.from_pretrained(TINY_MODELS_DIR / "tiny-dolly-large", padding_side="left")
    tokenizer.add_tokens([f"<|placeholder-{i}|>" for i in range(len(tokenizer), vocab_size)])
    return tokenizer


class Workload:
    """The eight prompts on one model, and the greedy, fixed-length settings every rung shares."""

    def __init__(self, model, tokenizer, new_tokens: int):
        self.model, self.tokenizer, self.new_tokens = model, tokenizer, new_tokens
        self.prompts = [build_prompt(instruction) for instruction in INSTRUCTIONS]
        self.prompt_ids = torch.tensor(tokenizer(self.prompts)["input_ids"], device=model.device)
        self.response_id, self.end_id = tokenizer.convert_tokens_to_ids([RESPONSE_KEY, END_KEY])
        # Equal work for all: min_new_tokens holds ``### End`` back. Dolly's pipeline sets its own stop and pad.
        self.limits = {"max_new_tokens": new_tokens, "min_new_tokens": new_tokens, "do_sample": False}
        self.options = {**self.limits, "eos_token_id": self.end_id, "pad_token_id": tokenizer.pad_token_id}

    def answer(self, sequence: list[int]) -> tuple[str, int]:
        """The answer in prompt + new tokens, cut exactly as :class:`DollyPipeline` cuts it."""
        start = sequence.index(self.response_id) + 1
        end = sequence.index(self.end_id, start) if self.end_id in sequence[start:] else len(sequence)
        return self.tokenizer.decode(sequence[start:end]).strip(), len(sequence) - self.prompt_ids.shape[1]


def build_rung(name: str, w: Workload, smoke: bool) -> Callable[[], Answers]:
    """The rung ``name`` on the workload's model: a call that answers all eight prompts."""
    from transformers import CompileConfig, pipeline

    if name == "dolly_pipeline":  # the pipelines run where the model is
        dolly = DollyPipeline(model=w.model, tokenizer=w.tokenizer)
        return lambda: [(out["generated_text"], out["new_tokens"]) for out in
                        (dolly(instruction, **w.limits) for instruction in INSTRUCTIONS)]
    if name == "stock_pipeline":
        stock = pipeline("text-generation", model=w.model, tokenizer=w.tokenizer)
        return lambda: [w.answer(list(stock(prompt, return_tensors=True, **w.options)[0]["generated_token_ids"]))
                        for prompt in w.prompts]
    extra, batch_size = {}, 1 if name == "generate_one" else len(INSTRUCTIONS)
    if name == "static_cache_compiled":  # inductor with CUDA graphs; in the smoke run dynamo alone, on the CPU
        config = CompileConfig(dynamic=False, **({"backend": "eager", "mode": None} if smoke else {}))
        if smoke:
            config._compile_all_devices = True  # transformers' switch for compiling off the GPU
        extra = {"cache_implementation": "static", "compile_config": config}
    return lambda: [w.answer(sequence) for rows in w.prompt_ids.split(batch_size) for sequence in
                    w.model.generate(rows, attention_mask=torch.ones_like(rows), **w.options, **extra).tolist()]


def measure_rung(rung: Rung, build: Callable[[], Callable[[], Answers]], new_tokens: int, min_run_time: float,
                 threads: int) -> Answers | None:
    """Build and time a rung with ``Timer.blocked_autorange``: its answers, or None with its error kept."""
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    started, answers = time.perf_counter(), []
    try:
        with quiet():  # each call ends with the ids on the CPU: the device has finished
            timer = Timer("answers[:] = run()", globals={"run": build(), "answers": answers},
                          num_threads=threads)
            measured = timer.blocked_autorange(min_run_time=min_run_time)
    except Exception as error:
        rung.error = error_line(error)
        return None
    rung.seconds, rung.wall_seconds = measured.median, time.perf_counter() - started
    rung.tokens_per_s = sum(count for _, count in answers) / measured.median
    if torch.cuda.is_available():
        rung.peak_memory_gb = torch.cuda.max_memory_allocated() / 1e9
    if (counts := sorted({count for _, count in answers})) != [new_tokens]:
        rung.error = f"wrote {counts} new tokens per answer, not {new_tokens}"
    return answers


class Benchmark:
    """One run: every size in order, within the time budget, the JSON rewritten after each step."""

    def __init__(self, args: argparse.Namespace):
        import transformers

        self.args, self.started = args, time.perf_counter()
        device = f"CPU ({platform.machine()}), smoke run" if args.cpu_smoke else torch.cuda.get_device_name(0)
        try:  # this GPU's entry in dolly_helpers.gpus: its bandwidth gives the roofline
            self.gpu = None if args.cpu_smoke else get_gpu(device)
        except ValueError:
            self.gpu = None
        self.tokenizer = load_tokenizer(args.specs[0].vocab_size)
        self.report = {
            "title": f"measured on {device}, random weights of the exact shape",
            "versions": {"python": platform.python_version(), "torch": torch.__version__,
                         "transformers": transformers.__version__, "cuda": torch.version.cuda},
            "settings": {"device": device, "dtype": str(args.dtype).removeprefix("torch."),
                         "new_tokens": args.new_tokens, "instructions": INSTRUCTIONS,
                         "timer": "Timer.blocked_autorange, median", "min_run_time": args.min_run_time},
        }

    def left(self) -> float:
        return self.args.budget_seconds - (time.perf_counter() - self.started)

    def save(self) -> None:
        """Rewrite the JSON, atomically: a reader never sees half a file."""
        self.report["elapsed_seconds"] = round(time.perf_counter() - self.started, 1)
        partial = self.args.json.with_name(self.args.json.name + ".partial")
        partial.write_text(json.dumps(self.report, indent=2, default=dataclasses.asdict) + "\n")
        os.replace(partial, self.args.json)

    def finished_sizes(self) -> dict[str, dict]:
        """The sizes an earlier run measured with the same settings, by name; none with ``--force``."""
        try:
            earlier = json.loads(self.args.json.read_text())
        except (OSError, ValueError):
            earlier = {}
        if self.args.force or earlier.get("settings") != self.report["settings"]:
            return {}
        return {shape["name"]: shape for shape in earlier.get("shapes", []) if shape.get("status") == "measured"}

    def run(self) -> dict:
        """Measure every size not measured before; return the report as plain JSON values."""
        finished, names = self.finished_sizes(), [spec.name for spec in self.args.specs]
        self.report["shapes"] = shapes = [shape for name, shape in finished.items() if name not in names]
        for spec in self.args.specs:
            if spec.name in finished:
                print(f"{spec.name}: measured before, kept (--force measures it again)", flush=True)
                shapes.append(finished[spec.name])
                continue
            shapes.append(shape := {"name": spec.name, "status": "running", "reason": None,
                                    "n_params": spec.n_params, "weights_gb": None, "load": None,
                                    "roofline_tokens_per_s": None, "seconds": None, "best_batch1": None,
                                    "rungs": []})
            if self.left() < (estimate := SIZE_SECONDS.get(spec.name, 5.0)):
                shape["status"] = "skipped"
                shape["reason"] = f"time budget: {self.left():.0f} s left, {estimate:.0f} needed"
            else:
                self.measure_size(shape, spec)
            reason = f" ({shape['reason']})" if shape["reason"] else ""
            print(f"{spec.name}: {shape['status']}{reason}", flush=True)
            self.save()
        return json.loads(json.dumps(self.report, default=dataclasses.asdict))

    def measure_size(self, shape: dict, spec: ModelSpec) -> None:
        """Build, save and load one size, then climb the ladder; a failure is recorded, not raised."""
        started = time.perf_counter()
        try:
            with tempfile.TemporaryDirectory(prefix="dolly-bench-") as folder:
                model = self.save_and_load(shape, spec, Path(folder))
            self.climb(shape, Workload(model, self.tokenizer, self.args.new_tokens))
            shape["status"] = "measured"
        except Exception as error:  # keep going past a failed size
            shape["status"], shape["reason"] = "failed", error_line(error)
        model = None  # then give back what the model and its compiled graphs held
        torch.compiler.reset()
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        shape["seconds"] = round(time.perf_counter() - started, 1)

    def save_and_load(self, shape: dict, spec: ModelSpec, folder: Path) -> torch.nn.Module:
        """Random weights made on the device and saved as safetensors, then loaded back from the disk, timed."""
        from transformers import AutoModelForCausalLM

        from ..tiny.train import neox_config

        torch.manual_seed(0)
        with quiet():
            with torch.device(self.args.device):
                model = AutoModelForCausalLM.from_config(neox_config(spec, self.tokenizer), dtype=self.args.dtype)
            model.save_pretrained(folder)
        del model
        files = list(folder.glob("*.safetensors"))
        os.sync()  # on the disk, then out of the page cache where the system allows: loading reads the disk
        for file in files if hasattr(os, "posix_fadvise") else []:
            with open(file, "rb") as handle:
                os.posix_fadvise(handle.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
        started = time.perf_counter()
        with quiet():
            model = AutoModelForCausalLM.from_pretrained(folder, dtype=self.args.dtype,
                                                         device_map=self.args.device)
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        seconds, size = time.perf_counter() - started, sum(file.stat().st_size for file in files)
        shape["load"] = {"seconds": seconds, "bytes": size, "read_gb_per_s": size / seconds / 1e9}
        shape["weights_gb"] = weights = sum(p.numel() * p.element_size() for p in model.parameters()) / 1e9
        shape["roofline_tokens_per_s"] = decode_roofline_tokens_per_s(weights, self.gpu) if self.gpu else None
        self.save()
        return model.eval()

    def climb(self, shape: dict, w: Workload) -> None:
        """The rungs in order, each timed, checked against the first and saved as it ends."""
        reference, roofline = None, shape["roofline_tokens_per_s"]  # reference: dolly_pipeline's answers
        for name in RUNGS:
            shape["rungs"].append(rung := Rung(name, 1 if name in RUNGS[:3] else len(INSTRUCTIONS)))
            first = shape["rungs"][0]
            if name == "static_cache_compiled" and (left := self.left()) < COMPILE_MARGIN_SECONDS:
                rung.skipped = f"time budget: {left:.0f} s left, compiling needs {COMPILE_MARGIN_SECONDS:.0f}"
            else:
                answers = measure_rung(rung, lambda: build_rung(name, w, self.args.cpu_smoke), w.new_tokens,
                                       self.args.min_run_time, self.args.threads)
                reference = answers if rung is first else reference
                if answers is not None and reference is not None:
                    rung.same_answers = sum(mine == theirs for mine, theirs in zip(answers, reference))
                    rung.speedup_vs_dolly_pipeline = first.seconds / rung.seconds
                if name == "static_cache_compiled" and not rung.error and not hasattr(w.model, "_compiled_call"):
                    rung.error = "generate did not compile (transformers' criteria unmet)"
                if name in RUNGS[:3] or self.args.dtype == torch.float32:  # the claim: every answer the same
                    rung.identical = rung.error is None and rung.same_answers == len(INSTRUCTIONS)
            speed = f"{rung.tokens_per_s:.1f} tokens/s, " if rung.tokens_per_s else ""
            if name == "generate_one" and rung.tokens_per_s and roofline:
                speed += f"{rung.tokens_per_s / roofline:.0%} of the {roofline:.0f} tokens/s roofline, "
            print(f"  {name}: {speed}{rung.skipped or rung.error or f'{rung.same_answers} of 8 answers the same'}",
                  flush=True)
            self.save()
        if batch1 := [rung for rung in shape["rungs"] if rung.batch_size == 1 and rung.tokens_per_s]:
            best = max(batch1, key=lambda rung: rung.tokens_per_s)
            shape["best_batch1"] = {"variant": best.name, "decode_tokens_per_s": best.tokens_per_s,
                                    "fraction_of_roofline": best.tokens_per_s / roofline if roofline else None,
                                    "speedup_vs_pipeline": best.speedup_vs_dolly_pipeline}


def problems(report: dict) -> list[str]:
    """Failed sizes, failed rungs, and rungs whose claim of identical answers does not hold."""
    found = []
    for shape in report["shapes"]:
        found += [f"{shape['name']} failed: {shape['reason']}"] if shape["status"] == "failed" else []
        found += [f"{shape['name']} {rung['name']}: " + (f"failed: {rung['error']}" if rung["error"] else
                  f"answers differ from dolly_pipeline's ({rung['same_answers']} the same)")
                  for rung in shape["rungs"] if rung["error"] or rung["identical"] is False]
    return found


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """Parse and complete the arguments; a mistake raises :class:`CommandLineError` (one line)."""
    parser = Parser(prog="python -m dolly_helpers.bench gpu", description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", choices=DOLLY_MODELS, default=list(DOLLY_MODELS), metavar="MODEL",
                        help=f"Dolly sizes to measure, in order (default: {' '.join(DOLLY_MODELS)})")
    parser.add_argument("--json", type=Path, help=f"the report (default: {DEFAULT_JSON}; smoke: in TMPDIR)")
    parser.add_argument("--budget-seconds", type=float, default=540.0, help="time limit (default: %(default)s)")
    parser.add_argument("--force", action="store_true", help="measure again the sizes the JSON has")
    parser.add_argument("--cpu-smoke", action="store_true", help="the same on the CPU: small shapes, float32")
    args = parser.parse_args(list(argv))
    if args.budget_seconds <= 0:
        raise CommandLineError(f"--budget-seconds must be positive, got {args.budget_seconds:g}")
    specs, smoke = [get_spec(name) for name in dict.fromkeys(args.models)], args.cpu_smoke
    args.specs = [smoke_spec(spec) for spec in specs] if smoke else specs
    args.json = args.json or (Path(tempfile.gettempdir()) / "gpu-benchmark-smoke.json" if smoke else DEFAULT_JSON)
    args.device, args.dtype = ("cpu", torch.float32) if smoke else ("cuda", torch.bfloat16)
    args.new_tokens, args.min_run_time = (4, 0.01) if smoke else (NEW_TOKENS, 1.0)
    args.threads = 1 if smoke else torch.get_num_threads()  # the smoke run checks code, not speed
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m dolly_helpers.bench gpu``: 0 if every claim held, 1 if not, 2 on bad input, 3 without a GPU."""
    args = parse_or_status(parse_args, argv)
    if isinstance(args, int):
        return args
    if not args.cpu_smoke and not torch.cuda.is_available():
        print(NO_GPU, file=sys.stderr)
        return 3
    args.json.parent.mkdir(parents=True, exist_ok=True)
    report = Benchmark(args).run()
    print(f"{report['title']}; wrote {args.json}")
    for problem in (found := problems(report)):
        print(f"error: {problem}", file=sys.stderr)
    return 1 if found else 0
