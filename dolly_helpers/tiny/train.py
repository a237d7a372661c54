"""Train a tiny GPT-NeoX on instruction records: Dolly's recipe in miniature.

The same code trains the shipped tiny family (``python -m dolly_helpers.tiny train``) and the
one-minute model of chapter 9. As in Dolly's fine-tuning, the loss counts only the response:
the prompt is context, not something to learn to write.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

from ..hardware import set_seed
from ..models import ModelSpec
from ..prompt import build_training_text

IGNORE_INDEX = -100


@dataclass
class TrainingRun:
    """A trained model with its tokenizer and the record of how training went."""

    spec: ModelSpec
    model: torch.nn.Module
    tokenizer: object
    steps: int
    batch_size: int
    learning_rate: float
    seconds: float
    losses: list[float] = field(default_factory=list)  # one per step


def neox_config(spec: ModelSpec, tokenizer):
    """A GPT-NeoX config with Dolly's architecture choices at the spec's size."""
    from transformers import GPTNeoXConfig

    return GPTNeoXConfig(
        vocab_size=spec.vocab_size,
        hidden_size=spec.hidden_size,
        num_hidden_layers=spec.num_layers,
        num_attention_heads=spec.num_heads,
        intermediate_size=spec.intermediate_size,
        max_position_embeddings=spec.context_length,
        rotary_pct=spec.rotary_pct,
        rotary_emb_base=10000,
        use_parallel_residual=True,
        tie_word_embeddings=False,
        hidden_act="gelu",
        layer_norm_eps=1e-5,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )


def encode_records(records: Sequence, tokenizer, max_length: int) -> list[tuple[list[int], list[int]]]:
    """Tokenize records into (input ids, labels); labels hide everything up to the response."""
    response_key_id = tokenizer.convert_tokens_to_ids("### Response:")
    encoded = []
    for record in records:
        text = build_training_text(record.instruction, record.response, record.context)
        ids = tokenizer(text)["input_ids"][:max_length]
        answer_start = ids.index(response_key_id) + 1
        labels = [IGNORE_INDEX] * answer_start + ids[answer_start:]
        encoded.append((ids, labels))
    return encoded


def _batch(examples: Sequence[tuple[list[int], list[int]]], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-pad a batch for training; padding is masked out of attention and loss."""
    width = max(len(ids) for ids, _ in examples)
    input_ids, labels, mask = [], [], []
    for ids, label in examples:
        padding = width - len(ids)
        input_ids.append(ids + [pad_id] * padding)
        labels.append(label + [IGNORE_INDEX] * padding)
        mask.append([1] * len(ids) + [0] * padding)
    return {
        "input_ids": torch.tensor(input_ids),
        "labels": torch.tensor(labels),
        "attention_mask": torch.tensor(mask),
    }


def learning_rate_at(step: int, steps: int, peak: float, warmup: int) -> float:
    """Linear warm-up, then cosine decay to a tenth of the peak."""
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, steps - warmup)
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def train_model(
    spec: ModelSpec,
    records: Sequence,
    tokenizer,
    *,
    steps: int,
    batch_size: int = 32,
    learning_rate: float = 2e-3,
    seed: int = 0,
    on_step: Callable[[int, float], None] | None = None,
) -> TrainingRun:
    """Train a fresh GPT-NeoX of ``spec``'s shape on ``records`` for ``steps`` steps on the CPU.

    Deterministic for a given seed on a given machine. ``on_step(step, loss)`` is called after
    every step (a progress bar, a live plot).
    """
    from transformers import GPTNeoXForCausalLM

    set_seed(seed)
    model = GPTNeoXForCausalLM(neox_config(spec, tokenizer))
    model.train()
    examples = encode_records(records, tokenizer, spec.context_length)
    order = random.Random(seed)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=learning_rate, betas=(0.9, 0.95), weight_decay=0.01
    )
    warmup = max(1, steps // 20)
    losses: list[float] = []
    started = time.perf_counter()
    for step in range(steps):
        for group in optimizer.param_groups:
            group["lr"] = learning_rate_at(step, steps, learning_rate, warmup)
        batch = _batch(order.sample(examples, batch_size), tokenizer.pad_token_id)
        loss = model(**batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(loss.item())
        if on_step is not None:
            on_step(step, losses[-1])
    model.eval()
    return TrainingRun(
        spec=spec,
        model=model,
        tokenizer=tokenizer,
        steps=steps,
        batch_size=batch_size,
        learning_rate=learning_rate,
        seconds=time.perf_counter() - started,
        losses=losses,
    )
