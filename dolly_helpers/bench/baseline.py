"""The baseline: Dolly run the way the original article ran it, one prompt per pipeline call.

The article (APC tech blog, 2023) used a ``transformers`` text-generation pipeline and asked one
question per call. Dolly's Hub repository ships its pipeline as remote code
(``instruct_pipeline.py``); this book never runs remote code, so the baseline is the stock
``transformers.pipeline("text-generation", ...)`` fed Dolly's own prompt text
(:func:`dolly_helpers.build_prompt`), its answer cut out with
:func:`dolly_helpers.prompt.extract_response`.

What it gets, so that the comparison with the helpers is fair:

- the same weights (the model's local folder) in the same dtype, on the CPU, and no remote code;
- greedy decoding (``do_sample=False``) and the same ``max_new_tokens``.

How it stops is the one real difference, and the benchmark measures both ways:

- as the stock pipeline does (:meth:`PipelineBaseline.build`): at the model's own end-of-text
  token, from its generation config. Dolly's generation config names ``<|endoftext|>``, not
  ``### End``, so the stock pipeline writes on past the answer (the prompt-echo and run-on
  trouble of chapter 4) and the answer is cut out afterwards. This is the article's way without
  its remote code, and the baseline of the headline speedup;
- told Dolly's end key as well (:meth:`PipelineBaseline.stopping_at_end_key`), as Dolly's remote
  pipeline does. Each call then does the same work as the helper's, which makes it the fair
  baseline for the per-call overhead, and it shows how much of the speedup is batching alone.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import torch

from ..prompt import END_KEY, build_prompt, extract_response
from ..questions import Question
from ..quiet import quiet


@dataclass
class PipelineBaseline:
    """A stock text-generation pipeline and the generation settings every call passes it."""

    generator: object
    stop_token_ids: list[int]
    pad_token_id: int | None
    max_new_tokens: int

    @classmethod
    def build(cls, folder: str | Path, dtype: torch.dtype, max_new_tokens: int) -> PipelineBaseline:
        """Construct the pipeline from a model's local folder: tokenizer and weights, on the CPU."""
        from transformers import pipeline

        with quiet():
            generator = pipeline(
                "text-generation", model=str(folder), dtype=dtype, device="cpu", trust_remote_code=False
            )
        tokenizer = generator.tokenizer
        stop_ids = [tokenizer.eos_token_id] if tokenizer.eos_token_id is not None else []
        pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        return cls(generator, stop_ids, pad_id, max_new_tokens)

    def stopping_at_end_key(self) -> PipelineBaseline:
        """The same pipeline, told to stop at ``### End`` too, as Dolly's own pipeline does."""
        end_id = self.generator.tokenizer.convert_tokens_to_ids(END_KEY)
        if end_id in (None, self.generator.tokenizer.unk_token_id):
            return self
        return replace(self, stop_token_ids=[end_id, *self.stop_token_ids])

    def _call(self, question: Question, **options) -> list[dict]:
        with quiet():
            return self.generator(
                build_prompt(question.instruction, question.context),
                max_new_tokens=self.max_new_tokens,
                do_sample=False,
                skip_special_tokens=False,  # keep "### End" in the text, to cut the answer there
                eos_token_id=self.stop_token_ids,
                pad_token_id=self.pad_token_id,
                **options,
            )

    def answer(self, question: Question) -> str:
        """One pipeline call: Dolly's prompt in, the response cut at ``### End`` out."""
        return extract_response(self._call(question)[0]["generated_text"])

    def new_tokens(self, question: Question) -> int:
        """How many tokens the pipeline writes for a question, its stop token included (untimed)."""
        prompt = build_prompt(question.instruction, question.context)
        prompt_length = len(self.generator.tokenizer(prompt, add_special_tokens=False)["input_ids"])
        return len(self._call(question, return_tensors=True)[0]["generated_token_ids"]) - prompt_length
