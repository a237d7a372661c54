"""LoRA on the tiny Dolly models with peft, and what the same adapter costs at Dolly's shapes (chapter 12).

The task a tiny Dolly cannot do yet: the capitals of invented countries. :func:`new_facts` writes
them as instruction records in the wordings the tiny family was tuned on (for training) and in
its two held-out wordings (for scoring), so that a score says whether a fact was learned, not a
sentence. :func:`add_lora` wraps a model in a peft LoRA adapter; :func:`lora_parameters`
computes an adapter's size from a model's shapes, for the real sizes too.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from .models import ModelSpec
from .quiet import quiet
from .tiny.dataset import Record, relation_record
from .tiny.relations import RELATIONS
from .tiny.passages import invented_word

#: The linear layers of a GPT-NeoX layer, as peft names them: the fused query-key-value
#: projection, attention's output projection and the MLP's two layers.
NEOX_LINEARS = ("query_key_value", "dense", "dense_h_to_4h", "dense_4h_to_h")
#: The LoRA default of Dolly's users: the fused attention projection only (peft's own default
#: target for GPT-NeoX), rank 8.
DOLLY_LORA_TARGETS = ("query_key_value",)

_CAPITAL = next(relation for relation in RELATIONS if relation.name == "capital")


def new_facts(count: int = 40, seed: int = 0) -> tuple[list[Record], list[Record]]:
    """Capitals of ``count`` invented countries: training records in the six taught wordings, and
    held-out records in the two wordings the tiny family never saw. The same seed gives the same facts."""
    rng = random.Random(f"new-facts-{seed}")
    taken: set[str] = set()

    def fresh() -> str:
        word = invented_word(rng)
        while word in taken:
            word = invented_word(rng)
        taken.add(word)
        return word

    train, heldout = [], []
    taught = len(_CAPITAL.phrasings)
    for _ in range(count):
        slots = {"country": fresh(), "capital": fresh()}
        train += [relation_record(_CAPITAL, phrasing, slots) for phrasing in range(taught)]
        heldout += [relation_record(_CAPITAL, taught + extra, slots) for extra in range(len(_CAPITAL.heldout_phrasings))]
    return train, heldout


def add_lora(network, *, rank: int = 8, alpha: int = 16, targets: Sequence[str] = NEOX_LINEARS):
    """``network`` (a ``GPTNeoXForCausalLM``) wrapped in a fresh LoRA adapter on the ``targets`` layers.

    Only the adapter's matrices train; the model's own weights are frozen. peft adds
    ``B @ A * alpha / rank`` to each target layer, with ``B`` zero at the start, so the wrapped
    model first answers exactly as the original.
    """
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(r=rank, lora_alpha=alpha, target_modules=list(targets), lora_dropout=0.0, bias="none",
                        task_type="CAUSAL_LM")  # fmt: skip
    with quiet():  # peft calls a transformers method that transformers 5 has deprecated
        return get_peft_model(network, config)


def trainable_parameters(network) -> tuple[int, int]:
    """(parameters that train, all parameters) of ``network``."""
    trainable = sum(p.numel() for p in network.parameters() if p.requires_grad)
    return trainable, sum(p.numel() for p in network.parameters())


def lora_parameters(spec: ModelSpec, rank: int, targets: Sequence[str] = DOLLY_LORA_TARGETS) -> int:
    """The parameters of a rank-``rank`` LoRA adapter on ``targets`` of every layer of ``spec``.

    Each adapted layer of shape ``in x out`` gains ``rank * (in + out)`` parameters (the two
    matrices ``A`` and ``B``).
    """
    h, i = spec.hidden_size, spec.intermediate_size
    shapes = {"query_key_value": (h, 3 * h), "dense": (h, h), "dense_h_to_4h": (h, i), "dense_4h_to_h": (i, h)}
    unknown = sorted(set(targets) - set(shapes))
    if unknown:
        raise ValueError(f"unknown target module {unknown[0]!r}: choose from {', '.join(shapes)}")
    return spec.num_layers * sum(rank * sum(shapes[name]) for name in targets)
