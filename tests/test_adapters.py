"""LoRA on a tiny Dolly: the new facts, the adapter's size, merging, and the cost at Dolly's shapes."""

import dataclasses

import pytest
import torch

pytest.importorskip("peft")

from dolly_helpers import generate, get_spec  # noqa: E402
from dolly_helpers.adapters import (  # noqa: E402
    DOLLY_LORA_TARGETS,
    NEOX_LINEARS,
    add_lora,
    lora_parameters,
    new_facts,
    trainable_parameters,
)
from dolly_helpers.tiny.train import encode_records, record_batches  # noqa: E402


def test_new_facts_are_invented_and_asked_in_unseen_wordings():
    train, heldout = new_facts(5, seed=0)
    assert len(train) == 5 * 6 and len(heldout) == 5 * 2
    assert new_facts(5, seed=0) == (train, heldout) and new_facts(5, seed=1) != (train, heldout)
    taught = {r.template for r in train}
    assert not taught & {r.template for r in heldout}  # held-out wordings are never trained on
    assert {r.answer for r in heldout} == {r.answer for r in train}
    assert all(r.answer in r.response for r in train + heldout)


def test_an_adapter_starts_as_the_model_and_trains_only_itself(tiny_models):
    model = tiny_models["tiny-dolly-small"]
    network = copy_of(model)
    lora = add_lora(network, rank=4)
    trained, total = trainable_parameters(lora)
    assert trained == lora_parameters(model.spec, 4, NEOX_LINEARS)
    assert total == trained + sum(p.numel() for p in model.model.parameters())
    adapted = dataclasses.replace(model, model=lora)
    questions = ["What is the highest mountain in Japan?", "What is the capital of France?"]
    assert [a.response for a in generate(adapted, questions)] == [a.response for a in generate(model, questions)]


def test_a_merged_adapter_answers_as_the_unmerged_one(tiny_models, one_thread):
    model = tiny_models["tiny-dolly-small"]
    torch.manual_seed(0)
    lora = add_lora(copy_of(model), rank=4)
    train, heldout = new_facts(4, seed=0)
    examples, _ = encode_records(train, model.tokenizer, model.spec.context_length)
    optimizer = torch.optim.AdamW([p for p in lora.parameters() if p.requires_grad], lr=2e-2)
    lora.train()
    for batch in record_batches(examples, 8, 2, 0, model.tokenizer.pad_token_id):
        lora(**batch).loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    lora.eval()
    questions = [r.instruction for r in heldout]
    before = [a.response for a in generate(dataclasses.replace(model, model=lora), questions)]
    assert before != [a.response for a in generate(model, questions)]  # the adapter changed something
    merged = lora.merge_and_unload()
    assert type(merged).__name__ == "GPTNeoXForCausalLM"
    assert [a.response for a in generate(dataclasses.replace(model, model=merged), questions)] == before


def test_adapter_size_at_dollys_shapes():
    # rank 8 on query_key_value: 36 layers x 8 x (5120 + 3 x 5120)
    assert lora_parameters(get_spec("dolly-v2-12b"), 8, DOLLY_LORA_TARGETS) == 36 * 8 * 4 * 5120
    assert lora_parameters(get_spec("tiny-dolly-medium"), 8, DOLLY_LORA_TARGETS) == 16_384
    with pytest.raises(ValueError, match="unknown target module 'q_proj'"):
        lora_parameters(get_spec("dolly-v2-3b"), 8, ["q_proj"])


def copy_of(model):
    import copy

    return copy.deepcopy(model.model)
