"""Capture what a GPT-NeoX model computes inside on one prompt (chapter "Inside Dolly's network").

:func:`trace_layer` records what enters one layer, what its attention and its MLP each add, and
what leaves it; :func:`attention_weights` returns every head's attention pattern. The chapter
recomputes both by hand and checks its own arithmetic against them.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .loading import LoadedModel


@dataclass(frozen=True)
class LayerTrace:
    """One layer on one prompt; every tensor is ``[1, tokens, hidden]`` unless noted."""

    layer: int
    input: torch.Tensor  # the hidden states entering the layer
    attention: torch.Tensor  # the attention sub-layer's output (after its dense projection)
    mlp: torch.Tensor  # the MLP sub-layer's output
    output: torch.Tensor  # the hidden states leaving the layer
    cos: torch.Tensor  # the rotary embedding's cosines, ``[1, tokens, rotary dims]``
    sin: torch.Tensor  # and its sines


def trace_layer(model: LoadedModel, input_ids: torch.Tensor, layer: int) -> LayerTrace:
    """Run ``input_ids`` (``[1, tokens]``) through the model and record layer ``layer`` on the way."""
    layers = model.model.base_model.layers
    if not 0 <= layer < len(layers):
        raise ValueError(f"layer must be 0 to {len(layers) - 1} for {model.name}, got {layer}")
    block = layers[layer]
    seen: dict[str, object] = {}

    def before(module, args, kwargs):
        seen["input"] = args[0] if args else kwargs["hidden_states"]
        seen["cos"], seen["sin"] = kwargs["position_embeddings"]

    hooks = [
        block.register_forward_pre_hook(before, with_kwargs=True),
        block.register_forward_hook(lambda module, args, output: seen.__setitem__("output", output)),
        block.attention.register_forward_hook(lambda module, args, output: seen.__setitem__("attention", output[0])),
        block.mlp.register_forward_hook(lambda module, args, output: seen.__setitem__("mlp", output)),
    ]
    try:
        with torch.inference_mode():
            model.model(input_ids=input_ids.to(model.device))
    finally:
        for hook in hooks:
            hook.remove()
    output = seen["output"][0] if isinstance(seen["output"], tuple) else seen["output"]
    return LayerTrace(layer, seen["input"], seen["attention"], seen["mlp"], output, seen["cos"], seen["sin"])


def attention_weights(model: LoadedModel, input_ids: torch.Tensor) -> torch.Tensor:
    """Every head's attention pattern on ``input_ids`` (``[1, tokens]``): ``[layers, heads, tokens, tokens]``.

    Row ``t`` of a pattern is how the token at position ``t`` shares its attention among the
    positions up to ``t``; each row sums to 1. The patterns come from transformers' plain
    ("eager") attention, switched on for this call only, since the fused kernels never write them
    out.
    """
    network = model.model
    before = network.config._attn_implementation
    network.set_attn_implementation("eager")
    try:
        with torch.inference_mode():
            outputs = network(input_ids=input_ids.to(model.device), output_attentions=True)
    finally:
        network.set_attn_implementation(before)
    return torch.cat(outputs.attentions).float().cpu()
