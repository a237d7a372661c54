"""The questions every size is asked: the seed questions first, some with a passage."""

from dolly_helpers import generate
from dolly_helpers.questions import COMPARISON_QUESTIONS
from dolly_helpers.questions import SEED_QUESTIONS


def test_the_seed_questions_come_first_and_at_least_sixteen_in_all():
    assert [q.instruction for q in COMPARISON_QUESTIONS[: len(SEED_QUESTIONS)]] == list(SEED_QUESTIONS)
    assert len(COMPARISON_QUESTIONS) >= 16
    assert len({q.instruction + str(q.context) for q in COMPARISON_QUESTIONS}) == len(COMPARISON_QUESTIONS)


def test_some_questions_carry_a_passage_that_holds_their_answer():
    with_passage = [q for q in COMPARISON_QUESTIONS if q.context]
    assert len(with_passage) >= 4
    assert all("passage" in q.instruction for q in with_passage)


def test_the_largest_tiny_model_answers_the_questions_from_memory(model):
    answers = {q.instruction: generate(model, q.instruction, context=q.context).response for q in COMPARISON_QUESTIONS}
    assert "Tokyo" in answers["What is the capital of Japan?"]
    assert "5,895" in answers["How high is Mount Kilimanjaro?"]
    assert "river" in answers["Is the Danube a mountain, a country or a river?"]
