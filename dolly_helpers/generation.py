"""Ask a loaded model for answers: batched, greedy or sampled, stopped at Dolly's end key.

Chapter 4 asks the seed questions; chapter 8 compares decoding settings; the playground
streams an answer piece by piece.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, TypeVar, overload

import torch

from . import ctranslate2_backend as fast
from .decoding import DOLLY_TOP_K, DOLLY_TOP_P, DecodingSettings, settings_from, stop_token_ids
from .hardware import set_seed
from .loading import LoadedModel
from .models import get_spec
from .prompt import END_KEY, extract_response
from .request import Request, prepare_request
from .quiet import quiet
from .validation import check_context, check_instruction, check_whole_number

#: How much longer than the shortest prompt of its batch a prompt may be (see :func:`length_batches`).
MAX_LENGTH_RATIO = 1.5

#: Why an answer ended: Dolly's end key, the tokenizer's end of text, or the length asked for.
StopReason = Literal["end_key", "eos", "max_new_tokens"]


@dataclass(frozen=True)
class GenerationResult:
    """One answer and what it cost.

    Answers batched together share one wall time, ``batch_seconds``. ``seconds`` is this
    answer's share of it (the batch's time over its answers), so ``seconds`` adds up over
    answers to the time the generating took, and ``tokens_per_second`` (``new_tokens`` over
    ``seconds``) summed the same way gives the speed of the whole run.
    """

    instruction: str
    context: str | None  # as the model read it: a passage too long for the window is cut
    response: str
    prompt_tokens: int
    new_tokens: int
    seconds: float
    tokens_per_second: float
    batch_seconds: float
    stop_reason: StopReason
    model_name: str
    peak_memory_gb: float | None = None  # GPU only


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
    settings: DecodingSettings | None = None,
) -> GenerationResult | list[GenerationResult]:
    """Answer one instruction (returns one result) or a list (returns a list, same order).

    Prompts of similar length are batched together, with left padding; each answer stops at
    ``### End``. Greedy decoding (the default) gives the same answers batched as one at a time. ``context`` is one
    passage for every instruction or one per instruction. The decoding options come as keywords
    or, built once and passed around, as ``settings`` (a :class:`DecodingSettings`).

    Everything is checked before the model runs, each mistake one line: an instruction that is
    empty (``ValueError``) or not text (``TypeError``); decoding settings out of range (see
    :class:`DecodingSettings`). The prompt and ``max_new_tokens`` must fit the model's context
    window (``model.spec.context_length``: 256 tokens for the tiny models, 2,048 for Dolly):

    - ``max_new_tokens`` above the whole window, or above what the instruction's prompt leaves
      of it, is refused (``ValueError`` giving the token counts), never clamped: the answer you
      asked room for is the answer you get room for. An instruction whose prompt alone fills the
      window is refused the same way.
    - A passage (``context``) too long for the rest of the window is cut from its end, with a
      one-line :class:`~dolly_helpers.validation.ContextTruncatedWarning` saying how many tokens
      were cut; the result's ``context`` is the passage as the model read it.
    """
    check_model(model)
    single = isinstance(instructions, str)
    instruction_list = _instructions_of(instructions)
    contexts = _contexts_for(instruction_list, context)
    settings = settings_from(settings, max_new_tokens=max_new_tokens, do_sample=do_sample, temperature=temperature,
                         top_p=top_p, top_k=top_k, seed=seed)  # fmt: skip
    check_whole_number("batch_size", batch_size, minimum=1, example="8")
    labels = ["instruction"] if single else _labels("instruction", len(instruction_list))
    requests = [
        prepare_request(model, instruction, context, settings.max_new_tokens, label=label)
        for instruction, context, label in zip(instruction_list, contexts, labels)
    ]
    results = answer_requests(model, requests, settings, batch_size=batch_size)
    return results[0] if single else results


def answer_requests(
    model: LoadedModel, requests: Sequence[Request], settings: DecodingSettings, *, batch_size: int = 8
) -> list[GenerationResult]:
    """Answer prepared requests (:func:`~dolly_helpers.request.prepare_request`), in the order given.

    Prompts of similar length share a batch (:func:`length_batches`), so little of it is
    padding. ``generate`` and Spark's ``add_responses`` both end here.
    """
    if settings.seed is not None:
        _seed(model, settings.seed)
    return in_length_batches([len(request.prompt_ids) for request in requests], batch_size,
                             lambda batch: _generate_batch(model, [requests[i] for i in batch], settings))


Answer = TypeVar("Answer")


def in_length_batches(lengths: Sequence[int], batch_size: int,
                      answer: Callable[[list[int]], Sequence[Answer]]) -> list[Answer]:
    """Call ``answer`` on each batch of :func:`length_batches` and put its answers back in order."""
    results: list = [None] * len(lengths)
    for batch in length_batches(lengths, batch_size):
        for i, result in zip(batch, answer(batch)):
            results[i] = result
    return results


def length_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Group prompt indices into batches: shortest first, at most ``batch_size`` to a batch.

    A prompt more than :data:`MAX_LENGTH_RATIO` times as long as the shortest of its batch
    starts a new one, since every row is padded to the longest and the model reads the padding
    too: chapter "Making Dolly fast" measures what this buys.
    """
    batches: list[list[int]] = []
    for i in sorted(range(len(lengths)), key=lambda i: lengths[i]):
        if batches and len(batches[-1]) < batch_size and lengths[i] <= MAX_LENGTH_RATIO * lengths[batches[-1][0]]:
            batches[-1].append(i)
        else:
            batches.append([i])
    return batches


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
    settings: DecodingSettings | None = None,
) -> Iterator[str]:
    """Yield the answer to one instruction in pieces as the model writes it (the playground).

    The arguments are checked, and a passage cut to the window, exactly as in :func:`generate`,
    before the first piece. An error inside the model's thread is raised here, not swallowed.
    """
    check_model(model)
    settings = settings_from(settings, max_new_tokens=max_new_tokens, do_sample=do_sample, temperature=temperature,
                         top_p=top_p, top_k=top_k, seed=seed)  # fmt: skip
    request = prepare_request(model, instruction, context, settings.max_new_tokens)
    if settings.seed is not None:
        _seed(model, settings.seed)
    if model.backend == "ctranslate2":
        yield from _stream_ctranslate2(model, request.prompt_ids, settings)
        return
    from transformers import TextIteratorStreamer

    inputs = _padded(model, [request.prompt_ids])
    streamer = TextIteratorStreamer(model.tokenizer, skip_prompt=True, skip_special_tokens=True)
    kwargs = {**inputs, **settings.generate_kwargs(model), "streamer": streamer}
    failures: list[BaseException] = []

    def run() -> None:
        try:
            with quiet(), torch.inference_mode():
                model.model.generate(**kwargs)
        except BaseException as error:  # noqa: BLE001 - handed to the reading thread below
            failures.append(error)
            streamer.end()  # otherwise the reader waits for a piece that never comes

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    yield from (piece for piece in streamer if piece)
    worker.join()
    if failures:
        raise failures[0]


