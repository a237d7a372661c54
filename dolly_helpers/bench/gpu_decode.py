"""The GPU benchmark's decoding: the fixed workload, each variant's runner, alternating timing."""

from __future__ import annotations

import statistics
from collections.abc import Callable

import torch

from ..quiet import quiet
from .gpu_io import one_line, timed
from .gpu_results import PIPELINE, BenchSettings, DecodeResult, Variant, decode_rate



# --- The workload ----------------------------------------------------------------------------


def fixed_length_prompts(tokenizer, batch_size: int, length: int) -> list[str]:
    """``batch_size`` different prompts of exactly ``length`` tokens each.

    Built from words that are one token each (with their leading space), so both the pipeline
    (which tokenizes text) and ``generate`` (which takes ids) see the same ``length`` tokens.
    """
    words = _single_token_words(tokenizer)
    prompts = []
    for row in range(batch_size):
        chosen = [words[(row * 7 + i) % len(words)] for i in range(length)]
        prompts.append("".join(chosen))
    lengths = {len(tokenizer(p)["input_ids"]) for p in prompts}
    if lengths != {length}:
        raise RuntimeError(f"prompts came out {sorted(lengths)} tokens long, not {length}")
    return prompts


def _single_token_words(tokenizer) -> list[str]:
    """Words (with a leading space) that the tokenizer reads as exactly one token."""
    words = []
    for token in sorted(tokenizer.get_vocab()):
        text = tokenizer.convert_tokens_to_string([token])
        if text.startswith(" ") and text[1:].isascii() and text[1:].isalpha():
            if len(tokenizer(text)["input_ids"]) == 1:
                words.append(text)
    if len(words) < 8:
        raise RuntimeError("the tokenizer has too few one-token words to build prompts")
    return words


#: A runner generates ``max_new_tokens`` for the phase's batch and returns the new token ids
#: (or None where the API returns text only).
Runner = Callable[[int], "torch.Tensor | None"]


def generate_runner(model, inputs: dict, variant: Variant, smoke: bool) -> Runner:
    """Run ``model.generate`` greedily for a fixed number of tokens (end tokens ignored)."""
    options: dict = {}
    if variant.cache == "static":
        options["cache_implementation"] = "static"
    if variant.compiled:
        options["compile_config"] = _compile_config(variant.compile_mode, smoke)
    prompt_length = inputs["input_ids"].shape[1]

    def run(max_new_tokens: int) -> torch.Tensor:
        previous = _set_attention(model, variant.attention)
        try:
            with quiet(), torch.no_grad():
                output = model.generate(
                    **inputs, max_new_tokens=max_new_tokens, min_new_tokens=max_new_tokens,
                    do_sample=False, **options,
                )
        finally:
            _set_attention(model, previous)
        return output[:, prompt_length:]

    return run


def _compile_config(mode: str | None, smoke: bool):
    """transformers' auto-compile settings: inductor on a GPU; dynamo alone in the smoke run."""
    from transformers import CompileConfig

    if smoke:  # the CPU smoke run checks the plumbing, not inductor's C++ build
        config = CompileConfig(backend="eager", mode=None, dynamic=False)
        config._compile_all_devices = True
        return config
    return CompileConfig(mode=mode, dynamic=False)


def _set_attention(model, implementation: str) -> str:
    """Switch the attention kernel (sdpa, eager) in place; return the previous one."""
    previous = model.config._attn_implementation
    if previous != implementation:
        model.set_attn_implementation(implementation)
    return previous


def pipeline_runner(model, tokenizer, prompts: list[str]) -> Runner:
    """The plain ``pipeline("text-generation")`` a reader would start with, same workload."""
    from transformers import pipeline

    with quiet():
        generator = pipeline("text-generation", model=model, tokenizer=tokenizer)

    def run(max_new_tokens: int) -> None:
        with quiet():
            generator(
                prompts, max_new_tokens=max_new_tokens, min_new_tokens=max_new_tokens,
                do_sample=False, batch_size=len(prompts), return_full_text=False,
            )
        return None

    return run


class GraphLoop:
    """Our own greedy decode loop: a static KV cache and one compiled step per token.

    The step (forward pass and argmax) is compiled with ``mode="reduce-overhead"``, so each
    token is one CUDA-graph replay: no Python between kernels, no sync until the end.
    """

    def __init__(self, model, max_length: int, smoke: bool):
        import inspect

        from transformers import StaticCache

        self.model = model
        self.cache = StaticCache(config=model.config, max_cache_len=max_length)
        parameters = inspect.signature(model.forward).parameters
        self.cache_argument = "cache" if "cache" in parameters else "past_key_values"  # 5.2x renamed it
        config = _compile_config("reduce-overhead", smoke)
        options = {"backend": config.backend, "dynamic": False, "fullgraph": True}
        if config.mode is not None:
            options["mode"] = config.mode
        self.step = torch.compile(self._step, **options)

    def _forward(self, input_ids: torch.Tensor, position_ids: torch.Tensor | None) -> torch.Tensor:
        output = self.model(
            input_ids=input_ids, position_ids=position_ids, use_cache=True, logits_to_keep=1,
            **{self.cache_argument: self.cache},
        )
        return output.logits[:, -1].argmax(dim=-1, keepdim=True)

    def _step(self, token: torch.Tensor, position_ids: torch.Tensor) -> torch.Tensor:
        return self._forward(token, position_ids)

    def __call__(self, input_ids: torch.Tensor, max_new_tokens: int) -> torch.Tensor:
        batch, prompt_length = input_ids.shape
        new = torch.empty(batch, max_new_tokens, dtype=torch.long, device=input_ids.device)
        with quiet(), torch.no_grad():
            self.cache.reset()
            token = self._forward(input_ids, None)  # prefill, not compiled
            new[:, :1] = token
            position = torch.full((1, 1), prompt_length, dtype=torch.long, device=input_ids.device)
            for i in range(1, max_new_tokens):
                _mark_cudagraph_step()
                token.copy_(self.step(token, position))
                new[:, i : i + 1] = token
                position.add_(1)
        return new


