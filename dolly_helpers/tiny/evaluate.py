"""Score a model, base or tuned, on the tiny family's held-out splits (chapters 5 and 6).

Four generated scores (greedy answers; a score is the share of answers that contain the key
fact) and the multiple-choice suite of :mod:`.multiple_choice`:

* ``passage``: reading unseen passages about invented names (closed QA and extraction);
* ``phrasing``: facts the instruction data teaches, asked in wordings it never uses;
* ``knowledge``: facts only the pretraining text states (is stage 1 used in stage 2?);
* ``end_key``: the share of held-out prompts answered and stopped with ``### End``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..benchmarks import MultipleChoice
from ..generation import generate
from ..loading import LoadedModel
from .dataset import HELDOUT_KINDS, Record
from .multiple_choice import score_suite

_NOT_WORD = re.compile(r"[^0-9a-z]+")
SCORES = (*HELDOUT_KINDS, "end_key")


@dataclass(frozen=True)
class Evaluation:
    """How one model did; every score is a fraction between 0 and 1."""

    model_name: str
    stage: str
    n_params: int
    scores: dict[str, float]  # passage, phrasing, knowledge, end_key
    counts: dict[str, int]  # questions behind each generated score
    multiple_choice: dict[str, float] = field(default_factory=dict)  # task -> accuracy

    @property
    def n_questions(self) -> int:
        return sum(self.counts[kind] for kind in HELDOUT_KINDS)


def normalize(text: str) -> str:
    """Lower-case, drop punctuation and collapse spaces, so "3,776 m." equals "3776 m"."""
    return " ".join(_NOT_WORD.sub(" ", text.lower().replace(",", "")).split())


def has_answer(response: str, answer: str) -> bool:
    """True when every key fact (a name, a number; "; " separates several) is in the response."""
    found = f" {normalize(response)} "
    return all(f" {normalize(part)} " in found for part in answer.split("; ") if part)


def answer_records(model: LoadedModel, records: Sequence[Record], max_new_tokens: int = 48) -> list[tuple[bool, bool]]:
    """Answer every record greedily: (has the key fact, stopped with ``### End``) for each."""
    results = generate(model, [r.instruction for r in records], context=[r.context for r in records],
                       max_new_tokens=max_new_tokens, batch_size=32)  # fmt: skip
    return [(has_answer(res.response, rec.answer), res.stop_reason == "end_key") for res, rec in zip(results, records)]


def evaluate_model(
    model: LoadedModel,
    heldout_by_kind: dict[str, Sequence[Record]],
    suite: dict[str, Sequence[MultipleChoice]] | None = None,
) -> Evaluation:
    """All the scores of one model on the held-out splits and the multiple-choice suite."""
    scores, counts, stops = {}, {}, []
    for kind, records in heldout_by_kind.items():
        marks = answer_records(model, records)
        scores[kind] = _share(found for found, _ in marks)
        counts[kind] = len(marks)
        stops += [stopped for _, stopped in marks]
    scores["end_key"], counts["end_key"] = _share(stops), len(stops)
    return Evaluation(
        model_name=model.name,
        stage=model.spec.stage,
        n_params=sum(p.numel() for p in model.model.parameters()),
        scores=scores,
        counts=counts,
        multiple_choice=score_suite(model, suite) if suite else {},
    )


def _share(flags) -> float:
    flags = list(flags)
    return round(sum(flags) / len(flags), 4) if flags else 0.0
