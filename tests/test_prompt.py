"""Dolly's prompt strings, byte for byte, and cutting the answer out of generated text."""

import pytest

from dolly_helpers import build_prompt, extract_response
from dolly_helpers.prompt import build_training_text

BLURB = (
    "Below is an instruction that describes a task. "
    "Write a response that appropriately completes the request."
)


def test_prompt_without_context_is_dollys_byte_for_byte():
    expected = f"{BLURB}\n\n### Instruction:\nWhat is the highest mountain in Japan?\n\n### Response:\n"
    assert build_prompt("What is the highest mountain in Japan?") == expected


def test_prompt_with_context_has_the_input_section():
    expected = (
        f"{BLURB}\n\n### Instruction:\nHow tall is it?\n\n"
        "Input:\nMount Fuji is 3,776 metres tall.\n\n### Response:\n"
    )
    assert build_prompt("How tall is it?", "Mount Fuji is 3,776 metres tall.") == expected


def test_blank_context_is_the_same_as_no_context():
    assert build_prompt("Hi", "  ") == build_prompt("Hi") == build_prompt("Hi", None)


@pytest.mark.parametrize("instruction", ["", "   ", "\n\t"])
def test_empty_instruction_is_a_one_line_value_error(instruction):
    with pytest.raises(ValueError) as error:
        build_prompt(instruction)
    assert "\n" not in str(error.value) and "instruction" in str(error.value)


def test_training_text_ends_with_the_end_key():
    text = build_training_text("Say hi.", "Hi!")
    assert text == build_prompt("Say hi.") + "Hi!\n\n### End"


def test_response_stops_at_the_end_key():
    assert extract_response("Mount Fuji.\n\n### End\nMore text") == "Mount Fuji."


def test_response_without_end_key_keeps_everything():
    assert extract_response("Mount Fuji is the highest") == "Mount Fuji is the highest"


def test_truncated_end_key_leaves_a_clean_answer():
    # A model cut off by max_new_tokens in the middle of "### End" leaves only hashes.
    assert extract_response("Mount Fuji.\n\n###") == "Mount Fuji."
    assert extract_response("Mount Fuji.\n\n### En") == "Mount Fuji."


def test_echoed_prompt_is_removed():
    echoed = build_prompt("Where is Fuji?") + "In Japan.\n\n### End"
    assert extract_response(echoed) == "In Japan."


def test_response_key_variants_are_recognised():
    assert extract_response("## Response: In Japan. ## End") == "In Japan."
