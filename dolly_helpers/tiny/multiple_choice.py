"""A tiny benchmark suite in the style of the LM Evaluation Harness tasks of Dolly's model card.

Each question is a plain-text prompt with a few candidate answers, scored by
:mod:`dolly_helpers.benchmarks` the way the harness scores ARC, PIQA or BoolQ: the model
"chooses" the candidate whose tokens it finds most likely. No prompt format and no generation
are involved, so a base model and an instruction-tuned one are scored the same way (chapter 6).
Four tasks: capitals and highest mountains (knowledge, like ARC), yes/no questions about unseen
passages (like BoolQ) and arithmetic (like the harness's arithmetic tasks).
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from ..benchmarks import MultipleChoice, multiple_choice_accuracy
from ..loading import LoadedModel
from .dataset import HELDOUT_PASSAGES
from .relations import country_rows
from .passages import claim, passage_pool


SUITE_PASSAGE_SEED = 1  # its passages come from the held-out name pool, drawn afresh


def _options(right: str, pool: Sequence[str], rng: random.Random, k: int = 4) -> tuple[tuple[str, ...], int]:
    wrong = rng.sample(sorted(set(pool) - {right}), k - 1)
    options = [right, *wrong]
    rng.shuffle(options)
    return tuple(f" {o}" for o in options), options.index(right)


def _fact_questions(rng: random.Random, slot: str, question: str) -> list[MultipleChoice]:
    """One question per country that has ``slot``; the wrong choices are other countries' values."""
    rows = [r for r in country_rows() if slot in r]
    questions = []
    for row in rows:
        choices, correct = _options(row[slot], [r[slot] for r in rows], rng)
        questions.append(MultipleChoice(f"Question: {question.format(**row)}\nAnswer:", choices, correct))
    return questions


# Every tiny model answers " no" to all of these. Tried: stage 2 of tiny-dolly-medium again with 2,762
# more records that check a claim against a training passage ("Is it true that ...?" answered "Yes."
# or "No." and then the fact). Its passage reading rose from 80% to 93.5%, yet it still chose " no"
# every time here, and asked in Dolly's format it wrote the passage's fact after a verdict right half
# the time: judging a claim in the first token it writes is beyond these sizes.
def _yes_no(rng: random.Random) -> list[MultipleChoice]:
    """BoolQ in miniature: is a statement about a held-out passage true?"""
    passages = passage_pool(SUITE_PASSAGE_SEED, HELDOUT_PASSAGES, heldout=True, taken=set())
    by_key: dict[str, list[str]] = {}
    for passage in passages:
        for fact in passage.facts:
            by_key.setdefault(fact.key, []).append(fact.value)
    questions = []
    for passage in passages:
        fact = rng.choice(passage.facts)
        true = rng.random() < 0.5
        value = fact.value if true else rng.choice([v for v in by_key[fact.key] if v != fact.value] or ["none"])
        statement = claim(passage, fact, value)
        prompt = f"{passage.text}\nQuestion: Is it true that {statement}?\nAnswer:"
        questions.append(MultipleChoice(prompt, (" yes", " no"), 0 if true else 1))
    return questions


def _arithmetic(rng: random.Random, count: int = 100) -> list[MultipleChoice]:
    questions = []
    for _ in range(count):
        a, b = rng.randint(2, 99), rng.randint(2, 99)
        op = rng.choice("+-*")
        right = a + b if op == "+" else a - b if op == "-" else a * b
        wrong = {right + 1, right - 1, right + 10, right - 10} - {right}
        options = [right, *rng.sample(sorted(wrong), 3)]
        rng.shuffle(options)
        questions.append(MultipleChoice(f"Question: What is {a} {op} {b}?\nAnswer:",
                                tuple(f" {o}" for o in options), options.index(right)))  # fmt: skip
    return questions


TASKS = ("capitals", "mountains", "yes_no", "arithmetic")


def suite(seed: int = 0) -> dict[str, list[MultipleChoice]]:
    """Every question of the suite by task, the same for a given seed."""
    rng = random.Random(f"suite-{seed}")
    return {
        "capitals": _fact_questions(rng, "capital", "What is the capital of {country}?"),
        "mountains": _fact_questions(rng, "mountain", "What is the highest mountain in {country}?"),
        "yes_no": _yes_no(rng),
        "arithmetic": _arithmetic(rng),
    }


def score_suite(model: LoadedModel, questions: dict[str, Sequence[MultipleChoice]]) -> dict[str, float]:
    """Accuracy per task: the share of questions where the right choice is the most likely."""
    return {task: round(multiple_choice_accuracy(model, items), 4) for task, items in questions.items()}