def _stream_ctranslate2(model: LoadedModel, prompt_ids: list[int], settings: DecodingSettings) -> Iterator[str]:
    """The fast path's stream: each new piece of text as CTranslate2 writes its token."""
    ids: list[int] = []
    shown = ""
    stops = set(stop_token_ids(model))
    for token_id in fast.stream_ids(model.model, model.tokenizer, prompt_ids,
                                    settings.max_new_tokens, stop_token_ids(model), _fast_options(settings)):
        if token_id in stops:
            break
        ids.append(token_id)
        text = model.tokenizer.decode(ids, skip_special_tokens=True)
        if text.endswith("\ufffd"):  # half a character: wait for the rest of its bytes
            continue
        if len(text) > len(shown):
            yield text[len(shown):]
            shown = text


def _seed(model: LoadedModel, seed: int) -> None:
    """Seed the sampler of whichever engine runs the model."""
    set_seed(seed)
    if model.backend == "ctranslate2":
        model.model.reseed(seed)


def check_model(model: object) -> None:
    """Refuse anything but a loaded model, e.g. a model name passed where the model belongs."""
    if hasattr(model, "tokenizer") and hasattr(model, "model") and hasattr(model, "spec"):
        return
    if isinstance(model, str):
        get_spec(model)  # an unknown name says so, with the closest one
        raise TypeError(
            f"generate needs a loaded model, got the name {model!r}: load it first, "
            f"e.g. model = load_model({model!r})"
        )
    raise TypeError(
        f"generate needs a loaded model from load_model(...), got {type(model).__name__}"
    )


