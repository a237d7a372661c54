"""The GPU benchmark's ladder: one workload, each way of answering it, and how a rung is timed.

Every rung answers the same :data:`BATCH_SIZE` Dolly prompts greedily, each answer exactly
``new_tokens`` long (``min_new_tokens`` holds ``### End`` back: random weights rarely write it),
so every rung does the same work and its answers can be compared with the first rung's. The
prompts have equal token lengths, so a batch needs no padding.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.benchmark import Timer

from ..models import TINY_MODELS_DIR
from ..prompt import END_KEY, RESPONSE_KEY, build_prompt
from ..quiet import quiet
from .baseline import DollyPipeline

BATCH_SIZE = 8
#: One answer per prompt: its text, cut as Dolly's pipeline cuts it, and its number of new tokens.
Answers = list[tuple[str, int]]


def load_tokenizer(vocab_size: int):
    """The book's tiny-dolly-large tokenizer, padded with placeholder tokens to ``vocab_size`` ids.

    Dolly's own cannot be downloaded on the GPU machine; the placeholders give every id the
    random model can write a text of its own, so equal answers mean equal tokens.
    """
    from transformers import AutoTokenizer

    with quiet():
        tokenizer = AutoTokenizer.from_pretrained(TINY_MODELS_DIR / "tiny-dolly-large", padding_side="left")
    tokenizer.add_tokens([f"<|placeholder-{i}|>" for i in range(len(tokenizer), vocab_size)])
    return tokenizer


@dataclass
class Workload:
    """The prompts every rung answers on one model, and the generation settings all rungs share."""

    model: torch.nn.Module
    tokenizer: object
    device: str
    new_tokens: int
    instructions: list[str]

    def __post_init__(self) -> None:
        self.prompts = [build_prompt(instruction) for instruction in self.instructions]
        ids = [self.tokenizer(prompt)["input_ids"] for prompt in self.prompts]
        if len({len(row) for row in ids}) != 1:
            raise ValueError("the benchmark's prompts must have equal token lengths (no padding)")
        self.prompt_ids = torch.tensor(ids, device=self.device)
        self.response_id, self.end_id = self.tokenizer.convert_tokens_to_ids([RESPONSE_KEY, END_KEY])
        # Pipelines refuse a device for a model that accelerate placed (some versions mark a
        # one-device device_map so): then they take the model's own.
        self.pipeline_device = None if getattr(self.model, "hf_device_map", None) else self.device
        #: Greedy and exactly ``new_tokens`` long: what Dolly's pipeline is told; the other rungs
        #: also get the stop and pad tokens that Dolly's pipeline sets itself.
        self.limits = {"max_new_tokens": self.new_tokens, "min_new_tokens": self.new_tokens, "do_sample": False}
        self.options = {**self.limits, "eos_token_id": self.end_id, "pad_token_id": self.tokenizer.pad_token_id}

    def answer(self, sequence: list[int]) -> tuple[str, int]:
        """The answer in prompt + new tokens, cut exactly as :class:`DollyPipeline` cuts it."""
        start = sequence.index(self.response_id) + 1
        end = sequence.index(self.end_id, start) if self.end_id in sequence[start:] else len(sequence)
        return self.tokenizer.decode(sequence[start:end]).strip(), len(sequence) - self.prompt_ids.shape[1]


def dolly_pipeline_rung(w: Workload) -> Callable[[], Answers]:
    """Rung 1: Dolly's pipeline (reimplemented in :mod:`.baseline`), one prompt per call."""
    generator = DollyPipeline(model=w.model, tokenizer=w.tokenizer, device=w.pipeline_device)

    def run() -> Answers:
        with quiet():
            outputs = [generator(instruction, **w.limits) for instruction in w.instructions]
        return [(output["generated_text"], output["new_tokens"]) for output in outputs]

    return run


def stock_pipeline_rung(w: Workload) -> Callable[[], Answers]:
    """Rung 2: the stock ``pipeline("text-generation")`` fed Dolly's prompt, one per call."""
    from transformers import pipeline

    with quiet():
        generator = pipeline("text-generation", model=w.model, tokenizer=w.tokenizer, device=w.pipeline_device)

    def run() -> Answers:
        with quiet():
            outputs = [generator(prompt, return_tensors=True, **w.options)[0] for prompt in w.prompts]
        return [w.answer(list(output["generated_token_ids"])) for output in outputs]

    return run


def generate_rung(w: Workload, batch_size: int, **extra) -> Callable[[], Answers]:
    """Rungs 3 to 5: ``model.generate`` on ``batch_size`` prompts per call, with ``extra`` options."""

    def run() -> Answers:
        answers = []
        for rows in w.prompt_ids.split(batch_size):
            with quiet():
                output = w.model.generate(rows, attention_mask=torch.ones_like(rows), **w.options, **extra)
            answers += [w.answer(sequence) for sequence in output.tolist()]
        return answers

    return run


