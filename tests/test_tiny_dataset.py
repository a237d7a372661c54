"""Tests for the tiny family's instruction data and its held-out splits (dolly_helpers/tiny/dataset.py).

The held-out splits only mean something if training never saw them: these tests check that no
held-out passage, invented name or wording leaks into the training records, and that the
``knowledge`` split asks only what the mini-Pile's encyclopedia states.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from collections import Counter

import pytest

from dolly_helpers.pile.encyclopedia import articles
from dolly_helpers.tiny.dataset import HELDOUT_PASSAGES, DatasetSplits, category_counts, make_dataset
from dolly_helpers.tiny.facts import COUNTRIES, MOUNTAINS, PRETRAINING_ONLY_COUNTRIES
from dolly_helpers.tiny.passages import passage_pool

DOLLY_CATEGORIES = {
    "brainstorming", "classification", "closed_qa", "creative_writing",
    "general_qa", "information_extraction", "open_qa", "summarization",
}  # fmt: skip
_DIGEST_CODE = (
    "import hashlib; from dolly_helpers.tiny.dataset import make_dataset; "
    "print(hashlib.sha256(repr(make_dataset(seed=0)).encode()).hexdigest())"
)


@pytest.fixture(scope="module")
def dataset() -> DatasetSplits:
    return make_dataset(seed=0)


def _train_text(record) -> str:
    return "\n".join((record.instruction, record.response, record.context or ""))


def _words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text))


def _mentions(names) -> re.Pattern:
    """Whole-word matches of any of ``names`` (longest first, so "Mount Kenya" beats "Kenya")."""
    alternatives = "|".join(re.escape(name) for name in sorted(names, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")


def test_same_seed_gives_the_same_records_in_the_same_order(dataset):
    again = make_dataset(seed=0)
    assert again.train == dataset.train
    assert again.heldout_by_kind == dataset.heldout_by_kind
    assert make_dataset(seed=1).train != dataset.train


def test_another_process_with_another_hash_seed_gives_the_same_records(dataset):
    """Set and dict order of strings changes with PYTHONHASHSEED; the records must not."""
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    result = subprocess.run([sys.executable, "-c", _DIGEST_CODE], capture_output=True, text=True,
                            env=env, timeout=60, check=True)  # fmt: skip
    assert result.stdout.strip() == hashlib.sha256(repr(dataset).encode()).hexdigest()


def test_training_records_cover_all_eight_dolly_categories(dataset):
    counts = category_counts(dataset.train)
    assert set(counts) == DOLLY_CATEGORIES
    assert {record.category for record in dataset.train} == DOLLY_CATEGORIES
    assert all(counts[category] >= 10 for category in DOLLY_CATEGORIES), counts


def test_every_heldout_split_is_filled(dataset):
    assert set(dataset.heldout_by_kind) == {"passage", "phrasing", "knowledge"}
    assert all(len(records) >= 20 for records in dataset.heldout_by_kind.values())
    assert all(record.kind == kind for kind, records in dataset.heldout_by_kind.items() for record in records)


def test_no_heldout_passage_is_a_training_context(dataset):
    heldout = {record.context for record in dataset.heldout_by_kind["passage"]}
    assert None not in heldout
    train_texts = [_train_text(record) for record in dataset.train]
    leaked = [passage for passage in heldout if any(passage in text for text in train_texts)]
    assert leaked == []


def test_no_invented_name_of_a_heldout_passage_occurs_in_training(dataset):
    """The held-out passages drawn again collect every word they were named with (subjects,
    people, towns, rivers and the places of asides); none of them occurs in a training record."""
    names: set[str] = set()
    passages = passage_pool(0, HELDOUT_PASSAGES, heldout=True, taken=names, varied=True)
    assert {p.text for p in passages} == {r.context for r in dataset.heldout_by_kind["passage"]}
    assert len(names) >= 600  # about four a passage
    train_words: set[str] = set()
    for record in dataset.train:
        train_words |= _words(_train_text(record))
    assert sorted(names & train_words) == []


def test_heldout_phrasings_never_ask_a_training_instruction(dataset):
    def normal(text: str) -> str:
        return " ".join(text.lower().split())

    train_instructions = {normal(record.instruction) for record in dataset.train}
    phrasing = dataset.heldout_by_kind["phrasing"]
    assert [r.instruction for r in phrasing if normal(r.instruction) in train_instructions] == []


def test_no_training_record_mentions_a_pretraining_only_country(dataset):
    """Their capitals and highest mountains are kept out of stage 2 as well."""
    facts = {c.capital for c in COUNTRIES if c.name in PRETRAINING_ONLY_COUNTRIES}
    facts |= {m.name for m in MOUNTAINS if m.country in PRETRAINING_ONLY_COUNTRIES}
    pattern = _mentions(PRETRAINING_ONLY_COUNTRIES | facts)
    hits = [(record.instruction, match.group()) for record in dataset.train
            if (match := pattern.search(_train_text(record)))]  # fmt: skip
    assert hits == []


def test_every_knowledge_answer_is_stated_by_the_encyclopedia(dataset):
    """Stage 1 can teach a knowledge answer only if one article states it next to its subject."""
    facts = {c.capital for c in COUNTRIES if c.name in PRETRAINING_ONLY_COUNTRIES}
    facts |= {m.name for m in MOUNTAINS if m.country in PRETRAINING_ONLY_COUNTRIES}
    subjects = _mentions(PRETRAINING_ONLY_COUNTRIES | facts)
    encyclopedia = articles()
    unstated = []
    for record in dataset.heldout_by_kind["knowledge"]:
        subject = subjects.findall(record.instruction)
        assert subject, record.instruction
        if not any(record.answer in article and all(s in article for s in subject) for article in encyclopedia):
            unstated.append((record.instruction, record.answer))
    assert unstated == []


def test_every_heldout_passage_answer_is_in_its_own_passage(dataset):
    """Every "; "-separated part; a part may open a sentence there ("The X River" for "the X River")."""
    missing = []
    for record in dataset.heldout_by_kind["passage"]:
        for part in record.answer.split("; "):
            if not re.search(rf"(?<!\w){re.escape(part.lower())}(?!\w)", record.context.lower()):
                missing.append((part, record.context))
    assert missing == []
    assert any("; " in record.answer for record in dataset.heldout_by_kind["passage"])


def test_varied_passages_are_written_as_ordinary_prose():
    """Shapes a reader's passages have and plain ones lack, each in many of 200 passages."""
    texts = [p.text for p in passage_pool(0, HELDOUT_PASSAGES, heldout=True, taken=set(), varied=True)]
    plain = [p.text for p in passage_pool(0, HELDOUT_PASSAGES, heldout=True, taken=set())]
    shapes = {
        "relative clause": r", (?:which|who) ",
        "lower-case kind": r"\b[Tt]he [A-Z]\w+ (?:canal|bridge|river)\b",
        "the canal for it": r"\b[Tt]he (?:canal|bridge|town|company|peak)\b(?! of)",
        "two facts joined": r"\w \w+ in \d{4} and ",
        "fronted phrase": r"(?:^|\. )(?:Dug|Built|Seen|Set|Small|Still|Restless|By all|Steep|Straight)\b",
        "an aside": r"(?:repaired|died|married) in \d{4}|the port of|nearest village|sold in \d+ countries",
    }
    for shape, pattern in shapes.items():
        assert sum(bool(re.search(pattern, t)) for t in texts) >= 10, shape
        assert sum(bool(re.search(pattern, t)) for t in plain) <= 2, shape


