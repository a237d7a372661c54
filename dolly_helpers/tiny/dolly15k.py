"""Read databricks-dolly-15k itself, for tuning the tiny Pythia suite on Dolly's real data.

Where the Hugging Face Hub is reachable, ``python -m dolly_helpers.tiny train --instructions
databricks/databricks-dolly-15k`` downloads the pinned revision of the dataset and tunes on it
instead of the book's generated records; a local ``.jsonl`` file in the same schema works too.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..validation import first_line
from .dataset import CATEGORIES, Record

HUB_ID = "databricks/databricks-dolly-15k"
REVISION = "bdd27f4d94b9c1f951818a7da7fd7aeea5dbff1a"  # pinned: the dataset's main branch
FILENAME = "databricks-dolly-15k.jsonl"
FIELDS = ("instruction", "context", "response", "category")
LICENCE = "CC BY-SA 3.0 (databricks-dolly-15k, copyright 2023 Databricks)"


class InstructionsUnavailable(RuntimeError):
    """The dataset could not be read: the Hub is unreachable or the file is not in its schema."""


def read_records(path: str | Path) -> list[Record]:
    """Records from a JSON-lines file with databricks-dolly-15k's four fields.

    An empty ``context`` (as the dataset writes it) means no passage. A line that is not JSON,
    lacks a field or names an unknown category is refused in one line that names it.
    """
    records = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise InstructionsUnavailable(f"{path}, line {number}: not JSON ({error.msg})") from None
        missing = [name for name in FIELDS if not isinstance(row.get(name), str)]
        if missing:
            raise InstructionsUnavailable(
                f"{path}, line {number}: missing the text field(s) {', '.join(missing)} of "
                f"databricks-dolly-15k's schema ({', '.join(FIELDS)})"
            )
        if row["category"] not in CATEGORIES:
            raise InstructionsUnavailable(
                f"{path}, line {number}: unknown category {row['category']!r}: "
                f"databricks-dolly-15k has {', '.join(CATEGORIES)}"
            )
        records.append(Record(row["instruction"].strip(), row["response"].strip(), row["category"],
                              row["context"].strip() or None))  # fmt: skip
    return records


def download(hub_id: str = HUB_ID, revision: str = REVISION) -> Path:
    """The dataset file from the Hub at the pinned revision (cached by huggingface_hub)."""
    from huggingface_hub import hf_hub_download

    try:
        return Path(hf_hub_download(hub_id, FILENAME, repo_type="dataset", revision=revision))
    except Exception as error:  # offline, DNS, HTTP: each is the same fact for the reader
        reason = first_line(error)
        raise InstructionsUnavailable(
            f"the Hugging Face Hub cannot be reached to download {hub_id} ({reason[:120]}): "
            "run where the Hub is reachable, or pass a local .jsonl file in its schema"
        ) from None


def load_instructions(source: str) -> list[Record]:
    """``source`` is the Hub id of databricks-dolly-15k or a local JSON-lines file in its schema."""
    if source == HUB_ID:
        return read_records(download())
    path = Path(source)
    if not path.is_file():
        raise InstructionsUnavailable(f"no such file {source!r}: pass {HUB_ID} or a .jsonl file in its schema")
    return read_records(path)
