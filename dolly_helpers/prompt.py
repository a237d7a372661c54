"""Dolly's prompt format and how an answer is cut out of the generated text.

Chapter 3 builds these prompts and shows them tokenized. The strings are Dolly's own,
byte for byte (databrickslabs/dolly, training/consts.py).
"""

from __future__ import annotations

import re

from .validation import check_context, check_instruction

INTRO_BLURB = (
    "Below is an instruction that describes a task. "
    "Write a response that appropriately completes the request."
)
INSTRUCTION_KEY = "### Instruction:"
INPUT_KEY = "Input:"
RESPONSE_KEY = "### Response:"
END_KEY = "### End"

#: The keys Dolly's tokenizer carries as additional special tokens.
SPECIAL_TOKENS = (END_KEY, INSTRUCTION_KEY, RESPONSE_KEY)

_RESPONSE_KEY_PATTERN = re.compile(r"#+\s*Response:")
_END_KEY_PATTERN = re.compile(r"#+\s*End")
_CUT_OFF_END_KEY = re.compile(r"\s*#+\s*(?:E(?:n)?)?\s*$")


def build_prompt(instruction: str, context: str | None = None) -> str:
    """Return the exact text Dolly continues: the blurb, the instruction, optional context.

    A blank context is the same as none. Raises a one-line ``ValueError`` when the instruction
    is empty or only whitespace, and a ``TypeError`` when the instruction or the context is not
    text (``None``, a number, ``bytes``).
    """
    instruction = check_instruction(instruction)
    context = check_context(context)
    prompt = f"{INTRO_BLURB}\n\n{INSTRUCTION_KEY}\n{instruction}\n\n"
    if context is not None:
        prompt += f"{INPUT_KEY}\n{context}\n\n"
    return prompt + f"{RESPONSE_KEY}\n"


def build_training_text(instruction: str, response: str, context: str | None = None) -> str:
    """Return one training record as Dolly saw it: the prompt, the response and the end key."""
    return f"{build_prompt(instruction, context)}{response}\n\n{END_KEY}"


def extract_response(generated: str) -> str:
    """Return the answer inside a generated text, without prompt, keys or end marker.

    ``generated`` may be only the new text or the prompt plus the new text (the stock
    text-generation pipeline echoes the prompt). Text after ``### End`` is dropped; a text
    cut off before the end key keeps everything up to where it stopped, less any half-written
    end key.
    """
    # The last response key starts the answer; an echoed prompt comes before it.
    response_keys = list(_RESPONSE_KEY_PATTERN.finditer(generated))
    text = generated[response_keys[-1].end() :] if response_keys else generated
    end = _END_KEY_PATTERN.search(text)
    if end is not None:
        text = text[: end.start()]
    else:
        text = _CUT_OFF_END_KEY.sub("", text)
    return text.strip()
