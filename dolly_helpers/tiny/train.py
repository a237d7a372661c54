"""Train the tiny family in Dolly's two stages, on the CPU.

Stage 1 pretrains a fresh GPT-NeoX on the mini-Pile, packed into full windows as Pythia was
(:func:`pretrain`). Stage 2 fine-tunes it on instruction records the way Dolly's trainer does
(:func:`instruction_tune`): Dolly's three keys become special tokens, the embeddings are resized,
records longer than the window are dropped rather than cut, and the loss counts only the
response and ``### End``. Chapter 10 writes the same training step out by hand.

Stage 2 can also replay pretraining text: each step adds the next-token loss of a few packed
windows of it. Dolly's trainer does not, and need not: its 15,011 records, about 1.5 million
tokens, are a two-hundred-thousandth of Pythia's 300 billion. The tiny family's stage 2 reads
about as many tokens as its stage 1, and without replay it forgot what stage 1 taught about the
countries it never asks about (:data:`~dolly_helpers.tiny.family.REPLAYED` says what was measured).
"""

from __future__ import annotations

import math
import random
import time
from contextlib import contextmanager
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

from ..hardware import cpu_computes_bf16, set_seed
from ..models import ModelSpec
from ..prompt import RESPONSE_KEY, build_training_text
from ..quiet import quiet
from .tokenizer import add_dolly_keys

IGNORE_INDEX = -100
OnStep = Callable[[int, int, float], None]  # (step, steps, loss)


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
    tokens_seen: int
    losses: list[float] = field(default_factory=list)  # one per step
    dropped_records: int = 0
    bf16: bool = False  # whether the forward passes ran under bfloat16 autocast

    @property
    def number_format(self) -> str:
        """How training computed, in the words of the model card."""
        return "float32 weights, bfloat16 autocast" if self.bf16 else "float32"


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


def learning_rate_at(step: int, steps: int, peak: float, warmup: int) -> float:
    """Linear warm-up, then cosine decay to a tenth of the peak (Pythia's schedule)."""
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, steps - warmup)
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def pack_documents(documents: Sequence[str], tokenizer, window: int) -> torch.Tensor:
    """Tokenize, join with ``<|endoftext|>`` and cut into full windows: Pythia's packing."""
    stream: list[int] = []
    with quiet():  # long documents are meant to be longer than the window here
        encoded = tokenizer(list(documents), add_special_tokens=False)["input_ids"]
    for ids in encoded:
        stream += ids + [tokenizer.eos_token_id]
    blocks = len(stream) // window
    return torch.tensor(stream[: blocks * window]).view(blocks, window)


