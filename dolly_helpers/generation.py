"""Ask a loaded model for answers: batched, greedy or sampled, stopped at Dolly's end key.

Chapter 4 asks the seed questions; chapter 7 compares decoding settings; the playground
streams an answer piece by piece.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import overload

import torch

from .hardware import set_seed
from .loading import LoadedModel
from .prompt import build_prompt, extract_response
from .quiet import quiet

#: Dolly's own sampling defaults (databrickslabs/dolly, training/generate.py).
DOLLY_TOP_P = 0.92
DOLLY_TOP_K = 0


@dataclass(frozen=True)
class GenerationResult:
    """One answer and what it cost. ``seconds`` is the wall time of the batch it ran in."""

    instruction: str
    context: str | None
    response: str
    prompt_tokens: int
    new_tokens: int
    seconds: float
    tokens_per_second: float
    stop_reason: str  # "end_key", "eos" or "max_new_tokens"
    model_name: str
    peak_memory_gb: float | None = None  # GPU only


@dataclass(frozen=True)
class DecodingSettings:
    """How the next token is chosen: greedy by default, sampled when ``do_sample``."""

    max_new_tokens: int = 64
    do_sample: bool = False
    temperature: float = 1.0
    top_p: float = DOLLY_TOP_P
    top_k: int = DOLLY_TOP_K

    def generate_kwargs(self) -> dict:
        if not self.do_sample:
            return {"max_new_tokens": self.max_new_tokens, "do_sample": False}
        return {
            "max_new_tokens": self.max_new_tokens,
            "do_sample": True,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "top_k": self.top_k,
        }


@overload
def generate(model: LoadedModel, instructions: str, **options) -> GenerationResult: ...
@overload
def generate(model: LoadedModel, instructions: Sequence[str], **options) -> list[GenerationResult]: ...


def generate(
    model: LoadedModel,
    instructions: str | Sequence[str],
    *,
    context: str | None | Sequence[str | None] = None,
    max_new_tokens: int = 64,
    do_sample: bool = False,
    temperature: float = 1.0,
    top_p: float = DOLLY_TOP_P,
    top_k: int = DOLLY_TOP_K,
    seed: int | None = None,
    batch_size: int = 8,
) -> GenerationResult | list[GenerationResult]:
    """Answer one instruction (returns one result) or a list (returns a list, same order).

    Prompts are batched with left padding; each answer stops at ``### End``. Greedy decoding
    (the default) gives the same answers batched as one at a time. ``context`` is one
    passage for every instruction or one per instruction.
    """
    single = isinstance(instructions, str)
    instruction_list = [instructions] if single else list(instructions)
    contexts = _contexts_for(instruction_list, context)
    prompts = [build_prompt(i, c) for i, c in zip(instruction_list, contexts)]
    settings = DecodingSettings(max_new_tokens, do_sample, temperature, top_p, top_k)
    if seed is not None:
        set_seed(seed)
    results: list[GenerationResult] = []
    for start in range(0, len(prompts), batch_size):
        stop = start + batch_size
        results += _generate_batch(
            model, instruction_list[start:stop], contexts[start:stop], prompts[start:stop], settings
        )
    return results[0] if single else results


def stream_generate(
    model: LoadedModel,
    instruction: str,
    *,
    context: str | None = None,
    max_new_tokens: int = 64,
    do_sample: bool = False,
    temperature: float = 1.0,
    top_p: float = DOLLY_TOP_P,
    top_k: int = DOLLY_TOP_K,
    seed: int | None = None,
) -> Iterator[str]:
    """Yield the answer to one instruction in pieces as the model writes it (the playground)."""
    from transformers import TextIteratorStreamer

    prompt = build_prompt(instruction, context)
    settings = DecodingSettings(max_new_tokens, do_sample, temperature, top_p, top_k)
    if seed is not None:
        set_seed(seed)
    inputs = model.tokenizer(prompt, return_tensors="pt").to(model.device)
    streamer = TextIteratorStreamer(model.tokenizer, skip_prompt=True, skip_special_tokens=True)
    kwargs = {**inputs, **settings.generate_kwargs(), **_stop_kwargs(model), "streamer": streamer}

    def run() -> None:
        with quiet(), torch.inference_mode():
            model.model.generate(**kwargs)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    yield from (piece for piece in streamer if piece)
    worker.join()


def _contexts_for(instructions: list[str], context) -> list[str | None]:
    if context is None or isinstance(context, str):
        return [context] * len(instructions)
    contexts = list(context)
    if len(contexts) != len(instructions):
        raise ValueError(
            f"got {len(contexts)} contexts for {len(instructions)} instructions: pass one per instruction"
        )
    return contexts


def _stop_kwargs(model: LoadedModel) -> dict:
    """Stop at ``### End`` (Dolly's eos during generation) or the tokenizer's own eos."""
    tokenizer = model.tokenizer
    stop_ids = [i for i in (model.end_token_id, tokenizer.eos_token_id) if i is not None]
    return {"eos_token_id": stop_ids, "pad_token_id": tokenizer.pad_token_id}


def _generate_batch(
    model: LoadedModel,
    instructions: list[str],
    contexts: list[str | None],
    prompts: list[str],
    settings: DecodingSettings,
) -> list[GenerationResult]:
    tokenizer = model.tokenizer
    inputs = tokenizer(prompts, return_tensors="pt", padding=True).to(model.device)
    on_gpu = torch.cuda.is_available() and model.device.startswith("cuda")
    if on_gpu:
        torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    with quiet(), torch.inference_mode():
        output = model.model.generate(**inputs, **settings.generate_kwargs(), **_stop_kwargs(model))
    seconds = time.perf_counter() - started
    peak_gb = torch.cuda.max_memory_allocated() / 1e9 if on_gpu else None

    prompt_length = inputs["input_ids"].shape[1]
    prompt_tokens = inputs["attention_mask"].sum(dim=1).tolist()
    results = []
    for row, instruction, context, n_prompt in zip(output, instructions, contexts, prompt_tokens):
        new_ids = row[prompt_length:].tolist()
        n_new, stop_reason = _where_it_stopped(new_ids, model)
        text = tokenizer.decode(new_ids[:n_new], skip_special_tokens=True)
        results.append(
            GenerationResult(
                instruction=instruction,
                context=context,
                response=extract_response(text),
                prompt_tokens=n_prompt,
                new_tokens=n_new,
                seconds=seconds,
                tokens_per_second=n_new / seconds if seconds > 0 else 0.0,
                stop_reason=stop_reason,
                model_name=model.name,
                peak_memory_gb=peak_gb,
            )
        )
    return results


def _where_it_stopped(new_ids: list[int], model: LoadedModel) -> tuple[int, str]:
    """Return how many new tokens belong to the answer (stop token included) and why it ended."""
    eos_id = model.tokenizer.eos_token_id
    for position, token_id in enumerate(new_ids):
        if token_id == model.end_token_id:
            return position + 1, "end_key"
        if token_id == eos_id:
            return position + 1, "eos"
    return len(new_ids), "max_new_tokens"
