"""The baselines: Dolly run the way its users ran it, one prompt per pipeline call.

The seed article called Dolly's own pipeline, ``pipeline(model="databricks/dolly-v2-12b", ...)``
with remote code switched on: the ``InstructionTextGenerationPipeline`` of Dolly's Hub repository
(``instruct_pipeline.py``). This book never runs remote code, so :class:`DollyPipeline` is that
pipeline's behaviour written out here, a ``transformers.Pipeline`` that

- builds Dolly's prompt (:func:`dolly_helpers.build_prompt`), one prompt per call;
- finds ``### Response:`` and ``### End`` as the tokenizer's special tokens and tells
  ``generate`` to stop at ``### End`` (``eos_token_id``), as Dolly's pipeline does;
- decodes only the tokens between the response key and the end key, stripped.

One difference: Dolly's pipeline stops at ``### End`` alone, this one at the model's
end-of-text too, as every rung of the benchmark does (:func:`dolly_helpers.decoding.stop_token_ids`).
Where a model writes end-of-text before ``### End``, Dolly's pipeline would write on after it,
doing work no other rung does.

It is the baseline of every speed ratio. :class:`StockPipeline`, the plain
``pipeline("text-generation")`` fed the same prompt, is the second row: it stops only at the
model's end-of-text, so it writes on past ``### End`` to ``max_new_tokens`` and the answer is
cut out afterwards (:func:`dolly_helpers.prompt.extract_response`).

Both read the same local folder in the same dtype on the CPU, decode greedily and take the same
``max_new_tokens`` as the helpers, so their answers can be compared with the helpers' exactly.
"""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, Pipeline, pipeline

from ..prompt import END_KEY, RESPONSE_KEY, build_prompt, extract_response
from ..questions import Question
from ..quiet import quiet


class DollyPipeline(Pipeline):
    """Dolly's ``InstructionTextGenerationPipeline``, reimplemented without remote code."""

    def _sanitize_parameters(self, context: str | None = None, **generate_kwargs):
        response_id, end_id = (self.tokenizer.convert_tokens_to_ids(key) for key in (RESPONSE_KEY, END_KEY))
        unknown = self.tokenizer.unk_token_id
        if response_id in (None, unknown) or end_id in (None, unknown):
            raise ValueError("Dolly's pipeline needs a tuned model: its tokenizer has no ### Response: / ### End tokens")
        stops = [end_id, self.tokenizer.eos_token_id]
        generate_kwargs["eos_token_id"] = stops
        generate_kwargs.setdefault("pad_token_id", self.tokenizer.pad_token_id)
        return {"context": context}, generate_kwargs, {"response_id": response_id, "stops": stops}

    def preprocess(self, instruction: str, context: str | None = None) -> dict:
        return self.tokenizer(build_prompt(instruction, context), return_tensors="pt")

    def _forward(self, model_inputs: dict, **generate_kwargs) -> dict:
        with quiet():
            sequence = self.model.generate(**model_inputs, **generate_kwargs)[0]
        return {"sequence": sequence.cpu(), "prompt_tokens": model_inputs["input_ids"].shape[1]}

    def postprocess(self, model_outputs: dict, response_id: int, stops: list[int]) -> dict:
        sequence = model_outputs["sequence"].tolist()
        start = sequence.index(response_id) + 1
        end = next((i for i in range(start, len(sequence)) if sequence[i] in stops), len(sequence))
        return {
            "generated_text": self.tokenizer.decode(sequence[start:end]).strip(),
            "new_tokens": len(sequence) - model_outputs["prompt_tokens"],
        }


def dolly_pipeline(folder: str | Path, dtype: torch.dtype) -> DollyPipeline:
    """Dolly's pipeline over a model's local folder, on the CPU."""
    with quiet():
        tokenizer = AutoTokenizer.from_pretrained(folder, padding_side="left")
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype).eval()
    return DollyPipeline(model=model, tokenizer=tokenizer, device="cpu")


def stock_pipeline(folder: str | Path, dtype: torch.dtype) -> Pipeline:
    """The stock ``pipeline("text-generation")`` over a model's local folder, on the CPU."""
    with quiet():
        return pipeline("text-generation", model=str(folder), dtype=dtype, device="cpu", trust_remote_code=False)


def ask_dolly_pipeline(generator: DollyPipeline, question: Question, max_new_tokens: int) -> tuple[str, int]:
    """One call of Dolly's pipeline, greedy: the answer and how many tokens it wrote."""
    with quiet():
        output = generator(question.instruction, context=question.context,
                           max_new_tokens=max_new_tokens, do_sample=False)
    return output["generated_text"], output["new_tokens"]


def ask_stock_pipeline(generator: Pipeline, question: Question, max_new_tokens: int) -> tuple[str, int]:
    """One call of the stock pipeline, greedy: the answer cut at ``### End`` and the tokens it wrote."""
    tokenizer = generator.tokenizer
    prompt = build_prompt(question.instruction, question.context)
    with quiet():
        (output,) = generator(prompt, max_new_tokens=max_new_tokens, do_sample=False, return_tensors=True,
                              pad_token_id=tokenizer.eos_token_id)
    prompt_tokens = len(tokenizer(prompt)["input_ids"])
    new_ids = output["generated_token_ids"][prompt_tokens:]
    text_ids = new_ids[: new_ids.index(tokenizer.eos_token_id)] if tokenizer.eos_token_id in new_ids else new_ids
    return extract_response(tokenizer.decode(text_ids)), len(new_ids)
