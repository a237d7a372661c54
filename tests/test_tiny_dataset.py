"""Tests for the tiny family's generated instruction data (dolly_helpers/tiny/dataset.py)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import pytest

from dolly_helpers.prompt import build_training_text
from dolly_helpers.tiny.dataset import (
    HELDOUT_TEMPLATES,
    SEED_QUESTIONS,
    DatasetSplits,
    Record,
    category_counts,
    make_dataset,
)
from dolly_helpers.tiny.facts import COUNTRIES, MOUNTAINS

CONTEXT_CATEGORIES = {"closed_qa", "information_extraction", "summarization"}


@pytest.fixture(scope="module")
def dataset() -> DatasetSplits:
    return make_dataset(seed=0)


def _digest(splits: DatasetSplits) -> str:
    return hashlib.sha256(repr(splits).encode()).hexdigest()


def test_same_seed_gives_identical_records(dataset):
    assert make_dataset(seed=0) == dataset
    assert make_dataset(seed=1) != dataset


def test_records_do_not_depend_on_string_hashing(dataset):
    """Set iteration order changes with PYTHONHASHSEED; the data must not."""
    code = (
        "import hashlib; from dolly_helpers.tiny.dataset import make_dataset; "
        "print(hashlib.sha256(repr(make_dataset(seed=0)).encode()).hexdigest())"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                            check=True)  # fmt: skip
    assert result.stdout.strip() == _digest(dataset)


def test_split_sizes(dataset):
    assert 5_000 <= len(dataset.train) <= 8_000
    assert 300 <= len(dataset.heldout) <= 500


def test_categories_use_dolly_names_and_are_varied(dataset):
    dolly_categories = {
        "open_qa", "closed_qa", "information_extraction", "classification",
        "brainstorming", "summarization", "general_qa", "creative_writing",
    }  # fmt: skip
    train_counts = category_counts(dataset.train)
    assert set(train_counts) <= dolly_categories
    assert len(train_counts) >= 5
    assert len(category_counts(dataset.heldout)) >= 5
    assert sum(train_counts.values()) == len(dataset.train)
    assert list(train_counts.values()) == sorted(train_counts.values(), reverse=True)


def test_category_counts_puts_the_most_common_first():
    records = [Record("a", "b", "summarization"), Record("c", "d", "open_qa"),
               Record("e", "f", "open_qa")]  # fmt: skip
    assert list(category_counts(records).items()) == [("open_qa", 2), ("summarization", 1)]


@pytest.mark.parametrize("seed", range(6))
def test_seed_questions_are_trained_with_the_right_answers(seed):
    assert SEED_QUESTIONS[:2] == (
        "What is the highest mountain in Japan?",
        "What is the highest mountain in the world?",
    )
    assert 5 <= len(SEED_QUESTIONS) <= 6
    trained = {r.instruction: r for r in make_dataset(seed).train if r.context is None}
    assert all(question in trained for question in SEED_QUESTIONS)
    japan = trained[SEED_QUESTIONS[0]]
    world = trained[SEED_QUESTIONS[1]]
    assert japan.answer == "Mount Fuji" and "3,776 metres" in japan.response
    assert world.answer == "Mount Everest" and "8,849 metres" in world.response


def test_no_heldout_question_is_in_train(dataset):
    trained = {(r.instruction, r.context) for r in dataset.train}
    assert not [r for r in dataset.heldout if (r.instruction, r.context) in trained]


def test_every_heldout_answer_is_learnable(dataset):
    """A held-out answer is in some training response or in the record's own context."""
    train_responses = "\n".join(r.response for r in dataset.train)
    unlearnable = [
        r for r in dataset.heldout
        if r.answer not in train_responses and r.answer not in (r.context or "")
    ]  # fmt: skip
    assert not unlearnable


def test_heldout_only_phrasings_never_occur_in_train(dataset):
    assert not [r for r in dataset.train if r.template in HELDOUT_TEMPLATES]
    heldout_phrasings = {r.instruction for r in dataset.heldout if r.template in HELDOUT_TEMPLATES}
    trained = {r.instruction for r in dataset.train}
    assert heldout_phrasings and not heldout_phrasings & trained


def test_heldout_mixes_unseen_phrasings_and_unseen_combinations(dataset):
    train_templates = {r.template for r in dataset.train}
    unseen_phrasing = [r for r in dataset.heldout if r.template in HELDOUT_TEMPLATES]
    seen_phrasing = [r for r in dataset.heldout if r.template not in HELDOUT_TEMPLATES]
    assert len(unseen_phrasing) >= 100 and len(seen_phrasing) >= 100
    # Every held-out record is marked one way or the other.
    assert all(r.template in train_templates for r in seen_phrasing)
    # An unseen combination from memory: the same fact is trained with another phrasing.
    trained_facts = {(r.template.split(":")[0], r.response) for r in dataset.train}
    for record in seen_phrasing:
        if record.context is None:
            assert (record.template.split(":")[0], record.response) in trained_facts


def test_records_are_well_formed(dataset):
    for record in dataset.train + dataset.heldout:
        assert record.answer and record.answer in record.response
        assert record.template
        assert len(record.response.split()) <= 40
        assert "{" not in record.instruction + record.response + (record.context or "")
        assert (record.context is not None) == (record.category in CONTEXT_CATEGORIES)


def test_records_fit_the_tiny_context(dataset):
    """256 tokens of a 1,024-token byte-level BPE hold well over 600 characters of this text."""
    longest = max(len(build_training_text(r.instruction, r.response, r.context))
                  for r in dataset.train + dataset.heldout)  # fmt: skip
    assert longest <= 600


def test_fact_tables_are_consistent():
    highest = {m.country: m for m in MOUNTAINS}
    assert highest["Japan"].name == "Mount Fuji" and highest["Japan"].height_m == 3776
    assert highest["the world"].name == "Mount Everest" and highest["the world"].height_m == 8849
    assert max(MOUNTAINS, key=lambda m: m.height_m).name == "Mount Everest"
    assert len(highest) == len(MOUNTAINS) >= 40
    assert len({c.name for c in COUNTRIES}) == len(COUNTRIES) >= 40
    # A mountain has one height wherever it appears.
    heights = {}
    for mountain in MOUNTAINS:
        assert heights.setdefault(mountain.name, mountain.height_m) == mountain.height_m
