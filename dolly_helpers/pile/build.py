"""Build the mini-Pile: read, clean, deduplicate, cap, split, write, train the tokenizer, count.

``python -m dolly_helpers.pile build`` runs :func:`build`; chapter 2 explains each step. The same
sources give the same bytes on every machine: paths are sorted, choices are made by sha256 and
generated text comes from fixed seeds.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import tempfile
import time
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..tiny.tokenizer import VOCAB_SIZE, train_tokenizer
from .readers import MissingSource
from .corpus import CORPUS_DIR, MANIFEST_PATH, SAMPLES_DIR, read_manifest
from .sources import SOURCES, Source

MIN_CHARACTERS = 64
VALIDATION_SHARE = 0.03
MIN_VALIDATION = 3
SAMPLES_PER_COMPONENT = 4
WHOLE_SAMPLES = 3  # for components whose licence allows only verbatim copies: the shortest whole texts


@dataclass
class BuildReport:
    """What a build did: the manifest's components, duplicates dropped, components that changed."""

    components: list[dict]
    duplicates: int
    changed: list[str] = field(default_factory=list)
    seconds: float = 0.0


def clean(text: str) -> str:
    """NFC, ``\\n`` line ends, no trailing spaces, at most two blank lines in a row, no outer blanks."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return re.sub(r"\n{4,}", "\n\n\n", text).strip()


def _sha(text: str, salt: str = "") -> str:
    return hashlib.sha256((salt + text).encode("utf-8")).hexdigest()


def select(documents: Sequence[str], cap_bytes: int | None) -> tuple[list[str], list[str]]:
    """Cap ``documents`` and hold back a validation split; both chosen by hash, kept in source order.

    Documents are taken in sha256 order while they fit in ``cap_bytes`` of train text (plus the
    validation share); of those, ``VALIDATION_SHARE`` (at least ``MIN_VALIDATION``) are held back.
    """
    chosen = set(range(len(documents)))
    if cap_bytes is not None:
        budget, chosen = cap_bytes / (1 - VALIDATION_SHARE), set()
        for index in sorted(range(len(documents)), key=lambda i: _sha(documents[i])):
            size = len(documents[index].encode())
            if size <= budget:
                chosen.add(index)
                budget -= size
    count = min(max(MIN_VALIDATION, round(VALIDATION_SHARE * len(chosen))), len(chosen) - 1)
    held = set(sorted(chosen, key=lambda i: _sha(documents[i], "validation:"))[: max(count, 0)])
    train = [documents[i] for i in sorted(chosen - held)]
    return train, [documents[i] for i in sorted(held)]


def component_sha256(train: Iterable[str], validation: Iterable[str]) -> str:
    """sha256 of a component's cleaned train then validation documents, each ended by a NUL."""
    digest = hashlib.sha256()
    for text in [*train, *validation]:
        digest.update(text.encode("utf-8") + b"\0")
    return digest.hexdigest()