def _mark_cudagraph_step() -> None:
    marker = getattr(torch.compiler, "cudagraph_mark_step_begin", None)
    if marker is not None:
        marker()


def graph_loop_runner(model, inputs: dict, max_length: int, smoke: bool) -> Runner:
    loop = GraphLoop(model, max_length, smoke)
    return lambda max_new_tokens: loop(inputs["input_ids"], max_new_tokens)


# --- Measuring -------------------------------------------------------------------------------


def _compile_counts() -> tuple[int, int, int] | None:
    """(graph breaks, graphs compiled, CUDA-graph fallbacks) so far, from torch's counters."""
    try:
        from torch._dynamo.utils import counters
    except ImportError:
        return None
    return (sum(counters["graph_break"].values()), counters["stats"]["unique_graphs"],
            counters["inductor"]["cudagraph_skips"])


def measure_alternating(
    runners: dict[str, Runner],
    settings: BenchSettings,
    batch_size: int,
    phase: str,
    baseline_tokens: torch.Tensor | None = None,
) -> tuple[list[DecodeResult], dict[str, torch.Tensor | None]]:
    """Warm each runner up, then time them in turns, ``rounds`` times; medians decide.

    Each round runs every variant twice: the full ``new_tokens`` and a prefill-only run (one
    new token), whose difference is the decode time. Returns the results and each variant's
    last new tokens. A variant that fails is recorded with its error; the others go on.
    """
    results = {
        name: DecodeResult(name, phase, batch_size, settings.prompt_tokens, settings.new_tokens)
        for name in runners
    }
    counts_before = _compile_counts()
    working = {name: run for name, run in runners.items() if _warm_up(run, results[name], settings)}
    last_tokens: dict[str, torch.Tensor | None] = {}
    for _ in range(settings.rounds):
        for name, run in list(working.items()):
            try:
                seconds, tokens = timed(settings.device, lambda: run(settings.new_tokens))
                prefill_seconds, _ = timed(settings.device, lambda: run(1))
            except Exception as error:
                results[name].error = one_line(error)
                del working[name]
                continue
            results[name].full_seconds.append(seconds)
            results[name].prefill_seconds.append(prefill_seconds)
            last_tokens[name] = tokens
    counts_after = _compile_counts()
    for name, result in results.items():
        if counts_before is not None and counts_after is not None:
            result.graph_breaks, result.compiled_graphs, result.cudagraph_skips = (
                after - before for after, before in zip(counts_after, counts_before)
            )
        _summarize(result, last_tokens.get(name), baseline_tokens)
    _add_speedups(list(results.values()))
    return list(results.values()), last_tokens


def _warm_up(run: Runner, result: DecodeResult, settings: BenchSettings) -> bool:
    """First calls (compiling, capturing graphs, sizing caches); False if the variant fails."""
    try:
        result.warmup_seconds, _ = timed(settings.device, lambda: run(settings.new_tokens))
        run(1)  # sizes a static cache for both lengths
    except Exception as error:
        result.error = one_line(error)
        return False
    return True


def _summarize(result: DecodeResult, tokens: torch.Tensor | None, baseline: torch.Tensor | None) -> None:
    if result.error is not None or not result.full_seconds:
        return
    result.decode_tokens_per_s = decode_rate(
        result.batch_size, result.new_tokens, result.full_seconds, result.prefill_seconds
    )
    full_median = statistics.median(result.full_seconds)
    result.end_to_end_tokens_per_s = result.batch_size * result.new_tokens / full_median
    if tokens is not None:
        expected = (result.batch_size, result.new_tokens)
        if tuple(tokens.shape) != expected:
            result.error = f"generated {tuple(tokens.shape)} tokens, expected {expected}"
        elif baseline is not None:
            result.matches_baseline = float((tokens == baseline).float().mean())


def _add_speedups(results: list[DecodeResult]) -> None:
    pipeline = next((r for r in results if r.variant == PIPELINE.name), None)
    if pipeline is None or not pipeline.decode_tokens_per_s:
        return
    for result in results:
        if result is not pipeline and result.decode_tokens_per_s:
            result.speedup_vs_pipeline = result.decode_tokens_per_s / pipeline.decode_tokens_per_s


