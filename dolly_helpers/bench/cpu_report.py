"""The CPU benchmark's report: medians per rung, the four ratios, the targets they are held to.

:mod:`.cpu` measures; this turns the rounds it measured into the JSON report and the four
lines the output ends with.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..hardware import environment_report
from .measure import Measured, median

if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from .cpu import Workload

BASELINE = "dolly_pipeline"
#: The rungs whose answers need not equal the baseline's.
MAY_DIFFER = ("fast_path_int8",)
#: name: (rung whose seconds are divided, rung divided by, "at_least" or "at_most", the target).
TARGETS = {
    "batched_speedup_vs_dolly_pipeline": (BASELINE, "generate_batched", "at_least", 3.0),
    "fast_path_speedup_vs_dolly_pipeline": (BASELINE, "fast_path_batched", "at_least", 6.0),
    "fast_path_vs_ctranslate2": ("fast_path_batched", "ctranslate2_direct", "at_most", 1.10),
    "batch1_overhead_vs_dolly_pipeline": ("generate_one", BASELINE, "at_most", 1.05),
}


@dataclass
class ModelRuns:
    """Every round of every rung on one model, and the answers they were checked against."""

    model_name: str
    expected: list[str]
    runs: dict[str, list[Measured]] = field(default_factory=dict)
    tokens: dict[str, int] = field(default_factory=dict)
    int8_identical: float | None = None
    compile_seconds: float | None = None

    def seconds(self, rung: str) -> list[float]:
        return [m.seconds for m in self.runs[rung]]

    def to_dict(self) -> dict:
        rungs = {}
        for rung, runs in self.runs.items():
            seconds = median([m.seconds for m in runs])
            rungs[rung] = {
                "seconds": round(seconds, 4),
                "new_tokens": self.tokens[rung],
                "tokens_per_second": round(self.tokens[rung] / seconds, 1),
                "peak_rss_growth_mb": _round(median([m.peak_growth_mb for m in runs]), 1),
                "speedup_vs_dolly_pipeline": round(median(
                    [b / s for b, s in zip(self.seconds(BASELINE), self.seconds(rung))]), 2),
            }
        return {"model_name": self.model_name, "answers_identical_except": list(MAY_DIFFER),
                "int8_answers_identical_to_float32": _round(self.int8_identical, 3),
                "first_compiled_call_seconds": _round(self.compile_seconds, 1), "rungs": rungs}


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def ratio(results: Sequence[ModelRuns], numerator: str, denominator: str) -> float:
    """The median over rounds of ``numerator``'s seconds over ``denominator``'s, all models summed."""
    rounds = len(results[0].runs[numerator])
    top = [sum(r.seconds(numerator)[i] for r in results) for i in range(rounds)]
    bottom = [sum(r.seconds(denominator)[i] for r in results) for i in range(rounds)]
    return median([t / b for t, b in zip(top, bottom)])


def headline(results: Sequence[ModelRuns]) -> dict[str, float]:
    """The four ratios the benchmark ends with, those whose two rungs were run."""
    ran = results[0].runs
    return {name: round(ratio(results, top, bottom), 2)
            for name, (top, bottom, _, _) in TARGETS.items() if top in ran and bottom in ran}


def missed_targets(ratios: dict[str, float]) -> list[str]:
    """A sentence for each target missed; empty when all are met."""
    missed = []
    for name, value in ratios.items():
        _, _, kind, target = TARGETS[name]
        if (kind == "at_least" and value < target) or (kind == "at_most" and value > target):
            missed.append(f"{name} {value:.2f} is {'below' if kind == 'at_least' else 'above'} {target:.2f}")
    return missed


def build_report(results: Sequence[ModelRuns], workload: Workload, repeats: int, threads: int,
                 seconds: float) -> dict:
    """The JSON report: settings, each model's rungs, and the four headline ratios with their targets."""
    ratios = headline(results)
    missed = missed_targets(ratios)
    return {
        "benchmark": "cpu",
        "workload": {
            "questions": len(workload.questions),
            "with_context": sum(q.context is not None for q in workload.questions),
            "decoding": "greedy",
            "max_new_tokens": workload.max_new_tokens,
            "models": [r.model_name for r in results],
        },
        "rungs": list(results[0].runs),
        "baseline": "Dolly's pipeline behaviour (InstructionTextGenerationPipeline) reimplemented without "
                    "remote code: one call per question, stopping at '### End' or end-of-text",
        "settings": {"repeats": repeats, "warm_up_rounds": 1, "threads": threads,
                     "order": "every rung once per round, the order rotated each round"},
        "machine": environment_report(),
        "models": [r.to_dict() for r in results],
        **ratios,
        "targets": {
            **{name: {kind: target} for name, (_, _, kind, target) in TARGETS.items()},
            "met": not missed,
            "missed": missed,
        },
        "bench_seconds": round(seconds, 1),
    }


def final_lines(report: dict) -> str:
    """The lines the output ends with: the four ratios, when every rung ran."""
    return "\n".join(f"{name}: {report[name]:.2f}" for name in TARGETS if name in report)
