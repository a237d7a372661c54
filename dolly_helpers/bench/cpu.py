"""The CPU speed benchmark (``make bench``): the helpers against the article's way of running Dolly.

The workload is every question the book asks each size (:data:`COMPARISON_QUESTIONS`, some
with a passage), answered greedily with at most :data:`MAX_NEW_TOKENS` new tokens by each tiny
model. For each model the benchmark times, in alternation (a warm-up round first, then
``repeats`` pairs, the order flipped every other pair):

- loading: :func:`dolly_helpers.load_model` against building the pipeline from the same folder;
- the whole workload: :func:`dolly_helpers.generate`, all questions in one left-padded batch,
  against the stock pipeline called once per question (:mod:`.baseline`), and against the same
  pipeline told to stop at ``### End``, which isolates what batching alone buys;
- one prompt: the helper asked one question against one call of the pipeline that stops at
  ``### End``, every question in turn: the same work on both sides, so only overhead differs.

Every run's answers must equal the pipeline's; a difference stops the benchmark. The report
(JSON on stdout and in ``--json``) gives medians of seconds, tokens/s and peak resident memory,
and ratios taken pair by pair. Targets: the batched helper at least 5x faster than the pipeline
on the whole workload (all models together), and the helper with one prompt at most 1.05x the
pipeline's time.

The clock is wall time on a machine that may be shared, so the pairs alternate and the report
gives medians; torch runs on ``--threads`` threads (1 by default: steadier on a shared machine,
and the same for both sides).
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch

from ..cli import CommandLineError
from ..generation import generate
from ..hardware import dtype_name, environment_report
from ..loading import LoadedModel, load_model
from ..models import TINY_MODELS, get_spec
from ..questions import COMPARISON_QUESTIONS, Question
from .baseline import PipelineBaseline
from .measure import Measured, measure, median, median_ratio

MAX_NEW_TOKENS = 64
DEFAULT_REPEATS = 5
DEFAULT_JSON = Path("runs/cpu-benchmark.json")
#: The batched helper must answer the whole workload at least this many times faster.
BATCHED_SPEEDUP_TARGET = 5.0
#: The helper with one prompt may take at most this multiple of the pipeline's time.
BATCH1_OVERHEAD_TARGET = 1.05


class AnswersDiffer(RuntimeError):
    """The helper's answer to a question is not the pipeline's: the timings would mean nothing."""


@dataclass(frozen=True)
class Workload:
    """The questions, and how many new tokens each answer may take."""

    questions: tuple[Question, ...] = COMPARISON_QUESTIONS
    max_new_tokens: int = MAX_NEW_TOKENS

    @property
    def instructions(self) -> list[str]:
        return [question.instruction for question in self.questions]

    @property
    def contexts(self) -> list[str | None]:
        return [question.context for question in self.questions]


@dataclass
class Pairs:
    """Alternating measurements of the pipeline and a helper, one pair at a time."""

    pipeline: list[Measured] = field(default_factory=list)
    helper: list[Measured] = field(default_factory=list)

    def add(self, pipeline: Measured, helper: Measured) -> None:
        self.pipeline.append(pipeline)
        self.helper.append(helper)

    @property
    def pipeline_seconds(self) -> list[float]:
        return [m.seconds for m in self.pipeline]

    @property
    def helper_seconds(self) -> list[float]:
        return [m.seconds for m in self.helper]

    def speedup(self) -> float:
        """Median over pairs of pipeline seconds / helper seconds (above 1: the helper is faster)."""
        return median_ratio(self.pipeline_seconds, self.helper_seconds)

    def overhead(self) -> float:
        """Median over pairs of helper seconds / pipeline seconds (below 1: the helper is faster)."""
        return median_ratio(self.helper_seconds, self.pipeline_seconds)

    def summary(self, pipeline_tokens: int | None = None, helper_tokens: int | None = None) -> dict:
        """Medians of each side and of the ratios; tokens/s where token counts are given."""
        summary = {
            "pairs": len(self.pipeline),
            "pipeline": _side(self.pipeline, pipeline_tokens),
            "helper": _side(self.helper, helper_tokens),
            "speedup": round(self.speedup(), 3),
            "overhead": round(self.overhead(), 3),
        }
        if len(self.pipeline) <= 10:
            summary["pair_speedups"] = [round(p / h, 3) for p, h in zip(self.pipeline_seconds, self.helper_seconds)]
        return summary


def _side(runs: list[Measured], tokens: int | None) -> dict:
    seconds = [m.seconds for m in runs]
    side = {"seconds": _round(median(seconds), 4)}
    if tokens is not None:
        side["new_tokens"] = tokens
        side["tokens_per_second"] = _round(median([tokens / s for s in seconds]), 1)
    side["peak_rss_mb"] = _round(median([m.peak_rss_mb for m in runs]), 1)
    side["peak_growth_mb"] = _round(median([m.peak_growth_mb for m in runs]), 1)
    return side


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


@dataclass
class ModelResult:
    """Everything measured on one model."""

    model_name: str
    dtype: str
    pipeline_new_tokens: int
    helper_new_tokens: int
    load: Pairs
    workload: Pairs
    workload_vs_end_key: Pairs
    stopped_new_tokens: int
    one_prompt: Pairs

    def to_dict(self) -> dict:
        return {
            "model_name": self.model_name,
            "dtype": self.dtype,
            "answers_identical": True,
            "load": self.load.summary(),
            "workload": self.workload.summary(self.pipeline_new_tokens, self.helper_new_tokens),
            "workload_vs_pipeline_stopping_at_end_key": self.workload_vs_end_key.summary(
                self.stopped_new_tokens, self.helper_new_tokens
            ),
            "one_prompt": self.one_prompt.summary(),
        }


def check_same_answers(model_name: str, questions: Sequence[Question], expected: Sequence[str],
                       answers: Sequence[str], side: str, first: int = 1) -> None:
    """Raise :class:`AnswersDiffer` (one line) at the first answer that is not the pipeline's.

    ``questions``, ``expected`` (the pipeline's answers) and ``answers`` go together;
    ``first`` is the number of the first question, for the message.
    """
    if len(answers) != len(expected):
        raise AnswersDiffer(f"{model_name}: the {side} gave {len(answers)} answers for {len(expected)} questions")
    for number, (question, want, got) in enumerate(zip(questions, expected, answers), start=first):
        if got != want:
            raise AnswersDiffer(
                f"{model_name}: the {side} answers question {number} ({question.instruction!r}) with "
                f"{_clip(got)!r}, the pipeline with {_clip(want)!r}"
            )


def _clip(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def helper_batched(model: LoadedModel, workload: Workload) -> list:
    """The helper's way: every question in one call, one left-padded batch."""
    return generate(
        model,
        workload.instructions,
        context=workload.contexts,
        max_new_tokens=workload.max_new_tokens,
        batch_size=len(workload.questions),
    )


def helper_one(model: LoadedModel, question: Question, max_new_tokens: int) -> str:
    """The helper asked one question: a batch of one."""
    return generate(model, question.instruction, context=question.context, max_new_tokens=max_new_tokens).response


def _pair(first: Callable[[], object], second: Callable[[], object], flip: bool) -> tuple[Measured, Measured]:
    """Measure two calls back to back, ``second`` first when ``flip``; return them in order."""
    if flip:
        b = measure(second)
        return measure(first), b
    a = measure(first)
    return a, measure(second)


def run_model(model_name: str, workload: Workload, repeats: int) -> ModelResult:
    """Measure one model: ``repeats`` pairs of loads, then a warm-up round and ``repeats`` rounds
    of the whole workload and of one prompt at a time, the answers checked every time."""
    folder = get_spec(model_name).local_path
    model = load_model(model_name)  # a warm-up load each: imports, files in the page cache
    PipelineBaseline.build(folder, model.dtype, workload.max_new_tokens)

    load = Pairs()
    for repeat in range(repeats):
        pipeline_load, helper_load = _pair(
            lambda: PipelineBaseline.build(folder, model.dtype, workload.max_new_tokens),
            lambda: load_model(model_name),
            flip=repeat % 2 == 1,
        )
        baseline, loaded = pipeline_load.value, helper_load.value
        load.add(replace(pipeline_load, value=None), replace(helper_load, value=None))
    model = loaded

    questions = workload.questions
    stopped = baseline.stopping_at_end_key()

    def pipeline_workload() -> list[str]:
        return [baseline.answer(question) for question in questions]

    def stopped_workload() -> list[str]:
        return [stopped.answer(question) for question in questions]

    def check(answers: Sequence[str], expected: Sequence[str], side: str, index: int = 0) -> None:
        """Compare answers to the pipeline's, for the questions from ``index`` on."""
        check_same_answers(model_name, questions[index:], expected, answers, side, first=index + 1)

    # Warm-up round: it pays the first calls' one-time costs and fixes the answers to compare with.
    expected = pipeline_workload()
    batched = helper_batched(model, workload)
    check([r.response for r in batched], expected, "batched helper")
    check([helper_one(model, q, workload.max_new_tokens) for q in questions], expected, "one-prompt helper")
    helper_tokens = sum(r.new_tokens for r in batched)
    pipeline_tokens = sum(baseline.new_tokens(question) for question in questions)
    stopped_tokens = sum(stopped.new_tokens(question) for question in questions)
    check(stopped_workload(), expected, "pipeline stopping at the end key")

    whole, whole_stopped, one = Pairs(), Pairs(), Pairs()
    for repeat in range(repeats):
        gc.collect()
        a, b = _pair(pipeline_workload, lambda: helper_batched(model, workload), flip=repeat % 2 == 1)
        c = measure(stopped_workload)
        check(a.value, expected, "pipeline")
        check([r.response for r in b.value], expected, "batched helper")
        check(c.value, expected, "pipeline stopping at the end key")
        whole.add(a, b)
        whole_stopped.add(c, b)
        for index, question in enumerate(questions):
            a, b = _pair(
                lambda: stopped.answer(question),
                lambda: helper_one(model, question, workload.max_new_tokens),
                flip=(repeat + index) % 2 == 1,
            )
            check([a.value], expected[index : index + 1], "pipeline", index)
            check([b.value], expected[index : index + 1], "one-prompt helper", index)
            one.add(a, b)
    return ModelResult(
        model_name, dtype_name(model.dtype), pipeline_tokens, helper_tokens, load, whole, whole_stopped,
        stopped_tokens, one,
    )


def build_report(results: Sequence[ModelResult], workload: Workload, repeats: int, threads: int,
                 seconds: float) -> dict:
    """The JSON report: settings, each model's medians and ratios, and the two headline ratios."""
    pipeline_total = [sum(r.workload.pipeline_seconds[i] for r in results) for i in range(repeats)]
    helper_total = [sum(r.workload.helper_seconds[i] for r in results) for i in range(repeats)]
    speedup = round(median_ratio(pipeline_total, helper_total), 2)
    stopped_total = [sum(r.workload_vs_end_key.pipeline_seconds[i] for r in results) for i in range(repeats)]
    overhead = round(median_ratio(
        [s for r in results for s in r.one_prompt.helper_seconds],
        [s for r in results for s in r.one_prompt.pipeline_seconds],
    ), 2)
    missed = missed_targets(speedup, overhead)
    return {
        "benchmark": "cpu",
        "workload": {
            "questions": len(workload.questions),
            "with_context": sum(q.context is not None for q in workload.questions),
            "decoding": "greedy",
            "max_new_tokens": workload.max_new_tokens,
            "models": [r.model_name for r in results],
        },
        "baseline": "transformers.pipeline('text-generation') from the model's folder, one call per "
                    "question, Dolly's prompt, greedy, stopping where the stock pipeline stops (the "
                    "model's end-of-text), answer cut at '### End' with extract_response; no remote code",
        "baseline_stopping_at_end_key": "the same pipeline told to stop at '### End' as well, as "
                                        "Dolly's remote pipeline does; the baseline of one_prompt",
        "helper": "dolly_helpers.generate: all questions in one batch; one question for one_prompt",
        "settings": {"repeats": repeats, "warm_up_rounds": 1, "torch_threads": threads,
                     "order": "alternating pairs, the order flipped every other pair"},
        "machine": environment_report(),
        "models": [r.to_dict() for r in results],
        "whole_workload": {
            "pipeline_seconds": round(median(pipeline_total), 4),
            "helper_seconds": round(median(helper_total), 4),
            "speedup": speedup,
            "pair_speedups": [round(p / h, 3) for p, h in zip(pipeline_total, helper_total)],
        },
        "whole_workload_vs_pipeline_stopping_at_end_key": {
            "pipeline_seconds": round(median(stopped_total), 4),
            "helper_seconds": round(median(helper_total), 4),
            "speedup": round(median_ratio(stopped_total, helper_total), 2),
        },
        "batched_speedup_vs_pipeline": speedup,
        "batch1_overhead_vs_pipeline": overhead,
        "targets": {
            "batched_speedup_at_least": BATCHED_SPEEDUP_TARGET,
            "batch1_overhead_at_most": BATCH1_OVERHEAD_TARGET,
            "met": not missed,
            "missed": missed,
        },
        "bench_seconds": round(seconds, 1),
    }


def missed_targets(speedup: float, overhead: float) -> list[str]:
    """A sentence for each target the two headline ratios miss; empty when both are met."""
    missed = []
    if speedup < BATCHED_SPEEDUP_TARGET:
        missed.append(f"batched speedup {speedup:.2f} is below {BATCHED_SPEEDUP_TARGET:.2f}")
    if overhead > BATCH1_OVERHEAD_TARGET:
        missed.append(f"batch-1 overhead {overhead:.2f} is above {BATCH1_OVERHEAD_TARGET:.2f}")
    return missed


def final_lines(report: dict) -> str:
    """The two lines the output ends with."""
    return (
        f"batched_speedup_vs_pipeline: {report['batched_speedup_vs_pipeline']:.2f}\n"
        f"batch1_overhead_vs_pipeline: {report['batch1_overhead_vs_pipeline']:.2f}"
    )


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise CommandLineError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m dolly_helpers.bench cpu", description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(TINY_MODELS), metavar="MODEL",
                        help=f"tiny models to run (default: {' '.join(TINY_MODELS)})")
    parser.add_argument("--repeats", type=int, default=DEFAULT_REPEATS,
                        help=f"measured pairs after the warm-up (default: {DEFAULT_REPEATS})")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON,
                        help=f"where to write the report (default: {DEFAULT_JSON})")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default: 1)")
    return parser


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """Parse and check the arguments; a mistake raises :class:`CommandLineError` (one line)."""
    args = build_parser().parse_args(list(argv))
    for name in args.models:
        if name not in TINY_MODELS:
            raise CommandLineError(
                f"unknown model {name!r}: the CPU benchmark runs the tiny models {', '.join(TINY_MODELS)}"
            )
    if args.repeats < 1:
        raise CommandLineError(f"--repeats must be at least 1, got {args.repeats}")
    if args.threads < 1:
        raise CommandLineError(f"--threads must be at least 1, got {args.threads}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; 0 when both targets are met, 1 when one is missed or answers differ, 2 on bad input."""
    try:
        args = parse_args(sys.argv[1:] if argv is None else argv)
    except CommandLineError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except SystemExit as done:  # --help
        return done.code if isinstance(done.code, int) else 0

    started = time.perf_counter()
    threads = torch.get_num_threads()
    torch.set_num_threads(args.threads)
    workload = Workload()
    results = []
    try:
        for name in dict.fromkeys(args.models):
            result = run_model(name, workload, args.repeats)
            print(f"{name}: workload speedup {result.workload.speedup():.2f}, "
                  f"one-prompt overhead {result.one_prompt.overhead():.2f}", file=sys.stderr)
            results.append(result)
    except AnswersDiffer as error:
        print(f"error: answers differ: {error}", file=sys.stderr)
        return 1
    finally:
        torch.set_num_threads(threads)
    report = build_report(results, workload, args.repeats, args.threads, time.perf_counter() - started)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(report, indent=2)
    args.json.write_text(text + "\n")
    print(text)
    print(final_lines(report))
    if report["targets"]["missed"]:
        print(f"error: target missed: {'; '.join(report['targets']['missed'])}", file=sys.stderr)
        return 1
    return 0
