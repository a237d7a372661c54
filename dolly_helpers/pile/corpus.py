"""Read the built mini-Pile: splits, the one training order, the tokenizer, the committed manifest.

Chapter 2 reads the manifest and samples (committed, so a fresh clone has them); the tiny
family's pretraining reads the corpus that ``python -m dolly_helpers.pile build`` writes.
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
CORPUS_DIR = REPO_ROOT / ".cache" / "mini-pile"
DATA_DIR = Path(__file__).resolve().parent / "data"
MANIFEST_PATH = DATA_DIR / "manifest.json"
SAMPLES_DIR = DATA_DIR / "samples"
SPLITS = ("train", "validation")


class CorpusMissing(FileNotFoundError):
    """The corpus has not been built on this machine."""


def _missing(corpus_dir: Path) -> CorpusMissing:
    return CorpusMissing(f"no mini-Pile at {corpus_dir}: run `python -m dolly_helpers.pile build`")


def read_jsonl(path: Path) -> list[str]:
    """The ``text`` of every line of a JSON-lines file."""
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line)["text"] for line in lines if line.strip()]


def read_manifest(manifest_path: Path = MANIFEST_PATH) -> list[dict]:
    """The committed manifest: one dict per component (name, kind, source, licence, tokens, ...)."""
    return json.loads(manifest_path.read_text(encoding="utf-8"))["components"]


def read_samples(component: str, samples_dir: Path = SAMPLES_DIR) -> list[str]:
    """The few committed sample documents of one component (cut to about 1,500 characters)."""
    return read_jsonl(samples_dir / f"{component}.jsonl")


def _components(corpus_dir: Path) -> list[dict]:
    path = corpus_dir / "manifest.json"
    if not path.exists():
        raise _missing(corpus_dir)
    return read_manifest(path)


def load_split(component: str, split: str, corpus_dir: Path = CORPUS_DIR) -> list[str]:
    """The documents of one component's ``train`` or ``validation`` split."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, not {split!r}")
    path = Path(corpus_dir) / component / f"{split}.jsonl"
    if not path.exists():
        raise _missing(Path(corpus_dir))
    return read_jsonl(path)


def epoch_documents(documents: list[str], epochs: float) -> list[str]:
    """``documents`` repeated ``int(epochs)`` times, plus a fixed (hash-chosen) share for the rest."""
    whole = int(epochs)
    extra = round((epochs - whole) * len(documents))
    by_hash = sorted(documents, key=lambda t: hashlib.sha256(("epoch:" + t).encode()).hexdigest())
    return documents * whole + by_hash[:extra]


def training_documents(seed: int, corpus_dir: Path = CORPUS_DIR) -> list[str]:
    """Every train document, repeated by its component's epochs, in one shuffled order.

    As with Pythia, every model size should be trained on this same order (same ``seed``).
    """
    corpus_dir = Path(corpus_dir)
    documents = []
    for component in _components(corpus_dir):
        documents += epoch_documents(load_split(component["name"], "train", corpus_dir), component["epochs"])
    random.Random(seed).shuffle(documents)
    return documents


def validation_documents(corpus_dir: Path = CORPUS_DIR) -> dict[str, list[str]]:
    """Each component's held-out documents, by component name."""
    corpus_dir = Path(corpus_dir)
    return {c["name"]: load_split(c["name"], "validation", corpus_dir) for c in _components(corpus_dir)}


def load_tokenizer(corpus_dir: Path = CORPUS_DIR):
    """The byte-level BPE tokenizer trained on the mini-Pile's train split."""
    from transformers import PreTrainedTokenizerFast

    folder = Path(corpus_dir) / "tokenizer"
    if not (folder / "tokenizer.json").exists():
        raise _missing(Path(corpus_dir))
    return PreTrainedTokenizerFast.from_pretrained(str(folder))