def _instructions_of(instructions: object) -> list[str]:
    """One instruction or a list of them, each checked; bytes, None and numbers are neither."""
    if isinstance(instructions, str) or instructions is None or isinstance(instructions, (bytes, bytearray)):
        return [check_instruction(instructions)]
    if isinstance(instructions, dict) or not isinstance(instructions, Iterable):
        raise TypeError(
            f"instruction must be a string or a list of strings, got {type(instructions).__name__} "
            f"{instructions!r:.40}: pass the question or task as text"
        )
    items = list(instructions)
    labels = _labels("instruction", len(items))
    return [check_instruction(item, label) for item, label in zip(items, labels)]


def _labels(what: str, count: int) -> list[str]:
    return [f"{what} {i} of {count}" for i in range(1, count + 1)]


def _contexts_for(instructions: list[str], context) -> list[str | None]:
    if context is None or isinstance(context, str):
        check_context(context)
        return [context] * len(instructions)
    if isinstance(context, (bytes, bytearray)) or not isinstance(context, Iterable):
        check_context(context)  # raises the one-line TypeError
    contexts = list(context)
    if len(contexts) != len(instructions):
        raise ValueError(
            f"got {len(contexts)} contexts for {len(instructions)} instructions: pass one per instruction"
        )
    for item, label in zip(contexts, _labels("context", len(contexts))):
        check_context(item, label)
    return contexts


def _fast_options(settings: DecodingSettings) -> dict:
    return fast.sampling_options(settings.do_sample, settings.temperature, settings.top_p, settings.top_k)


def _generate_batch(model: LoadedModel, requests: list[Request], settings: DecodingSettings) -> list[GenerationResult]:
    tokenizer = model.tokenizer
    prompt_ids = [request.prompt_ids for request in requests]
    if model.backend == "ctranslate2":
        started = time.perf_counter()
        rows = fast.generate_ids(model.model, tokenizer, prompt_ids, settings.max_new_tokens,
                                 stop_token_ids(model), _fast_options(settings))
        seconds, peak_gb = time.perf_counter() - started, None
    else:
        rows, seconds, peak_gb = _torch_batch(model, prompt_ids, settings)
    results, share = [], seconds / len(rows)
    for new_ids, request in zip(rows, requests):
        n_new, stop_reason = _where_it_stopped(new_ids, model)
        text = tokenizer.decode(new_ids[:n_new], skip_special_tokens=True)
        if model.end_token_id is None and END_KEY in text:  # a base model writes it as plain text
            stop_reason = "end_key"
        results.append(
            GenerationResult(
                instruction=request.instruction,
                context=request.context,
                response=extract_response(text),
                prompt_tokens=len(request.prompt_ids),
                new_tokens=n_new,
                seconds=share,
                tokens_per_second=n_new / share if share > 0 else 0.0,
                batch_seconds=seconds,
                stop_reason=stop_reason,
                model_name=model.name,
                peak_memory_gb=peak_gb,
            )
        )
    return results


def _padded(model: LoadedModel, prompt_ids: list[list[int]]) -> dict:
    """Prompts as one left-padded batch on the model's device, with their attention mask."""
    return model.tokenizer.pad({"input_ids": prompt_ids}, return_tensors="pt").to(model.device)


def _torch_batch(
    model: LoadedModel, prompt_ids: list[list[int]], settings: DecodingSettings
) -> tuple[list[list[int]], float, float | None]:
    """One ``generate`` call on a left-padded batch: each row's new ids, the seconds, the GPU peak GB."""
    inputs = _padded(model, prompt_ids)
    on_gpu = torch.cuda.is_available() and model.device.startswith("cuda")
    if on_gpu:
        torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    with quiet(), torch.inference_mode():
        output = model.model.generate(**inputs, **settings.generate_kwargs(model))
    seconds = time.perf_counter() - started
    peak_gb = torch.cuda.max_memory_allocated() / 1e9 if on_gpu else None
    prompt_length = inputs["input_ids"].shape[1]
    return [row[prompt_length:].tolist() for row in output], seconds, peak_gb


def _where_it_stopped(new_ids: list[int], model: LoadedModel) -> tuple[int, str]:
    """Return how many new tokens belong to the answer (stop token included) and why it ended."""
    eos_id = model.tokenizer.eos_token_id
    for position, token_id in enumerate(new_ids):
        if token_id == model.end_token_id:
            return position + 1, "end_key"
        if token_id == eos_id:
            return position + 1, "eos"
    return len(new_ids), "max_new_tokens"