def compile_config(smoke: bool):
    """What generate compiles with: inductor and CUDA graphs; in the smoke run, dynamo alone on the CPU."""
    from transformers import CompileConfig

    if not smoke:
        return CompileConfig(dynamic=False)  # mode="reduce-overhead": CUDA graphs
    config = CompileConfig(backend="eager", mode=None, dynamic=False)
    config._compile_all_devices = True  # transformers' switch for compiling off the GPU, meant for tests
    return config


def ctranslate2_skip(n_params: int, workdir: Path, smoke: bool) -> str | None:
    """Why CTranslate2 cannot run here, or None. The smoke run uses it on the CPU."""
    try:
        import ctranslate2
    except ImportError:
        return "skipped: ctranslate2 is not installed"
    if not smoke and ctranslate2.get_cuda_device_count() == 0:
        return "skipped: ctranslate2 has no CUDA device here"
    if shutil.disk_usage(workdir).free < 4.5 * n_params:
        return "skipped: too little disk for CTranslate2's float32 conversion"
    return None


def ctranslate2_rung(w: Workload, folder: Path, workdir: Path, smoke: bool) -> Callable[[], Answers]:
    """Rung 6: the saved size converted (:mod:`dolly_helpers.ctranslate2_backend`), all prompts at once."""
    import ctranslate2

    from ..ctranslate2_backend import convert

    converted = str(convert(str(folder), None, workdir))
    device, compute_type = ("cpu", "float32") if smoke else ("cuda", "bfloat16")
    generator = ctranslate2.Generator(converted, device=device, compute_type=compute_type,
                                      intra_threads=torch.get_num_threads())
    prompts = w.prompt_ids.tolist()
    tokens = [w.tokenizer.convert_ids_to_tokens(prompt) for prompt in prompts]

    def run() -> Answers:
        results = generator.generate_batch(tokens, max_length=w.new_tokens, min_length=w.new_tokens,
                                           end_token=[w.end_id], include_prompt_in_result=False, sampling_topk=1)
        return [w.answer(prompt + result.sequences_ids[0]) for prompt, result in zip(prompts, results)]

    return run


@dataclass
class RungResult:
    """One rung's figures; seconds and tokens/s are for the whole workload, every prompt answered."""

    name: str
    batch_size: int  # prompts per call
    claims_identical: bool  # whether its answers must equal the first rung's, word for word
    seconds: float | None = None  # median of the timed runs
    runs: int | None = None  # timed runs, after the Timer's first call, which warms up
    first_call_seconds: float | None = None  # that first call: compiling, where the rung compiles
    tokens_per_s: float | None = None
    speedup_vs_dolly_pipeline: float | None = None
    peak_memory_gb: float | None = None  # torch.cuda.max_memory_allocated; None on the CPU
    same_answers: int | None = None  # prompts answered exactly as the first rung answered them
    identical: bool | None = None  # the claim, checked; None where nothing is claimed
    compiled: bool | None = None  # whether generate compiled (the compile rung only)
    error: str | None = None
    skipped: str | None = None


def one_line(error: BaseException) -> str:
    """An exception as one short line, for the JSON and the progress output."""
    return f"{type(error).__name__}: {error}".strip().splitlines()[0][:300]


def measure_rung(result: RungResult, build: Callable[[], Callable[[], Answers]], min_run_time: float,
                 ) -> Answers | None:
    """Build a rung and time it with ``Timer.blocked_autorange``; return the last run's answers.

    An exception is kept as the rung's error, and None returned: the other rungs go on.
    """
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    answers: Answers = []
    durations: list[float] = []
    try:
        run = build()

        def call() -> None:
            started = time.perf_counter()
            answers[:] = run()  # ends with the new ids on the CPU: the device has finished
            durations.append(time.perf_counter() - started)

        timer = Timer("call()", globals={"call": call}, num_threads=torch.get_num_threads())
        measurement = timer.blocked_autorange(min_run_time=min_run_time)
    except Exception as error:
        result.error = one_line(error)
        return None
    result.seconds, result.runs = measurement.median, len(measurement.times)
    result.first_call_seconds = durations[0]
    result.tokens_per_s = sum(count for _, count in answers) / measurement.median
    if torch.cuda.is_available():
        result.peak_memory_gb = torch.cuda.max_memory_allocated() / 1e9
    return list(answers)


def check_answers(result: RungResult, answers: Answers | None, reference: Answers | None, new_tokens: int) -> None:
    """Count the answers equal to the first rung's; a claimed rung holds only if all of them are."""
    if answers is not None:
        counts = sorted({count for _, count in answers})
        if counts != [new_tokens]:
            result.error = result.error or f"wrote {counts} new tokens per answer, not {new_tokens}"
        if reference is not None:
            result.same_answers = sum(mine == theirs for mine, theirs in zip(answers, reference))
    if result.claims_identical:
        result.identical = result.error is None and reference is not None and result.same_answers == len(reference)
