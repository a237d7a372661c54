"""The models this book runs: Dolly 2.0 and its Pythia bases, and the embedded tiny family.

Each model is one of two stages of Dolly's recipe: a pretrained ``base`` (Pythia, or the tiny
Pythia suite pretrained on the mini-Pile) or an ``instruct`` model tuned from it (Dolly 2.0, or
the tiny Dolly family). Chapter 1 compares their sizes; chapter 4 picks one by name.
Architecture figures of the Hub models come from their ``config.json`` files; the tiny ones
are ours.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Family = Literal["dolly", "pythia", "tiny", "local"]
Stage = Literal["base", "instruct"]

#: Where the tiny family's weights and tokenizer live inside the package.
TINY_MODELS_DIR = Path(__file__).parent / "tiny_models"


@dataclass(frozen=True)
class ModelSpec:
    """One model: where to get it and the shape of its GPT-NeoX network."""

    name: str
    family: Family
    hub_id: str | None  # None for models shipped with the book
    revision: str | None  # the pinned Hub commit, None for local models
    base_model: str  # the model an instruct model was tuned from; how a base model was made
    num_layers: int
    hidden_size: int
    num_heads: int
    intermediate_size: int
    vocab_size: int
    context_length: int
    rotary_pct: float = 0.25
    checkpoint_gb: float | None = None  # size of the published weights file
    stage: Stage = "instruct"

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_heads

    @property
    def n_params(self) -> int:
        """Parameter count of a GPT-NeoX with untied input and output embeddings."""
        h, i = self.hidden_size, self.intermediate_size
        # Two layer norms, fused QKV with bias, output projection, two-layer MLP.
        per_layer = 4 * h + (3 * h * h + 3 * h) + (h * h + h) + (2 * h * i + i + h)
        return self.num_layers * per_layer + 2 * h + 2 * self.vocab_size * h

    @property
    def local_path(self) -> Path | None:
        """The folder holding a shipped model, None for a model from the Hub."""
        return TINY_MODELS_DIR / self.name if self.family == "tiny" else None


_DOLLY_COMMON = dict(family="dolly", vocab_size=50280, context_length=2048)
_PYTHIA_COMMON = dict(family="pythia", context_length=2048, stage="base",
                      base_model="pretrained by EleutherAI on The Pile")  # fmt: skip

#: The tiny suite's shapes: the same three sizes in both stages, as Dolly's sizes mirror Pythia's.
_TINY_SHAPES = {
    "small": dict(num_layers=2, hidden_size=64, num_heads=4, intermediate_size=256),
    "medium": dict(num_layers=4, hidden_size=128, num_heads=4, intermediate_size=512),
    "large": dict(num_layers=6, hidden_size=256, num_heads=8, intermediate_size=1024),
}
#: The base tokenizer's size (trained on the mini-Pile) and the tuned one's, with Dolly's 3 keys.
TINY_BASE_VOCAB = 4096
TINY_CONTEXT = 256


def _tiny(size: str, stage: Stage) -> ModelSpec:
    if stage == "base":
        name, base, vocab = f"tiny-pythia-{size}", "pretrained by this book on the mini-Pile", TINY_BASE_VOCAB
    else:
        name, base, vocab = f"tiny-dolly-{size}", f"tiny-pythia-{size}", TINY_BASE_VOCAB + 3
    return ModelSpec(name=name, family="tiny", hub_id=None, revision=None, base_model=base,
                     vocab_size=vocab, context_length=TINY_CONTEXT, stage=stage, **_TINY_SHAPES[size])  # fmt: skip


_MODELS = (
    *(_tiny(size, "base") for size in _TINY_SHAPES),
    *(_tiny(size, "instruct") for size in _TINY_SHAPES),
    ModelSpec(
        name="pythia-2.8b", hub_id="EleutherAI/pythia-2.8b",
        revision="2a259cdd96a4beb1cdf467512e3904197345f6a9", num_layers=32, hidden_size=2560,
        num_heads=32, intermediate_size=10240, vocab_size=50304, **_PYTHIA_COMMON,
    ),
    ModelSpec(
        name="pythia-6.9b", hub_id="EleutherAI/pythia-6.9b",
        revision="c0e3eee36dc47af0c49f361c74cfe459c09f7f23", num_layers=32, hidden_size=4096,
        num_heads=32, intermediate_size=16384, vocab_size=50432, **_PYTHIA_COMMON,
    ),
    ModelSpec(
        name="pythia-12b", hub_id="EleutherAI/pythia-12b",
        revision="bb1e3e710cdf6b524461d543cfb5ba773f0a81b6", num_layers=36, hidden_size=5120,
        num_heads=40, intermediate_size=20480, vocab_size=50688, **_PYTHIA_COMMON,
    ),
    ModelSpec(
        name="dolly-v2-3b", hub_id="databricks/dolly-v2-3b",
        revision="f6c9be08f16fe4d3a719bee0a4a7c7415b5c65df",
        base_model="EleutherAI/pythia-2.8b", num_layers=32, hidden_size=2560, num_heads=32,
        intermediate_size=10240, checkpoint_gb=5.68, **_DOLLY_COMMON,
    ),
    ModelSpec(
        name="dolly-v2-7b", hub_id="databricks/dolly-v2-7b",
        revision="97611f20f95e1d8c1e914b85da55cc3937c31192",
        base_model="EleutherAI/pythia-6.9b", num_layers=32, hidden_size=4096, num_heads=32,
        intermediate_size=16384, checkpoint_gb=13.8, **_DOLLY_COMMON,
    ),
    ModelSpec(
        name="dolly-v2-12b", hub_id="databricks/dolly-v2-12b",
        revision="19308160448536e378e3db21a73a751579ee7fdd",
        base_model="EleutherAI/pythia-12b", num_layers=36, hidden_size=5120, num_heads=40,
        intermediate_size=20480, checkpoint_gb=23.8, **_DOLLY_COMMON,
    ),
)

#: The model every chapter uses unless told otherwise: small, shipped, fast on a laptop.
DEFAULT_MODEL = "tiny-dolly-large"

#: The tiny Dolly family (instruction-tuned), smallest first: what the chapters run.
TINY_MODELS = tuple(s.name for s in _MODELS if s.family == "tiny" and s.stage == "instruct")
#: The tiny Pythia suite (stage 1, the bases of the tiny Dolly family).
TINY_BASE_MODELS = tuple(s.name for s in _MODELS if s.family == "tiny" and s.stage == "base")
DOLLY_MODELS = tuple(spec.name for spec in _MODELS if spec.family == "dolly")
PYTHIA_MODELS = tuple(spec.name for spec in _MODELS if spec.family == "pythia")


def list_models(family: str | None = None) -> list[ModelSpec]:
    """Return every known model, smallest first, optionally only one family."""
    return [spec for spec in _MODELS if family is None or spec.family == family]


class UnknownModelError(ValueError):
    """A model name that is not one of the book's; the message suggests the closest and lists all."""