def test_each_fact_of_a_varied_passage_is_stated_once():
    """An aside's year or number is never one of the facts', so every question has one answer there."""
    for passage in passage_pool(0, HELDOUT_PASSAGES, heldout=True, taken=set(), varied=True):
        for fact in passage.facts:
            found = re.findall(rf"(?<![\w,]){re.escape(fact.value)}(?!\w|,\d)", passage.text, flags=re.IGNORECASE)
            assert len(found) == 1, (fact.value, passage.text)


def test_no_list_names_a_mountain_twice():
    """Nepal and China share Mount Everest: a list of three mountains must still name three."""
    import random

    from dolly_helpers.tiny.dataset import _list_records

    records = [r for r in _list_records(random.Random(0), 2000) if r.template == "brainstorm_mountains"]
    assert len(records) > 400 and any("Mount Everest" in r.response for r in records)
    for record in records:
        names = record.response.split(" are ", 1)[1].rstrip(".").replace(" and ", ", ").split(", ")
        assert len(names) == 3 and len(set(names)) == 3, record.response


def test_the_yes_no_suite_says_yes_exactly_when_its_passage_states_the_claim():
    from dolly_helpers.tiny.multiple_choice import SUITE_PASSAGE_SEED, suite
    from dolly_helpers.tiny.passages import claim

    passages = passage_pool(SUITE_PASSAGE_SEED, HELDOUT_PASSAGES, heldout=True, taken=set())
    questions = suite()["yes_no"]
    assert len(questions) == len(passages)
    for passage, question in zip(passages, questions):
        asked = question.prompt.split("Question: Is it true that ", 1)[1].removesuffix("?\nAnswer:")
        stated = {claim(passage, fact, fact.value) for fact in passage.facts}
        assert (asked in stated) == (question.correct == 0), question.prompt
