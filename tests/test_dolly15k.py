"""Tests for reading databricks-dolly-15k itself (dolly_helpers/tiny/dolly15k.py).

The fixture holds 12 hand-written records in the dataset's exact schema, one or more of each of
its 8 categories; tests never reach the Hub.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from dolly_helpers.models import get_spec
from dolly_helpers.prompt import build_training_text
from dolly_helpers.tiny.dataset import make_dataset
from dolly_helpers.tiny.dolly15k import InstructionsUnavailable, load_instructions, read_records
from dolly_helpers.tiny.tokenizer import train_tokenizer
from dolly_helpers.tiny.train import instruction_tune, neox_config

FIXTURE = Path(__file__).parent / "fixtures" / "dolly15k_sample.jsonl"
REPOSITORY = Path(__file__).resolve().parents[1]
DOLLY_CATEGORIES = {
    "brainstorming", "classification", "closed_qa", "creative_writing",
    "general_qa", "information_extraction", "open_qa", "summarization",
}  # fmt: skip
GOOD_LINE = json.dumps({"instruction": "What is the capital of France?", "context": "",
                        "response": "The capital of France is Paris.", "category": "open_qa"})  # fmt: skip


pytestmark = pytest.mark.usefixtures("one_thread")


def _rows() -> list[dict]:
    return [json.loads(line) for line in FIXTURE.read_text(encoding="utf-8").splitlines()]


def test_the_fixture_is_in_the_exact_schema_of_databricks_dolly_15k():
    rows = _rows()
    assert len(rows) == 12
    assert all(list(row) == ["instruction", "context", "response", "category"] for row in rows)
    assert all(isinstance(value, str) for row in rows for value in row.values())
    assert {row["category"] for row in rows} == DOLLY_CATEGORIES


def test_the_fixture_reads_into_records_with_none_for_an_empty_context():
    records, rows = read_records(FIXTURE), _rows()
    assert {record.category for record in records} == DOLLY_CATEGORIES
    assert [(r.instruction, r.response, r.category) for r in records] == [
        (row["instruction"], row["response"], row["category"]) for row in rows
    ]
    assert [record.context for record in records] == [row["context"] or None for row in rows]
    assert sum(record.context is None for record in records) == 7


def _write(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "instructions.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


_NO_RESPONSE = json.dumps({"instruction": "Who made Dolly?", "context": "", "category": "open_qa"})
_NULL_CONTEXT = json.dumps({"instruction": "Who made Dolly?", "context": None, "response": "Databricks.",
                            "category": "open_qa"})  # fmt: skip
_UNKNOWN_CATEGORY = GOOD_LINE.replace('"open_qa"', '"chit_chat"')
_NOT_JSON = '{"instruction": "Who made Dolly?", "context": "'


@pytest.mark.parametrize(
    "bad_line, named",
    [(_NO_RESPONSE, "response"), (_NULL_CONTEXT, "context"), (_UNKNOWN_CATEGORY, "chit_chat"), (_NOT_JSON, "JSON")],
    ids=["missing-field", "null-field", "unknown-category", "bad-json"],
)
def test_a_bad_line_is_refused_in_one_line_that_names_it(tmp_path, bad_line, named):
    path = _write(tmp_path, [GOOD_LINE, "", bad_line, GOOD_LINE])
    with pytest.raises(InstructionsUnavailable) as raised:
        read_records(path)
    message = str(raised.value)
    assert "\n" not in message
    assert "line 3" in message
    assert named in message


def test_a_missing_file_is_refused():
    with pytest.raises(InstructionsUnavailable, match="no such file"):
        load_instructions(str(FIXTURE.with_name("no-such-file.jsonl")))


def test_downloading_offline_prints_one_error_line_and_exits_1(tmp_path):
    """An empty Hub cache, so nothing downloaded before can be found; the timeout guards against
    a run that reached the data and started training."""
    cache = tmp_path / "hf"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(cache), "HF_HUB_CACHE": str(cache / "hub"),
           "HF_DATASETS_CACHE": str(cache / "datasets")}  # fmt: skip
    command = [sys.executable, "-m", "dolly_helpers.tiny", "train",
               "--instructions", "databricks/databricks-dolly-15k", "--sizes", "small",
               "--out", str(tmp_path / "tuned")]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPOSITORY, timeout=120)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "Traceback" not in output
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, output
    assert "databricks/databricks-dolly-15k" in errors[0]
    assert "cannot be reached" in errors[0]
    assert not (tmp_path / "tuned").exists()


def test_tuning_on_the_fixture_works_end_to_end():
    from transformers import GPTNeoXForCausalLM

    generated = make_dataset(seed=0).train[:300]
    tokenizer = train_tokenizer([build_training_text(r.instruction, r.response, r.context) for r in generated], 300)
    base = GPTNeoXForCausalLM(neox_config(get_spec("tiny-pythia-small"), tokenizer))
    records = read_records(FIXTURE)
    run = instruction_tune(get_spec("tiny-dolly-small"), base, tokenizer, records,
                           epochs=2, batch_size=4, learning_rate=3e-3)  # fmt: skip
    assert run.dropped_records == 0
    assert run.steps == 6  # 12 records in batches of 4, twice
    assert all(math.isfinite(loss) for loss in run.losses)
    assert run.losses[-1] < run.losses[0]
    texts = [build_training_text(r.instruction, r.response, r.context) for r in records]
    assert run.tokens_seen == 2 * sum(len(ids) for ids in tokenizer(texts)["input_ids"])  # every record, twice
    assert run.model.get_input_embeddings().weight.shape[0] == len(run.tokenizer) == 303
