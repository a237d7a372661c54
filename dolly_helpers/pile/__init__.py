"""The mini-Pile: a miniature of The Pile (Gao et al. 2020) built from free sources (chapter 2).

Build it with ``python -m dolly_helpers.pile build``; read it with the names below.
"""

from __future__ import annotations

from .corpus import (
    CORPUS_DIR,
    CorpusMissing,
    load_split,
    load_tokenizer,
    read_manifest,
    read_samples,
    training_documents,
    validation_documents,
)

__all__ = [
    "CORPUS_DIR",
    "CorpusMissing",
    "load_split",
    "load_tokenizer",
    "read_manifest",
    "read_samples",
    "training_documents",
    "validation_documents",
]
