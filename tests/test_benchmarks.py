"""Harness-style multiple-choice scoring on the tiny models (chapter 6)."""

import math

import pytest
import torch

from dolly_helpers import build_prompt
from dolly_helpers.benchmarks import (
    MultipleChoice,
    as_multiple_choice,
    choice_log_likelihoods,
    multiple_choice_accuracy,
    pick_choice,
)
from dolly_helpers.tiny.dataset import Record, make_dataset

PLACES = ("mountain", "country", "river")
FRANCE = MultipleChoice(
    build_prompt("What is the capital of France?"),
    ("The capital of France is Rome.", "The capital of France is Paris.", "The capital of France is Lima."),
    correct=1,
)


def test_a_record_becomes_a_question_that_differs_only_in_the_fact():
    record = Record("Is Toubkal a mountain, a country or a river?", "Toubkal is a mountain.", "classification", answer="mountain")
    question = as_multiple_choice(record, PLACES)
    assert question.prompt == build_prompt(record.instruction)
    assert question.choices == ("Toubkal is a mountain.", "Toubkal is a country.", "Toubkal is a river.")
    assert question.correct == 0


def test_only_the_last_occurrence_of_the_answer_is_swapped():
    record = Record("Which continent?", "Asia Minor lies in Asia.", "classification", answer="Asia")
    question = as_multiple_choice(record, ("Asia", "Europe"))
    assert question.choices == ("Asia Minor lies in Asia.", "Asia Minor lies in Europe.")


def test_a_record_without_its_answer_among_the_options_is_refused():
    record = Record("Is Toubkal a mountain?", "Toubkal is a mountain.", "classification", answer="mountain")
    with pytest.raises(ValueError, match="not among the options"):
        as_multiple_choice(record, ("country", "river"))
    with pytest.raises(ValueError, match="does not occur"):
        as_multiple_choice(Record("?", "It is tall.", "classification", answer="mountain"), PLACES)


def test_log_likelihoods_are_one_negative_number_per_choice(model):
    scores = choice_log_likelihoods(model, FRANCE.prompt, FRANCE.choices)
    assert len(scores) == 3 and all(score < 0 for score in scores)


def test_the_large_model_prefers_the_fact_it_learned(model):
    assert pick_choice(model, FRANCE) == 1


def test_batched_scores_equal_scoring_each_choice_alone(tiny_models):
    model = tiny_models["tiny-dolly-small"]
    together = choice_log_likelihoods(model, FRANCE.prompt, FRANCE.choices)
    alone = [choice_log_likelihoods(model, FRANCE.prompt, [choice])[0] for choice in FRANCE.choices]
    assert together == pytest.approx(alone, abs=1e-4)


def test_the_score_is_the_sum_of_the_choice_tokens_log_probabilities(model):
    prompt, choice = FRANCE.prompt, FRANCE.choices[1]
    prompt_ids = model.tokenizer(prompt)["input_ids"]
    choice_ids = model.tokenizer(choice)["input_ids"]
    with torch.inference_mode():
        logits = model.model(input_ids=torch.tensor([prompt_ids + choice_ids])).logits[0]
    log_probs = torch.log_softmax(logits, dim=-1)
    expected = sum(float(log_probs[len(prompt_ids) + i - 1, token]) for i, token in enumerate(choice_ids))
    assert choice_log_likelihoods(model, prompt, [choice])[0] == pytest.approx(expected, abs=1e-4)


def test_accuracy_on_held_out_place_questions_beats_chance(model):
    records = [r for r in make_dataset(0).heldout if r.template.startswith("kind_of_place")][:20]
    accuracy = multiple_choice_accuracy(model, [as_multiple_choice(r, PLACES) for r in records])
    assert 1 / 3 < accuracy <= 1 and math.isclose(accuracy * 20, round(accuracy * 20))


def test_accuracy_needs_questions(model):
    with pytest.raises(ValueError, match="no questions"):
        multiple_choice_accuracy(model, [])