def _run_steps(model, batches: Sequence[dict], peak: float, on_step: OnStep | None, bf16: bool,
               replay: Sequence[dict] = ()) -> list[float]:
    """AdamW over ``batches`` in order with the warm-up/cosine schedule; returns each step's loss.

    With ``replay``, step ``i`` adds the loss of ``replay[i % len(replay)]`` to its batch's loss
    (the recorded loss stays the batch's own).

    ``bf16`` runs the forward pass under bfloat16 autocast (weights stay float32): about 1.6x
    faster on CPUs with AVX-512 BF16, and as deterministic. Both stages turn it on only where the
    CPU computes bfloat16 itself (:func:`~dolly_helpers.hardware.cpu_computes_bf16`), so the same
    seed gives the same weights on machines of one kind, not across kinds.
    """
    optimizer = torch.optim.AdamW(model.parameters(), lr=peak, betas=(0.9, 0.95), weight_decay=0.01)
    steps, warmup, losses = len(batches), max(1, len(batches) // 20), []
    model.train()
    for step, batch in enumerate(batches):
        for group in optimizer.param_groups:
            group["lr"] = learning_rate_at(step, steps, peak, warmup)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = model(**batch).loss
            total = loss + model(**replay[step % len(replay)]).loss if replay else loss
        total.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(loss.item())
        if on_step is not None:
            on_step(step, steps, losses[-1])
    model.eval()
    return losses


def pretrain(
    spec: ModelSpec,
    blocks: torch.Tensor,
    tokenizer,
    *,
    batch_size: int,
    learning_rate: float,
    seed: int = 0,
    on_step: OnStep | None = None,
) -> TrainingRun:
    """Stage 1: a fresh GPT-NeoX of ``spec``'s shape reads every packed block once, in order."""
    from transformers import GPTNeoXForCausalLM

    set_seed(seed)
    model = GPTNeoXForCausalLM(neox_config(spec, tokenizer))
    batches = [{"input_ids": chunk, "labels": chunk} for chunk in blocks.split(batch_size)]
    started = time.perf_counter()
    bf16 = cpu_computes_bf16()
    losses = _run_steps(model, batches, learning_rate, on_step, bf16)
    return TrainingRun(spec, model, tokenizer, len(batches), batch_size, learning_rate,
                       time.perf_counter() - started, blocks.numel(), losses, bf16=bf16)  # fmt: skip


def response_start(ids: Sequence[int], tokenizer) -> int:
    """Index of the first response token: everything before it (up to ``### Response:`` and its
    newline) gets no loss, as in Dolly's ``DataCollatorForCompletionOnlyLM``."""
    key = tokenizer.convert_tokens_to_ids(RESPONSE_KEY)
    start = list(ids).index(key) + 1
    newline = tokenizer("\n", add_special_tokens=False)["input_ids"]
    if list(ids[start : start + len(newline)]) == newline:
        start += len(newline)
    return start


def encode_records(
    records: Sequence, tokenizer, window: int, *, response_only: bool = True
) -> tuple[list[tuple[list[int], list[int]]], int]:
    """Tokenize records into (input ids, labels) and count those dropped for not fitting.

    A record longer than ``window`` is dropped, never cut, so ``### End`` is never lost.
    With ``response_only=False`` the loss covers the whole prompt too (chapter 10 compares).
    """
    encoded, dropped = [], 0
    texts = [build_training_text(r.instruction, r.response, r.context) for r in records]
    with quiet():
        all_ids = tokenizer(texts)["input_ids"]
    for ids in all_ids:
        if len(ids) > window:
            dropped += 1
            continue
        start = response_start(ids, tokenizer) if response_only else 0
        encoded.append((ids, [IGNORE_INDEX] * start + ids[start:]))
    return encoded, dropped


def pad_batch(examples: Sequence[tuple[list[int], list[int]]], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-pad a batch for training; padding is masked out of attention and loss."""
    width = max(len(ids) for ids, _ in examples)
    input_ids, labels, mask = [], [], []
    for ids, label in examples:
        padding = width - len(ids)
        input_ids.append(ids + [pad_id] * padding)
        labels.append(label + [IGNORE_INDEX] * padding)
        mask.append([1] * len(ids) + [0] * padding)
    return {"input_ids": torch.tensor(input_ids), "labels": torch.tensor(labels),
            "attention_mask": torch.tensor(mask)}  # fmt: skip


def record_batches(examples: list, batch_size: int, epochs: int, seed: int, pad_id: int) -> list[dict]:
    """Shuffled batches of similar length (less padding), every record once per epoch."""
    rng, batches = random.Random(seed), []
    for _ in range(epochs):
        order = list(range(len(examples)))
        rng.shuffle(order)
        chunk = batch_size * 32
        epoch = []
        for start in range(0, len(order), chunk):
            group = sorted(order[start : start + chunk], key=lambda i: len(examples[i][0]))
            epoch += [group[i : i + batch_size] for i in range(0, len(group), batch_size)]
        rng.shuffle(epoch)
        batches += [pad_batch([examples[i] for i in batch], pad_id) for batch in epoch]
    return batches


def instruction_tune(
    spec: ModelSpec,
    base_model,
    tokenizer,
    records: Sequence,
    *,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    seed: int = 0,
    response_only: bool = True,
    replay: torch.Tensor | None = None,
    replay_windows: int = 4,
    on_step: OnStep | None = None,
) -> TrainingRun:
    """Stage 2: add Dolly's keys, resize the embeddings and fine-tune on the response tokens.

    ``replay`` (packed pretraining windows, see :func:`pack_documents`) adds ``replay_windows``
    of them to every step, in a shuffled order that starts again when it runs out.
    """
    set_seed(seed)
    add_dolly_keys(tokenizer)
    with quiet():  # the new rows start at the mean of the old ones, as transformers explains
        base_model.resize_token_embeddings(len(tokenizer), mean_resizing=True)
    base_model.config.vocab_size = len(tokenizer)
    examples, dropped = encode_records(records, tokenizer, spec.context_length, response_only=response_only)
    batches = record_batches(examples, batch_size, epochs, seed, tokenizer.pad_token_id)
    replayed = replay_batches(replay, replay_windows, len(batches), seed) if replay is not None else []
    started = time.perf_counter()
    bf16 = cpu_computes_bf16()
    with _denormals_flushed():
        losses = _run_steps(base_model, batches, learning_rate, on_step, bf16, replayed)
    tokens = sum(int(b["attention_mask"].sum()) for b in batches) + sum(b["input_ids"].numel() for b in replayed)
    return TrainingRun(spec, base_model, tokenizer, len(batches), batch_size, learning_rate,
                       time.perf_counter() - started, tokens, losses, dropped, bf16)  # fmt: skip


@contextmanager
def _denormals_flushed():
    """Treat denormal floats as zero while stage 2 runs.

    Stage 2 drives the loss of the larger sizes below 0.1; the optimizer's state then holds
    denormal numbers, on which a CPU computes tens of times slower (tiny-dolly-large's steps went
    from under a second to 10 to 50 seconds each two thirds of the way through).
    """
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(False)  # torch's default


def replay_batches(blocks: torch.Tensor, windows: int, steps: int, seed: int) -> list[dict]:
    """``steps`` batches of ``windows`` packed windows each, every window once before any repeats."""
    if windows < 1 or len(blocks) < windows:
        raise ValueError(f"replay needs at least {max(windows, 1)} packed windows, got {len(blocks)}")
    generator, order = torch.Generator().manual_seed(seed), []
    while len(order) < steps * windows:
        order += torch.randperm(len(blocks), generator=generator).tolist()
    return [{"input_ids": blocks[order[i * windows : (i + 1) * windows]],
             "labels": blocks[order[i * windows : (i + 1) * windows]]} for i in range(steps)]  # fmt: skip


@torch.inference_mode()
def validation_loss(model, blocks: torch.Tensor, batch_size: int = 16) -> float:
    """Mean next-token loss over packed blocks (one mini-Pile component's validation split)."""
    total, count = 0.0, 0
    for chunk in blocks.split(batch_size):
        total += model(input_ids=chunk, labels=chunk).loss.item() * chunk.numel()
        count += chunk.numel()
    return total / max(1, count)
