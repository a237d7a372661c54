"""Few-shot instructions and raw continuations (chapter 8)."""

import pytest

from dolly_helpers import END_KEY, INSTRUCTION_KEY, build_prompt, generate
from dolly_helpers.few_shot import continue_text, few_shot_instruction

EXAMPLES = [("What is the capital of Japan?", "Tokyo."), ("What is the capital of Kenya?", "Nairobi.")]


def test_examples_come_before_the_question():
    instruction = few_shot_instruction(EXAMPLES, "What is the capital of France?")
    assert instruction == (
        "Question: What is the capital of Japan?\nAnswer: Tokyo.\n\n"
        "Question: What is the capital of Kenya?\nAnswer: Nairobi.\n\n"
        "Question: What is the capital of France?"
    )


def test_no_examples_is_the_zero_shot_instruction():
    assert few_shot_instruction([], "What is the capital of France?") == "What is the capital of France?"


def test_labels_can_be_changed():
    instruction = few_shot_instruction(
        EXAMPLES[:1], "Capital of France?", question_label="Q:", answer_label="A:"
    )
    assert instruction == "Q: What is the capital of Japan?\nA: Tokyo.\n\nQ: Capital of France?"


def test_the_few_shot_instruction_fills_dolly_s_one_instruction_slot():
    prompt = build_prompt(few_shot_instruction(EXAMPLES, "What is the capital of France?"))
    assert prompt.count(INSTRUCTION_KEY) == 1
    assert prompt.endswith("Question: What is the capital of France?\n\n### Response:\n")


@pytest.mark.parametrize("instruction", ["", "   "])
def test_an_empty_question_is_refused(instruction):
    with pytest.raises(ValueError, match="instruction is empty"):
        few_shot_instruction(EXAMPLES, instruction)


def test_an_example_must_be_a_pair():
    with pytest.raises(ValueError, match="pair"):
        few_shot_instruction([("only a question",)], "What is the capital of France?")


def test_continuing_dolly_s_prompt_gives_generate_s_answer_and_the_end_key(model):
    question = "What is the capital of France?"
    text = continue_text(model, build_prompt(question))
    assert text.endswith(END_KEY)
    assert text.removesuffix(END_KEY).strip() == generate(model, question).response


def test_raw_text_is_continued_without_a_template(model):
    short = continue_text(model, "What is the capital of France?", max_new_tokens=5)
    longer = continue_text(model, "What is the capital of France?", max_new_tokens=48)
    assert short and longer.startswith(short) and INSTRUCTION_KEY not in longer