def get_spec(name: str) -> ModelSpec:
    """Return the spec of a model by name; unknown names raise a one-line :class:`UnknownModelError`.

    The message suggests the closest name (``'dolly-v2-13b'`` -> ``'dolly-v2-12b'``, a Hub id such
    as ``'databricks/dolly-v2-3b'`` -> ``'dolly-v2-3b'``) and lists every name.
    """
    for spec in _MODELS:
        if spec.name == name:
            return spec
    raise UnknownModelError(unknown_model_message(name))


def unknown_model_message(name: object) -> str:
    """"unknown model 'dolly-v2-13b': did you mean 'dolly-v2-12b'? choose one of: ..."."""
    names = [spec.name for spec in _MODELS]
    known = ", ".join(names)
    if not isinstance(name, str):
        return f"the model name must be a string, got {type(name).__name__} {name!r}: choose one of: {known}"
    guess = _closest_name(name, names)
    did_you_mean = f" did you mean {guess!r}?" if guess else ""
    return f"unknown model {name!r}:{did_you_mean} choose one of: {known}"


def _closest_name(name: str, names: list[str]) -> str | None:
    """The book name a mistyped name most resembles, or None when none is close.

    A Hub id maps to its book name. A Dolly-like name with a size ("dolly-v2-13b") gets the Dolly
    size nearest in parameters (12b), which spelling alone would not pick (it finds "3b").
    """
    by_hub_id = {spec.hub_id.lower(): spec.name for spec in _MODELS if spec.hub_id}
    typed = name.strip().lower()
    if typed in by_hub_id:
        return by_hub_id[typed]
    lowered = {candidate.lower(): candidate for candidate in names}
    for text in (typed, typed.rsplit("/", 1)[-1]):
        close = difflib.get_close_matches(text, list(lowered), n=1, cutoff=0.6)
        if close:
            size = re.search(r"(\d+(?:\.\d+)?)b$", text)
            if size and float(size.group(1)) > 0 and lowered[close[0]] in DOLLY_MODELS:
                billions = float(size.group(1))
                return min(DOLLY_MODELS, key=lambda dolly: abs(math.log(_billions(dolly) / billions)))
            return lowered[close[0]]
    return None


def _billions(name: str) -> float:
    """dolly-v2-12b -> 12.0: the size a Dolly name states."""
    return float(name.rsplit("-", 1)[-1].removesuffix("b"))
