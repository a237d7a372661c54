"""Look inside a model: how it splits text into tokens and what it would say next.

Chapter 1 uses both on the tiny model; chapter 3 shows Dolly's prompt tokenized.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .loading import LoadedModel


@dataclass(frozen=True)
class Token:
    id: int
    text: str  # readable: spaces and newlines shown as "␣" and "⏎" (special tokens as they are)
    special: bool


def tokenize(model: LoadedModel, text: str) -> list[Token]:
    """Split ``text`` into the model's tokens, each with its id and readable text."""
    tokenizer = model.tokenizer
    special_ids = set(tokenizer.all_special_ids)
    tokens = []
    for token_id in tokenizer(text)["input_ids"]:
        special = token_id in special_ids
        piece = tokenizer.decode([token_id])
        tokens.append(Token(token_id, piece if special else _readable(piece), special))
    return tokens


@dataclass(frozen=True)
class Candidate:
    text: str
    probability: float


def next_token_candidates(model: LoadedModel, prompt: str, k: int = 10) -> list[Candidate]:
    """The ``k`` most likely next tokens after ``prompt``, with their probabilities."""
    inputs = model.tokenizer(prompt, return_tensors="pt").to(model.device)
    with torch.inference_mode():
        logits = model.model(**inputs).logits[0, -1].float()
    probabilities = torch.softmax(logits, dim=-1)
    top = torch.topk(probabilities, k)
    return [
        Candidate(_readable(model.tokenizer.decode([int(i)])), float(p))
        for p, i in zip(top.values, top.indices)
    ]


def _readable(text: str) -> str:
    return text.replace(" ", "␣").replace("\n", "⏎")
