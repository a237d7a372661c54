"""The CPU speed benchmark (``make bench``): a ladder of ways to run Dolly, measured side by side.

The workload is every question the book asks each size (:data:`COMPARISON_QUESTIONS`, some
with a passage), answered greedily with at most :data:`MAX_NEW_TOKENS` new tokens by each tiny
Dolly. The rungs of the ladder (:data:`RUNGS`), each answering the whole workload:

- ``dolly_pipeline``: Dolly's own pipeline behaviour, one call per question (:mod:`.baseline`),
  the way the seed article ran Dolly; the baseline of every ratio;
- ``stock_pipeline``: the stock ``pipeline("text-generation")``, one call per question; it
  writes on past ``### End`` to ``max_new_tokens`` and the answer is cut out afterwards;
- ``generate_one``: :func:`dolly_helpers.generate`, one question per call;
- ``generate_batched``: the same, every question in one call: prompts of similar length share a
  left-padded batch (:func:`~dolly_helpers.generation.length_batches`);
- ``static_cache_compiled``: the same batches through ``model.generate`` with a static KV cache and
  ``torch.compile``, which transformers does only on GPUs unless told to compile everywhere;
  the warm-up round pays the compilation, and the report gives its seconds;
- ``fast_path_batched``: ``generate`` on ``load_model(..., backend="ctranslate2")``, one call;
- ``ctranslate2_direct``: CTranslate2 called by hand on the same converted model and the same
  batches: tokenize, ``generate_batch``, decode; what the fast path's own work is measured against;
- ``fast_path_int8``: the fast path with 8-bit weights; its answers may differ, and the report
  gives the share identical to float32.

Every rung but int8 must give the baseline's answers, every round; a difference stops the
benchmark (:class:`AnswersDiffer`). After a warm-up round, ``repeats`` rounds run every rung
once each, the order rotated round by round; the report gives medians of seconds, tokens/s and
the rise of peak resident memory, and ratios taken within each round, all models summed. The
output ends with the four lines of :func:`final_lines`; the exit status is 1 when a target is
missed. Torch and CTranslate2 run on ``--threads`` threads (1 by default: steadier on a shared
machine, and the same for every rung).
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import torch

from ..cli import CommandLineError, Parser, parse_or_status
from ..decoding import stop_token_ids
from ..generation import generate, in_length_batches
from ..loading import LoadedModel, load_model
from ..models import TINY_MODELS, get_spec
from ..prompt import build_prompt, extract_response
from ..questions import COMPARISON_QUESTIONS, Question
from .baseline import ask_dolly_pipeline, ask_stock_pipeline, dolly_pipeline, stock_pipeline
from .cpu_report import BASELINE, MAY_DIFFER, ModelRuns, build_report, final_lines
from .measure import measure

MAX_NEW_TOKENS = 64
DEFAULT_REPEATS = 5
DEFAULT_JSON = Path("runs/cpu-benchmark.json")
RUNGS = ("dolly_pipeline", "stock_pipeline", "generate_one", "generate_batched", "static_cache_compiled",
         "fast_path_batched", "ctranslate2_direct", "fast_path_int8")
Answers = list[tuple[str, int]]  # each question's answer and how many tokens were written for it


class AnswersDiffer(RuntimeError):
    """A rung's answer to a question is not the baseline's: its timing would mean nothing."""


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


def ladder(model_name: str, workload: Workload, names: Sequence[str] = RUNGS) -> dict[str, Callable[[], Answers]]:
    """Load one model every way the named rungs run it; return each rung as a call over the workload."""
    folder = get_spec(model_name).local_path
    model = load_model(model_name)
    questions, limit = workload.questions, workload.max_new_tokens
    builders: dict[str, Callable[[], Callable[[], Answers]]] = {
        "dolly_pipeline": lambda: _each(partial(ask_dolly_pipeline, dolly_pipeline(folder, model.dtype)), workload),
        "stock_pipeline": lambda: _each(partial(ask_stock_pipeline, stock_pipeline(folder, model.dtype)), workload),
        "generate_one": lambda: lambda: [
            (r.response, r.new_tokens)
            for r in (generate(model, q.instruction, context=q.context, max_new_tokens=limit) for q in questions)],
        "generate_batched": lambda: partial(_batched, model, workload),
        "static_cache_compiled": lambda: partial(static_cache_compiled, model, workload),
        "fast_path_batched": lambda: partial(_batched, load_model(model_name, backend="ctranslate2"), workload),
        "ctranslate2_direct": lambda: partial(ctranslate2_direct, load_model(model_name, backend="ctranslate2"),
                                              workload),
        "fast_path_int8": lambda: partial(
            _batched, load_model(model_name, backend="ctranslate2", compute_type="int8"), workload),
    }
    return {name: builders[name]() for name in names}


def _each(ask: Callable[[Question, int], tuple[str, int]], workload: Workload) -> Callable[[], Answers]:
    """A pipeline rung: one call per question."""
    return lambda: [ask(question, workload.max_new_tokens) for question in workload.questions]


def _batched(model: LoadedModel, workload: Workload) -> Answers:
    return _pairs(generate(model, workload.instructions, context=workload.contexts,
                           max_new_tokens=workload.max_new_tokens, batch_size=len(workload.questions)))


def _pairs(results: Sequence) -> Answers:
    return [(result.response, result.new_tokens) for result in results]


def static_cache_compiled(model: LoadedModel, workload: Workload) -> Answers:
    """The batches through ``model.generate`` with a static KV cache, compiled on this CPU too."""
    from transformers import CompileConfig

    config = CompileConfig(mode="default", dynamic=False)
    config._compile_all_devices = True  # transformers' own switch for compiling off a GPU
    tokenizer = model.tokenizer
    prompts = [build_prompt(q.instruction, q.context) for q in workload.questions]
    ids = [tokenizer.encode(prompt) for prompt in prompts]
    stops = stop_token_ids(model)

    def answer(batch: list[int]) -> Answers:
        inputs = tokenizer.pad({"input_ids": [ids[i] for i in batch]}, return_tensors="pt")
        with torch.inference_mode():
            output = model.model.generate(
                **inputs, max_new_tokens=workload.max_new_tokens, do_sample=False, eos_token_id=stops,
                pad_token_id=tokenizer.pad_token_id, cache_implementation="static", compile_config=config,
            )
        return [_cut(row[inputs["input_ids"].shape[1]:].tolist(), stops, tokenizer) for row in output]

    return in_length_batches([len(row) for row in ids], len(ids), answer)


def _cut(new_ids: list[int], stops: list[int], tokenizer) -> tuple[str, int]:
    """The answer in a row of new ids, and how many of them it took, its stop token included."""
    length = next((i + 1 for i, token in enumerate(new_ids) if token in stops), len(new_ids))
    return extract_response(tokenizer.decode(new_ids[:length], skip_special_tokens=True)), length


def ctranslate2_direct(model: LoadedModel, workload: Workload) -> Answers:
    """CTranslate2 by hand, as its documentation shows: tokens in, ``generate_batch``, text out.

    It is given the batches ``generate`` makes (:func:`~dolly_helpers.generation.length_batches`),
    so the fast path's ratio to it is the cost of the wrapper alone.
    """
    tokenizer = model.tokenizer
    prompts = [build_prompt(q.instruction, q.context) for q in workload.questions]
    tokens = [tokenizer.convert_ids_to_tokens(tokenizer.encode(prompt)) for prompt in prompts]
    stops = stop_token_ids(model)

    def answer(batch: list[int]) -> Answers:
        results = model.model.generator.generate_batch(
            [tokens[i] for i in batch], max_length=workload.max_new_tokens, sampling_topk=1,
            include_prompt_in_result=False, end_token=stops, return_end_token=True,
        )
        return [(extract_response(tokenizer.decode(r.sequences_ids[0], skip_special_tokens=True)),
                 len(r.sequences_ids[0])) for r in results]

    return in_length_batches([len(t) for t in tokens], len(tokens), answer)


def check_same_answers(model_name: str, questions: Sequence[Question], expected: Sequence[str],
                       answers: Sequence[str], rung: str) -> None:
    """Raise :class:`AnswersDiffer` (one line) at the first answer that is not the baseline's."""
    if len(answers) != len(expected):
        raise AnswersDiffer(f"{model_name}: {rung} gave {len(answers)} answers for {len(expected)} questions")
    for number, (question, want, got) in enumerate(zip(questions, expected, answers), start=1):
        if got != want:
            raise AnswersDiffer(
                f"{model_name}: {rung} answers question {number} ({question.instruction!r}) with "
                f"{_clip(got)!r}, Dolly's pipeline with {_clip(want)!r}"
            )


