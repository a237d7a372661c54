"""Export a tiny model to ONNX, so that a web page can run it with onnxruntime-web.

The exported graph is one decoding step with a KV cache (chapter 7): it takes the new tokens
(``input_ids``: the whole prompt at the first step, then one token) and the keys and values of
every layer for the tokens before them (``past_keys``, ``past_values``: layers x 1 x heads x
past x head size, with past 0 at the first step), and returns the next token's logits and the
cache grown by the new tokens. The site's playground
(:mod:`dolly_helpers.book.browser_playground`) decodes with it in the reader's browser;
:func:`greedy_answer` runs the same loop in Python with ``onnxruntime``, so that the tests can
compare both with :func:`~dolly_helpers.generate`.
"""

from __future__ import annotations

from pathlib import Path

import torch

from .loading import LoadedModel
from .quiet import quiet

#: The graph's input and output names; the page's script uses the same.
INPUTS = ("input_ids", "past_keys", "past_values")
OUTPUTS = ("logits", "present_keys", "present_values")


class DecodingStep(torch.nn.Module):
    """A GPT-NeoX causal LM as one cached step: (new ids, past keys, past values) -> (logits, keys, values)."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model
        self.layers = model.config.num_hidden_layers

    def forward(self, input_ids: torch.Tensor, past_keys: torch.Tensor, past_values: torch.Tensor):
        from transformers import DynamicCache

        cache = DynamicCache(config=self.model.config)
        for layer in range(self.layers):
            cache.update(past_keys[layer], past_values[layer], layer)
        output = self.model(input_ids=input_ids, past_key_values=cache, use_cache=True, logits_to_keep=1)
        grown = output.past_key_values.layers
        keys = torch.stack([grown[layer].keys for layer in range(self.layers)])
        values = torch.stack([grown[layer].values for layer in range(self.layers)])
        return output.logits[:, -1, :], keys, values


def cache_shape(model: LoadedModel, past: int) -> tuple[int, int, int, int, int]:
    """The shape of ``past_keys`` and ``past_values`` for ``past`` tokens."""
    config = model.model.config
    heads = config.num_attention_heads
    return (config.num_hidden_layers, 1, heads, past, config.hidden_size // heads)


def export_onnx(model: LoadedModel, path: Path) -> Path:
    """Write ``model`` (a tiny model on the CPU, float32) as one decoding step to one ONNX file at ``path``.

    torch's dynamo exporter traces the step once, with the number of new tokens (1 to the
    window) and of past tokens (0 to the window less one) left free. The file is written to a
    neighbour and renamed, so a crash never leaves half a model at ``path``.
    """
    if model.backend != "torch" or not model.device.startswith("cpu"):
        raise ValueError(f"export_onnx needs a torch model on the CPU, got {model.name} on {model.backend} "
                         f"{model.device}: load it with load_model(name, device='cpu')")  # fmt: skip
    window = model.spec.context_length
    example = torch.tensor([model.tokenizer("Name three mountains in Asia.")["input_ids"]])
    past = torch.zeros(cache_shape(model, 5))  # any length but 0 or 1, which the tracer would fix
    new_tokens, past_tokens = torch.export.Dim("new", min=1, max=window), torch.export.Dim("past", min=0, max=window - 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    with quiet(), torch.inference_mode():
        program = torch.onnx.export(
            DecodingStep(model.model).eval(), (example, past, past.clone()), dynamo=True,
            input_names=list(INPUTS), output_names=list(OUTPUTS), optimize=True, verbose=False,
            dynamic_shapes={"input_ids": {1: new_tokens}, "past_keys": {3: past_tokens}, "past_values": {3: past_tokens}},
        )  # fmt: skip
        program.save(str(partial), external_data=False)
    partial.replace(path)
    return path


def greedy_answer(session, model: LoadedModel, prompt_ids: list[int], max_new_tokens: int) -> list[int]:
    """The new ids an ``onnxruntime.InferenceSession`` of ``model`` picks greedily, stop token included.

    The same loop as the playground page's: the prompt goes in with an empty cache, then each
    new token with the cache so far, and the answer ends at ``### End``, the tokenizer's end of
    text, or after ``max_new_tokens``.
    """
    import numpy as np

    from .decoding import stop_token_ids

    stops = set(stop_token_ids(model))
    keys = values = np.zeros(cache_shape(model, 0), dtype=np.float32)
    step, new = list(prompt_ids), []
    for _ in range(max_new_tokens):
        feed = dict(zip(INPUTS, (np.array([step], dtype=np.int64), keys, values)))
        logits, keys, values = session.run(list(OUTPUTS), feed)
        token = int(logits[0].argmax())
        new.append(token)
        if token in stops:
            break
        step = [token]
    return new
