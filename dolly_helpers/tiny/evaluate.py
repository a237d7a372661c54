"""Score a model on held-out questions: exact match and a softer "has the key fact" score.

Chapter 6 shows these scores rising with parameter count, the way the Dolly model card
shows benchmark accuracy rising from 3b to 12b.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from ..generation import generate
from ..loading import LoadedModel

_NOT_WORD = re.compile(r"[^0-9a-z]+")


@dataclass(frozen=True)
class Evaluation:
    """How one model did on a list of records; scores are fractions between 0 and 1."""

    model_name: str
    n_params: int
    n_questions: int
    exact_match: float
    answer_match: float
    by_category: dict[str, tuple[float, float]]  # category -> (exact, answer match)


def normalize(text: str) -> str:
    """Lower-case, drop punctuation and collapse spaces, so "3,776 m." equals "3776 m"."""
    return " ".join(_NOT_WORD.sub(" ", text.lower().replace(",", "")).split())


def is_exact_match(response: str, reference: str) -> bool:
    return normalize(response) == normalize(reference)


def has_answer(response: str, answer: str) -> bool:
    """True when the key fact (a name, a number) appears in the response."""
    return f" {normalize(answer)} " in f" {normalize(response)} "


def evaluate_model(model: LoadedModel, records: Sequence, *, max_new_tokens: int = 48) -> Evaluation:
    """Answer every record greedily and score the answers against the references."""
    results = generate(
        model,
        [record.instruction for record in records],
        context=[record.context for record in records],
        max_new_tokens=max_new_tokens,
        batch_size=32,
    )
    scores: dict[str, list[tuple[bool, bool]]] = defaultdict(list)
    for record, result in zip(records, results):
        exact = is_exact_match(result.response, record.response)
        scores[record.category].append((exact, has_answer(result.response, record.answer)))
    every = [score for category in scores.values() for score in category]
    return Evaluation(
        model_name=model.name,
        n_params=sum(p.numel() for p in model.model.parameters()),
        n_questions=len(every),
        exact_match=_mean(exact for exact, _ in every),
        answer_match=_mean(found for _, found in every),
        by_category={
            category: (_mean(e for e, _ in pairs), _mean(f for _, f in pairs))
            for category, pairs in sorted(scores.items())
        },
    )


def _mean(flags) -> float:
    flags = list(flags)
    return sum(flags) / len(flags) if flags else 0.0