def _clip(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def run_model(model_name: str, workload: Workload, repeats: int, names: Sequence[str] = RUNGS) -> ModelRuns:
    """A warm-up round of every rung, then ``repeats`` rounds in rotated order, every answer checked."""
    rungs = ladder(model_name, workload, names)
    warm = {rung: measure(call) for rung, call in rungs.items()}  # one-time costs: compiling, caches
    answers = {rung: measured.value for rung, measured in warm.items()}
    expected = [answer for answer, _ in answers[BASELINE]]
    result = ModelRuns(model_name, expected, {rung: [] for rung in rungs},
                       tokens={rung: sum(tokens for _, tokens in got) for rung, got in answers.items()})
    if "fast_path_int8" in answers and "fast_path_batched" in answers:
        pairs = zip(answers["fast_path_int8"], answers["fast_path_batched"])
        result.int8_identical = sum(a == b for (a, _), (b, _) in pairs) / len(expected)
    if "static_cache_compiled" in warm:
        result.compile_seconds = warm["static_cache_compiled"].seconds
    _check_rungs(model_name, workload, expected, answers)
    names = list(rungs)
    for round_number in range(1, repeats + 1):
        for rung in names[round_number % len(names):] + names[: round_number % len(names)]:
            gc.collect()
            result.runs[rung].append(measure(rungs[rung]))
        _check_rungs(model_name, workload, expected, {rung: runs[-1].value for rung, runs in result.runs.items()})
    return result


def _check_rungs(model_name: str, workload: Workload, expected: list[str], answers: dict[str, Answers]) -> None:
    """Compare every rung's answers with the baseline's, except those allowed to differ."""
    for rung, rung_answers in answers.items():
        if rung not in MAY_DIFFER:
            check_same_answers(model_name, workload.questions, expected, [a for a, _ in rung_answers], rung)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="python -m dolly_helpers.bench cpu", description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(TINY_MODELS), metavar="MODEL",
                        help=f"tiny models to run (default: {' '.join(TINY_MODELS)})")
    parser.add_argument("--repeats", type=int, default=DEFAULT_REPEATS,
                        help=f"measured rounds after the warm-up (default: {DEFAULT_REPEATS})")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON,
                        help=f"where to write the report (default: {DEFAULT_JSON})")
    parser.add_argument("--threads", type=int, default=1, help="threads for torch and CTranslate2 (default: 1)")
    parser.add_argument("--rungs", nargs="+", default=list(RUNGS), metavar="RUNG",
                        help=f"rungs to run, {BASELINE} always among them (default: all: {' '.join(RUNGS)})")
    return parser


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """Parse and check the arguments; a mistake raises :class:`CommandLineError` (one line)."""
    args = build_parser().parse_args(list(argv))
    for name in args.models:
        if name not in TINY_MODELS:
            raise CommandLineError(
                f"unknown model {name!r}: the CPU benchmark runs the tiny models {', '.join(TINY_MODELS)}"
            )
    unknown = [rung for rung in args.rungs if rung not in RUNGS]
    if unknown:
        raise CommandLineError(f"unknown rung {unknown[0]!r}: choose from {', '.join(RUNGS)}")
    args.rungs = [rung for rung in RUNGS if rung in args.rungs or rung == BASELINE]
    if args.repeats < 1:
        raise CommandLineError(f"--repeats must be at least 1, got {args.repeats}")
    if args.threads < 1:
        raise CommandLineError(f"--threads must be at least 1, got {args.threads}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; 0 when every target is met, 1 when one is missed or answers differ, 2 on bad input."""
    args = parse_or_status(parse_args, argv)
    if isinstance(args, int):
        return args

    started = time.perf_counter()
    threads = torch.get_num_threads()
    torch.set_num_threads(args.threads)
    workload = Workload()
    results = []
    try:
        for name in dict.fromkeys(args.models):
            results.append(run_model(name, workload, args.repeats, args.rungs))
            print(f"{name}: measured", file=sys.stderr)
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
