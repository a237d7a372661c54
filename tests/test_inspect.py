"""Looking inside the tiny model: tokens and next-token probabilities."""

import pytest

from dolly_helpers import build_prompt
from dolly_helpers.inspect import next_token_candidates, tokenize


def test_tokens_reassemble_the_text(model):
    text = "What is the highest mountain in Japan?"
    tokens = tokenize(model, text)
    assert "".join(t.text for t in tokens).replace("␣", " ") == text
    assert len(tokens) < len(text)  # BPE merges characters into longer pieces
    assert all(isinstance(t.id, int) and not t.special for t in tokens)


def test_prompt_keys_are_single_special_tokens(model):
    tokens = tokenize(model, build_prompt("Hi"))
    specials = [t.text for t in tokens if t.special]
    assert specials == ["### Instruction:", "### Response:"]


def test_candidates_are_sorted_probabilities(model):
    candidates = next_token_candidates(model, build_prompt("What is the highest mountain in Japan?"), k=5)
    probabilities = [c.probability for c in candidates]
    assert len(candidates) == 5 and probabilities == sorted(probabilities, reverse=True)
    assert 0 < sum(probabilities) <= 1 + 1e-6
    assert candidates[0].text == "The"
    assert probabilities[0] == pytest.approx(1.0, abs=0.5)