def _write_atomic(path: Path, data: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(data, encoding="utf-8")
    os.replace(temporary, path)


def _jsonl(texts: Iterable[str], **extra: object) -> str:
    return "".join(json.dumps({"text": t, **extra}, ensure_ascii=False) + "\n" for t in texts)


def excerpt(text: str, limit: int | None) -> str:
    """``text`` cut at the last line end (or space) before ``limit`` characters; whole if it fits."""
    if limit is None or len(text) <= limit:
        return text
    cut = text.rfind("\n", 0, limit)
    if cut < limit // 2:
        cut = text.rfind(" ", 0, limit)
    return text[: cut if cut > 0 else limit].rstrip()


def samples(source: Source, train: Sequence[str]) -> list[str]:
    """A few real documents of a component for the book: hash-chosen excerpts, or whole short texts."""
    if source.sample_chars is None:
        chosen = sorted(train, key=lambda t: (len(t), t))[:WHOLE_SAMPLES]
    else:
        chosen = sorted(train, key=lambda t: _sha(t, "sample:"))[:SAMPLES_PER_COMPONENT]
    return [excerpt(t, source.sample_chars) for t in chosen]


def _previous_hashes(manifest_path: Path) -> dict[str, str]:
    if not manifest_path.exists():
        return {}
    try:
        return {c["name"]: c["sha256"] for c in read_manifest(manifest_path)}
    except (ValueError, KeyError):
        return {}


def _save_tokenizer(tokenizer, folder: Path) -> None:
    temporary = Path(tempfile.mkdtemp(prefix=".tokenizer-", dir=folder.parent))
    temporary.chmod(0o755)  # mkdtemp makes it private; the corpus folder is not
    tokenizer.save_pretrained(str(temporary))
    if folder.exists():
        shutil.rmtree(folder)
    os.replace(temporary, folder)


def build(
    out_dir: Path = CORPUS_DIR,
    sources: Sequence[Source] = SOURCES,
    paths: Mapping[str, Path] | None = None,
    manifest_path: Path = MANIFEST_PATH,
    samples_dir: Path = SAMPLES_DIR,
    vocab_size: int = VOCAB_SIZE,
    log: Callable[[str], None] = print,
) -> BuildReport:
    """Build every component into ``out_dir`` and write the manifest and samples.

    ``paths`` overrides where a component's source lives (the tests point it at fake folders).
    Raises :class:`~dolly_helpers.pile.readers.MissingSource` before writing anything.
    """
    started = time.perf_counter()
    out_dir, paths = Path(out_dir), dict(paths or {})
    previous = _previous_hashes(manifest_path)
    seen: set[str] = set()
    splits: list[tuple[Source, list[str], list[str], int]] = []
    duplicates = 0
    for source in sources:
        try:
            raw = source.read(Path(paths.get(source.name, source.path or ".")))
        except MissingSource as missing:
            missing.component = source.name
            raise
        documents, dropped = [], 0
        for text in map(clean, raw):
            if len(text) < MIN_CHARACTERS:
                continue
            digest = _sha(text)
            if digest in seen:
                dropped += 1
                continue
            seen.add(digest)
            documents.append(text)
        duplicates += dropped
        train, validation = select(documents, source.cap_bytes)
        splits.append((source, train, validation, dropped))
        log(f"{source.name:<14} {len(train):>6} train + {len(validation):>3} validation documents, "
            f"{sum(len(t.encode()) for t in train):>9,} bytes, {dropped} duplicates dropped")  # fmt: skip

    for source, train, validation, _ in splits:
        _write_atomic(out_dir / source.name / "train.jsonl", _jsonl(train))
        _write_atomic(out_dir / source.name / "validation.jsonl", _jsonl(validation))
        _write_atomic(Path(samples_dir) / f"{source.name}.jsonl", _jsonl(samples(source, train)))

    log(f"training the tokenizer (vocabulary {vocab_size:,}) on the train splits")
    tokenizer = train_tokenizer((t for _, train, _, _ in splits for t in train), vocab_size=vocab_size)
    _save_tokenizer(tokenizer, out_dir / "tokenizer")

    components = []
    for source, train, validation, dropped in splits:
        tokens = sum(len(e.ids) for e in tokenizer.backend_tokenizer.encode_batch(train, add_special_tokens=False))
        components.append({
            "name": source.name, "kind": source.kind, "source": source.describe(),
            "licence": source.licence, "licence_note": source.licence_note,
            "documents": len(train), "bytes": sum(len(t.encode()) for t in train), "tokens": tokens,
            "epochs": source.epochs, "validation_documents": len(validation),
            "validation_bytes": sum(len(t.encode()) for t in validation),
            "duplicates_dropped": dropped, "sha256": component_sha256(train, validation),
        })  # fmt: skip
    seen_tokens = sum(c["tokens"] * c["epochs"] for c in components)
    for component in components:
        component["share"] = round(component["tokens"] * component["epochs"] / seen_tokens, 6)
        component["bytes_per_token"] = round(component["bytes"] / max(component["tokens"], 1), 3)

    manifest = {
        "corpus": "mini-Pile",
        "vocab_size": vocab_size,
        "components": components,
        "totals": {
            "documents": sum(c["documents"] for c in components),
            "bytes": sum(c["bytes"] for c in components),
            "tokens": sum(c["tokens"] for c in components),
            "tokens_seen": int(math.floor(seen_tokens)),
            "duplicates_dropped": duplicates,
        },
    }
    text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
    _write_atomic(out_dir / "manifest.json", text)
    _write_atomic(Path(manifest_path), text)

    changed = [c["name"] for c in components if c["name"] in previous and previous[c["name"]] != c["sha256"]]
    return BuildReport(components, duplicates, changed, time.perf_counter() - started)
