"""What a layer computes, recorded by trace_layer and attention_weights, equals the hand-written arithmetic."""

import pytest
import torch

from dolly_helpers import build_prompt
from dolly_helpers.capture import attention_weights, trace_layer


@pytest.fixture(scope="module")
def ids(model):
    return model.tokenizer(build_prompt("What is the highest mountain in Japan?"), return_tensors="pt")["input_ids"]


def _attention_by_hand(model, block, trace):
    """Causal self-attention with rotary embeddings on the first quarter of each head, written out."""
    heads, size = model.spec.num_heads, model.spec.head_dim
    rotary = int(size * model.spec.rotary_pct)
    tokens = trace.input.shape[1]
    qkv = block.attention.query_key_value(block.input_layernorm(trace.input))
    q, k, v = qkv.view(1, tokens, heads, 3 * size).transpose(1, 2).chunk(3, dim=-1)
    cos, sin = trace.cos.unsqueeze(1), trace.sin.unsqueeze(1)

    def rotate(x):
        turned, kept = x[..., :rotary], x[..., rotary:]
        swapped = torch.cat([-turned[..., rotary // 2 :], turned[..., : rotary // 2]], dim=-1)
        return torch.cat([turned * cos + swapped * sin, kept], dim=-1)

    scores = rotate(q) @ rotate(k).transpose(-2, -1) / size**0.5
    future = torch.triu(torch.ones(tokens, tokens, dtype=torch.bool), diagonal=1)
    weights = scores.masked_fill(future, float("-inf")).softmax(-1)
    return block.attention.dense((weights @ v).transpose(1, 2).reshape(1, tokens, heads * size)), weights[0]


@pytest.mark.parametrize("layer", [0, 5])
def test_the_hand_written_attention_equals_the_models(model, ids, layer):
    trace = trace_layer(model, ids, layer)
    block = model.model.base_model.layers[layer]
    with torch.inference_mode():
        output, weights = _attention_by_hand(model, block, trace)
        residual = trace.input + trace.attention + block.mlp(block.post_attention_layernorm(trace.input))
    assert torch.allclose(output, trace.attention, atol=1e-5)
    assert torch.allclose(weights, attention_weights(model, ids)[layer], atol=1e-5)
    assert torch.allclose(residual, trace.output, atol=1e-5)  # the parallel residual
    assert trace.input.shape == (1, ids.shape[1], model.spec.hidden_size)


def test_attention_weights_are_causal_rows_of_one(model, ids):
    patterns = attention_weights(model, ids)
    tokens = ids.shape[1]
    assert patterns.shape == (model.spec.num_layers, model.spec.num_heads, tokens, tokens)
    assert torch.allclose(patterns.sum(-1), torch.ones(patterns.shape[:-1]), atol=1e-5)
    assert patterns.triu(diagonal=1).abs().max() == 0
    assert model.model.config._attn_implementation != "eager"  # switched back after the call


def test_a_layer_out_of_range_is_one_line(model, ids):
    with pytest.raises(ValueError, match="layer must be 0 to 5 for tiny-dolly-large, got 6"):
        trace_layer(model, ids, 6)
