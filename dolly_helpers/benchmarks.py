"""Score multiple-choice questions the way the LM Evaluation Harness does.

Chapter 6 explains the Dolly model card's benchmark table. The harness behind it never lets a
model write an answer: it appends each choice to the question, adds up the log-probabilities
the model gives the choice's tokens, and counts the question right when the correct choice is
the most likely one. These helpers do the same for the tiny models, on held-out records turned
into multiple-choice questions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from .loading import LoadedModel
from .prompt import build_prompt


@dataclass(frozen=True)
class MultipleChoice:
    """One question: the prompt, the candidate continuations and the index of the right one."""

    prompt: str
    choices: tuple[str, ...]
    correct: int


def as_multiple_choice(record, options: Sequence[str]) -> MultipleChoice:
    """Turn a record into a multiple-choice question in Dolly's prompt format.

    Each choice is the record's reference response with its key fact (``record.answer``)
    swapped for one of ``options``: "Toubkal is a mountain." becomes "Toubkal is a river.", and
    so on. The choices differ only in that fact, so the model's preference among them is its
    answer.
    """
    if record.answer not in options:
        raise ValueError(f"the answer {record.answer!r} is not among the options {tuple(options)}")
    head, found, tail = record.response.rpartition(record.answer)
    if not found:
        raise ValueError(f"the answer {record.answer!r} does not occur in the response {record.response!r}")
    choices = tuple(f"{head}{option}{tail}" for option in options)
    return MultipleChoice(build_prompt(record.instruction, record.context), choices, list(options).index(record.answer))


def choice_log_likelihoods(model: LoadedModel, prompt: str, choices: Sequence[str]) -> list[float]:
    """The log-probability of each choice's tokens after ``prompt``, summed over the tokens.

    All choices go through the model in one batch, padded on the right, so each choice sees
    exactly the prompt before it. Higher (closer to zero) means more likely.
    """
    tokenizer = model.tokenizer
    prompt_ids = tokenizer(prompt)["input_ids"]
    choice_ids = [tokenizer(choice)["input_ids"] for choice in choices]
    if not prompt_ids or any(not ids for ids in choice_ids):
        raise ValueError("the prompt and every choice need at least one token")
    length = len(prompt_ids) + max(len(ids) for ids in choice_ids)
    pad = tokenizer.pad_token_id
    input_ids = torch.full((len(choices), length), pad, dtype=torch.long)
    attention_mask = torch.zeros_like(input_ids)
    for row, ids in enumerate(choice_ids):
        sequence = prompt_ids + ids
        input_ids[row, : len(sequence)] = torch.tensor(sequence)
        attention_mask[row, : len(sequence)] = 1
    with torch.inference_mode():
        logits = model.model(
            input_ids=input_ids.to(model.device), attention_mask=attention_mask.to(model.device)
        ).logits.float()
    log_probs = torch.log_softmax(logits, dim=-1).cpu()
    scores = []
    for row, ids in enumerate(choice_ids):
        # The token at position p is predicted by the logits at position p - 1.
        positions = torch.arange(len(prompt_ids), len(prompt_ids) + len(ids))
        scores.append(float(log_probs[row, positions - 1, torch.tensor(ids)].sum()))
    return scores


def pick_choice(model: LoadedModel, question: MultipleChoice) -> int:
    """The index of the choice the model finds most likely: its answer to the question."""
    scores = choice_log_likelihoods(model, question.prompt, question.choices)
    return max(range(len(scores)), key=scores.__getitem__)


def multiple_choice_accuracy(model: LoadedModel, questions: Sequence[MultipleChoice]) -> float:
    """The fraction of questions whose correct choice the model finds most likely."""
    if not questions:
        raise ValueError("no questions to score")
    return sum(pick_choice(model, question) == question.correct for question in questions) / len(questions)
