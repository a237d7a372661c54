"""Prompts outside the plain template: worked examples before a question, and raw text.

Chapter 8 (Prompt engineering) compares a zero-shot instruction with a few-shot one, and
Dolly's prompt format with text that breaks it. Dolly has a single instruction slot, so the
worked examples of a few-shot prompt go inside the instruction, before the question.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .decoding import stop_token_ids
from .loading import LoadedModel
from .quiet import quiet

QUESTION_LABEL = "Question:"
ANSWER_LABEL = "Answer:"


def few_shot_instruction(
    examples: Sequence[tuple[str, str]],
    instruction: str,
    *,
    question_label: str = QUESTION_LABEL,
    answer_label: str = ANSWER_LABEL,
) -> str:
    """Return an instruction that shows worked examples, then asks ``instruction``.

    Each example is a ``(question, answer)`` pair written as ``Question: ...`` and
    ``Answer: ...`` on two lines; blocks are separated by a blank line and the last block is
    the question alone, so the model's response slot holds the answer. With no examples the
    instruction comes back unchanged: that is the zero-shot prompt.
    """
    if not isinstance(instruction, str) or not instruction.strip():
        raise ValueError("instruction is empty: pass the question or task as a non-empty string")
    if not examples:
        return instruction
    blocks = []
    for pair in examples:
        if len(pair) != 2:
            raise ValueError(f"each example is a (question, answer) pair, got {pair!r}")
        question, answer = pair
        blocks.append(f"{question_label} {question}\n{answer_label} {answer}")
    blocks.append(f"{question_label} {instruction}")
    return "\n\n".join(blocks)


def continue_text(model: LoadedModel, text: str, *, max_new_tokens: int = 48) -> str:
    """Return what the model writes after ``text`` itself, with no prompt template around it.

    Decoding is greedy and stops at ``### End`` or the tokenizer's end-of-text token. Special
    tokens stay in the returned text, so a written ``### End`` is visible.
    """
    tokenizer = model.tokenizer
    inputs = tokenizer(text, return_tensors="pt").to(model.device)
    stop_ids = stop_token_ids(model)
    with quiet(), torch.inference_mode():
        output = model.model.generate(
            **inputs,
            max_new_tokens=max_new_tokens,
            do_sample=False,
            eos_token_id=stop_ids,
            pad_token_id=tokenizer.pad_token_id,
        )
    new_ids = output[0, inputs["input_ids"].shape[1] :]
    return tokenizer.decode(new_ids, skip_special_tokens=False)
