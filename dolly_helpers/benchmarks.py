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


#: Tokens (rows times the longest row) sent through the model at once when scoring.
TOKENS_PER_FORWARD = 4096


def choice_log_likelihoods(model: LoadedModel, prompt: str, choices: Sequence[str]) -> list[float]:
    """The log-probability of each choice's tokens after ``prompt``, summed over the tokens.

    Higher (closer to zero) means more likely.
    """
    return _choice_scores(model, [MultipleChoice(prompt, tuple(choices), 0)])[0]


def pick_choice(model: LoadedModel, question: MultipleChoice) -> int:
    """The index of the choice the model finds most likely: its answer to the question."""
    return _best(choice_log_likelihoods(model, question.prompt, question.choices))


def multiple_choice_accuracy(model: LoadedModel, questions: Sequence[MultipleChoice]) -> float:
    """The fraction of questions whose correct choice the model finds most likely."""
    if not questions:
        raise ValueError("no questions to score")
    scores = _choice_scores(model, questions)
    return sum(_best(s) == q.correct for s, q in zip(scores, questions)) / len(questions)


def _best(scores: Sequence[float]) -> int:
    return max(range(len(scores)), key=scores.__getitem__)


def _choice_scores(model: LoadedModel, questions: Sequence[MultipleChoice]) -> list[list[float]]:
    """Every choice of every question scored; the rows of many questions share a forward pass."""
    tokenizer = model.tokenizer
    rows = []
    for question in questions:
        prompt_ids = tokenizer(question.prompt)["input_ids"]
        choice_ids = [tokenizer(choice)["input_ids"] for choice in question.choices]
        if not prompt_ids or any(not ids for ids in choice_ids):
            raise ValueError("the prompt and every choice need at least one token")
        rows += [(prompt_ids, ids) for ids in choice_ids]
    flat, batch, longest = [], [], 0
    for row in rows:
        longest = max(longest, len(row[0]) + len(row[1]))
        if batch and (len(batch) + 1) * longest > TOKENS_PER_FORWARD:
            flat += _row_scores(model, batch)
            batch, longest = [], len(row[0]) + len(row[1])
        batch.append(row)
    flat += _row_scores(model, batch)
    scores, taken = [], 0
    for question in questions:
        scores.append(flat[taken : taken + len(question.choices)])
        taken += len(question.choices)
    return scores


def _row_scores(model: LoadedModel, rows: Sequence[tuple[list[int], list[int]]]) -> list[float]:
    """The summed log-probability of each row's continuation after its prompt, in one forward pass.

    Rows are padded on the right, so each continuation sees exactly its own prompt before it; the
    output layer runs only at the positions that predict a continuation token.
    """
    length = max(len(p) + len(c) for p, c in rows)
    input_ids = torch.full((len(rows), length), model.tokenizer.pad_token_id, dtype=torch.long)
    attention_mask = torch.zeros_like(input_ids)
    rows_at, positions, targets = [], [], []
    for row, (prompt_ids, ids) in enumerate(rows):
        sequence = prompt_ids + ids
        input_ids[row, : len(sequence)] = torch.tensor(sequence)
        attention_mask[row, : len(sequence)] = 1
        # The token at position p is predicted by the output at position p - 1.
        rows_at += [row] * len(ids)
        positions += range(len(prompt_ids) - 1, len(sequence) - 1)
        targets += ids
    network = model.model
    with torch.inference_mode():
        hidden = network.base_model(
            input_ids=input_ids.to(model.device), attention_mask=attention_mask.to(model.device)
        ).last_hidden_state
        logits = network.get_output_embeddings()(hidden[torch.tensor(rows_at), torch.tensor(positions)]).float()
    token_scores = torch.log_softmax(logits, dim=-1)[torch.arange(len(targets)), torch.tensor(targets)].cpu()
    sums = torch.zeros(len(rows), dtype=torch.float64).index_add_(0, torch.tensor(rows_at), token_scores.double())
    return sums.tolist()
