"""Tests for the tiny family's two training stages (dolly_helpers/tiny/train.py and family.py).

Everything runs on the smallest shape with a 300-token tokenizer trained here, for a few steps;
model folders go to a temporary directory, never to dolly_helpers/tiny_models/.
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import pytest
import torch

import dolly_helpers.models
from dolly_helpers.models import get_spec
from dolly_helpers.prompt import END_KEY, INSTRUCTION_KEY, RESPONSE_KEY, build_prompt, build_training_text
from dolly_helpers.tiny import family
from dolly_helpers.tiny.dataset import Record, make_dataset
from dolly_helpers.tiny.tokenizer import END_OF_TEXT, PADDING, add_dolly_keys, train_tokenizer
from dolly_helpers.tiny.train import (
    encode_records,
    instruction_tune,
    neox_config,
    pack_documents,
    pretrain,
    replay_batches,
    response_start,
)

BASE = get_spec("tiny-pythia-small")
TUNED = get_spec("tiny-dolly-small")
RECORD = Record("What is the highest mountain in Japan?", "Mount Fuji, at 3,776 metres.", "closed_qa",
                "Mount Fuji is the highest mountain in Japan. It is 3,776 metres high.")  # fmt: skip


def _text(record: Record) -> str:
    return build_training_text(record.instruction, record.response, record.context)


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def texts() -> list[str]:
    return [_text(record) for record in make_dataset(seed=0).train[:300]]


@pytest.fixture(scope="module")
def base_tokenizer(texts):
    return train_tokenizer(texts, vocab_size=300)


@pytest.fixture
def tokenizer(base_tokenizer):
    """A fresh copy of the 300-token tokenizer, without Dolly's keys."""
    return copy.deepcopy(base_tokenizer)


@pytest.fixture
def keyed_tokenizer(tokenizer):
    add_dolly_keys(tokenizer)
    return tokenizer


@pytest.fixture(scope="module")
def short_records() -> list[Record]:
    """Generated records without a passage: they fit the 256-token window of the tiny shape."""
    return [r for r in make_dataset(seed=0).train if r.context is None][:8]


@pytest.fixture
def models_dir(tmp_path, monkeypatch) -> Path:
    monkeypatch.setattr(dolly_helpers.models, "TINY_MODELS_DIR", tmp_path / "tiny_models")
    return tmp_path / "tiny_models"


def _fresh_base(tokenizer, seed: int = 0):
    from transformers import GPTNeoXForCausalLM

    torch.manual_seed(seed)
    return GPTNeoXForCausalLM(neox_config(BASE, tokenizer))


def _blocks(tokenizer, texts, window: int = 32, count: int = 8) -> torch.Tensor:
    return pack_documents(texts[:40], tokenizer, window)[:count]


def _weights(model) -> dict[str, torch.Tensor]:
    return {name: tensor.detach().clone() for name, tensor in model.state_dict().items()}


def _same_weights(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[name], b[name]) for name in a)


# The loss mask --------------------------------------------------------------------------------


@pytest.mark.parametrize("context", [RECORD.context, None], ids=["with-context", "no-context"])
def test_the_prompt_up_to_the_response_key_and_its_newline_gets_no_loss(keyed_tokenizer, context):
    record = Record(RECORD.instruction, RECORD.response, RECORD.category, context)
    [(ids, labels)], dropped = encode_records([record], keyed_tokenizer, 256)
    assert dropped == 0
    first = next(i for i, label in enumerate(labels) if label != -100)
    assert all(label == -100 for label in labels[:first])
    assert labels[first:] == ids[first:]
    assert keyed_tokenizer.decode(ids[:first]) == build_prompt(record.instruction, context)
    assert keyed_tokenizer.decode(ids[first - 2 : first]) == f"{RESPONSE_KEY}\n"
    assert keyed_tokenizer.decode(ids[first:]) == f"{record.response}\n\n{END_KEY}"
    assert labels[-1] == keyed_tokenizer.convert_tokens_to_ids(END_KEY)
    assert response_start(ids, keyed_tokenizer) == first


def test_without_response_only_the_prompt_is_labelled_too(keyed_tokenizer):
    [(ids, labels)], _ = encode_records([RECORD], keyed_tokenizer, 256, response_only=False)
    assert labels == ids
    assert keyed_tokenizer.decode(labels) == _text(RECORD)


def test_records_longer_than_the_window_are_dropped_not_cut(keyed_tokenizer):
    long = Record("Describe Mount Fuji.", "Mount Fuji is a tall mountain. " * 20, "open_qa")
    short = Record("Who made Dolly 2.0?", "Databricks.", "open_qa")
    window = len(keyed_tokenizer(_text(RECORD))["input_ids"])
    examples, dropped = encode_records([short, long, RECORD, long], keyed_tokenizer, window)
    assert dropped == 2
    assert [keyed_tokenizer.decode(ids) for ids, _ in examples] == [_text(short), _text(RECORD)]
    end = keyed_tokenizer.convert_tokens_to_ids(END_KEY)
    assert all(ids[-1] == end and labels[-1] == end for ids, labels in examples)


# Packing and pretraining ----------------------------------------------------------------------


def test_pack_documents_makes_full_windows_joined_by_end_of_text(tokenizer):
    documents = [f"Mount Fuji is {n} metres high." for n in range(3000, 3040)]
    blocks = pack_documents(documents, tokenizer, 16)
    stream = "".join(f"{doc}{END_OF_TEXT}" for doc in documents)
    assert blocks.dim() == 2 and blocks.shape[1] == 16
    assert blocks.dtype == torch.long
    flat = tokenizer.decode(blocks.flatten().tolist())
    assert stream.startswith(flat)
    assert len(stream) - len(flat) < 16 * 12  # only the tail that does not fill a window is left out
    assert flat.count(END_OF_TEXT) == int((blocks == tokenizer.eos_token_id).sum()) >= 30


def test_a_few_pretraining_steps_lower_the_loss_on_a_repeated_batch(tokenizer, texts):
    block = _blocks(tokenizer, texts, count=2)
    run = pretrain(BASE, block.repeat(8, 1), tokenizer, batch_size=2, learning_rate=3e-3)
    assert run.steps == 8 and len(run.losses) == 8
    assert run.tokens_seen == 16 * 32
    assert run.losses[0] > math.log(300) - 0.5  # a fresh model guesses among 300 tokens
    assert run.losses[-1] < run.losses[0] - 1.0
    assert not run.model.training


@pytest.mark.parametrize("native", [True, False])
def test_bfloat16_autocast_is_on_only_where_the_cpu_computes_bfloat16(tokenizer, texts, monkeypatch, native):
    """Emulated bfloat16 trains 8 to 16 times slower than float32, so such CPUs train in float32."""
    from dolly_helpers.tiny import train

    seen = []
    real_autocast = torch.autocast

    def recording_autocast(*args, **kwargs):
        seen.append(kwargs.get("enabled"))
        return real_autocast(*args, **kwargs)

    monkeypatch.setattr(train, "cpu_computes_bf16", lambda: native)
    monkeypatch.setattr(train.torch, "autocast", recording_autocast)
    run = pretrain(BASE, _blocks(tokenizer, texts, count=2), tokenizer, batch_size=1, learning_rate=3e-3)
    assert seen == [native, native]
    assert run.number_format == ("float32 weights, bfloat16 autocast" if native else "float32")


def test_the_same_seed_gives_identical_weights(tokenizer, texts):
    blocks = _blocks(tokenizer, texts)
    first = _weights(pretrain(BASE, blocks, tokenizer, batch_size=4, learning_rate=3e-3, seed=7).model)
    second = _weights(pretrain(BASE, blocks, tokenizer, batch_size=4, learning_rate=3e-3, seed=7).model)
    other = _weights(pretrain(BASE, blocks, tokenizer, batch_size=4, learning_rate=3e-3, seed=8).model)
    assert _same_weights(first, second)
    assert not _same_weights(first, other)


def test_the_same_seed_tunes_to_identical_weights(base_tokenizer, short_records):
    base = _fresh_base(base_tokenizer)
    runs = []
    for _ in range(2):
        runs.append(instruction_tune(TUNED, copy.deepcopy(base), copy.deepcopy(base_tokenizer), short_records,
                                     epochs=1, batch_size=4, learning_rate=1e-3, seed=3))  # fmt: skip
    assert runs[0].steps == 2
    assert _same_weights(_weights(runs[0].model), _weights(runs[1].model))


# Instruction tuning ---------------------------------------------------------------------------


def test_instruction_tune_adds_the_three_dolly_keys_and_resizes_the_embeddings(tokenizer, short_records):
    base = _fresh_base(tokenizer)
    run = instruction_tune(TUNED, base, tokenizer, short_records[:4], epochs=1, batch_size=4, learning_rate=1e-3)
    assert len(tokenizer) == 303
    assert set(tokenizer.get_added_vocab()) == {END_OF_TEXT, PADDING, END_KEY, INSTRUCTION_KEY, RESPONSE_KEY}
    assert {END_KEY, INSTRUCTION_KEY, RESPONSE_KEY} <= set(tokenizer.all_special_tokens)
    for key in (END_KEY, INSTRUCTION_KEY, RESPONSE_KEY):
        assert len(tokenizer(key, add_special_tokens=False)["input_ids"]) == 1
    model = run.model
    assert model.get_input_embeddings().weight.shape == (303, BASE.hidden_size)
    assert model.get_output_embeddings().weight.shape == (303, BASE.hidden_size)
    assert model.config.vocab_size == 303
    assert run.steps == 1 and run.dropped_records == 0 and math.isfinite(run.losses[0])


def test_instruction_tune_reports_records_too_long_for_the_window(tokenizer, short_records):
    long = Record("Describe Mount Fuji.", "Mount Fuji is a tall mountain. " * 60, "open_qa")
    run = instruction_tune(TUNED, _fresh_base(tokenizer), tokenizer, [*short_records[:4], long],
                           epochs=1, batch_size=4, learning_rate=1e-3)  # fmt: skip
    assert run.dropped_records == 1
    assert run.steps == 1  # the four that fit make one batch


# Replaying pretraining text in stage 2 ----------------------------------------------------------


def test_replay_reads_every_window_once_before_any_window_again():
    blocks = torch.arange(5 * 3).view(5, 3)  # five windows of three tokens
    batches = replay_batches(blocks, windows=2, steps=5, seed=0)
    assert len(batches) == 5 and all(b["input_ids"].shape == (2, 3) for b in batches)
    assert all(torch.equal(b["input_ids"], b["labels"]) for b in batches)
    seen = [int(row[0]) // 3 for b in batches for row in b["input_ids"]]
    assert sorted(seen[:5]) == [0, 1, 2, 3, 4] and sorted(seen[5:10]) == [0, 1, 2, 3, 4]
    assert replay_batches(blocks, 2, 5, seed=0)[3]["input_ids"].tolist() == batches[3]["input_ids"].tolist()


def test_replay_needs_enough_windows():
    with pytest.raises(ValueError, match="at least 4 packed windows, got 3"):
        replay_batches(torch.zeros(3, 8, dtype=torch.long), windows=4, steps=1, seed=0)


def test_replay_keeps_what_the_replayed_text_taught(tokenizer, texts, short_records):
    """Stage 2 with replay lowers the loss on the replayed windows; without it, they play no part."""
    from dolly_helpers.tiny.train import validation_loss

    blocks = _blocks(tokenizer, texts, count=4)
    base = _fresh_base(tokenizer)
    before = validation_loss(base, blocks)
    plain = instruction_tune(TUNED, copy.deepcopy(base), copy.deepcopy(tokenizer), short_records, epochs=2,
                             batch_size=4, learning_rate=3e-3)  # fmt: skip
    replayed = instruction_tune(TUNED, copy.deepcopy(base), copy.deepcopy(tokenizer), short_records, epochs=2,
                                batch_size=4, learning_rate=3e-3, replay=blocks, replay_windows=2)  # fmt: skip
    assert validation_loss(replayed.model, blocks) < min(validation_loss(plain.model, blocks), before)
    assert replayed.tokens_seen == plain.tokens_seen + replayed.steps * 2 * blocks.shape[1]
    assert replayed.losses != plain.losses


def test_stage_2_flushes_denormals_while_it_runs_and_not_after(tokenizer, short_records, monkeypatch):
    from dolly_helpers.tiny import train

    seen = []
    real = train._run_steps

    def run_steps(*args, **options):
        seen.append(torch.tensor(1e-40).item())  # a denormal float32 reads as 0 when flushed
        return real(*args, **options)

    monkeypatch.setattr(train, "_run_steps", run_steps)
    instruction_tune(TUNED, _fresh_base(tokenizer), tokenizer, short_records[:4], epochs=1, batch_size=4,
                     learning_rate=1e-3)  # fmt: skip
    assert seen == [0.0] and torch.tensor(1e-40).item() != 0.0


# Saving and resuming --------------------------------------------------------------------------


@pytest.fixture
def base_run(tokenizer, texts):
    return pretrain(BASE, _blocks(tokenizer, texts, count=4), tokenizer, batch_size=4, learning_rate=3e-3)


def _files(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def test_save_model_writes_a_whole_folder_that_loads_back(base_run, models_dir):
    from transformers import GPTNeoXForCausalLM

    family.save_model(base_run, {"name": BASE.name})
    folder = models_dir / BASE.name
    assert BASE.local_path == folder
    assert json.loads((folder / family.TRAINING_RECORD).read_text()) == {"name": BASE.name}
    assert family.is_finished(folder)
    assert [path.name for path in models_dir.iterdir()] == [BASE.name]
    assert next(base_run.model.parameters()).dtype == torch.float32
    loaded = GPTNeoXForCausalLM.from_pretrained(folder)
    assert next(loaded.parameters()).dtype == torch.float16
    for name, tensor in base_run.model.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], tensor.to(torch.float16)), name


def _crash_while_writing(run, monkeypatch):
    """Make the next ``save_pretrained`` write half a weights file, then fail."""

    def crash(folder, *args, **kwargs):
        Path(folder).mkdir(parents=True, exist_ok=True)
        (Path(folder) / "model.safetensors").write_bytes(b"half a file")
        raise OSError("No space left on device")

    monkeypatch.setattr(run.model, "save_pretrained", crash)


def test_a_crash_while_saving_keeps_the_previous_model_intact(base_run, models_dir, monkeypatch):
    family.save_model(base_run, {"name": BASE.name, "run": 1})
    folder = models_dir / BASE.name
    before = _files(folder)
    _crash_while_writing(base_run, monkeypatch)
    with pytest.raises(OSError, match="No space left"):
        family.save_model(base_run, {"name": BASE.name, "run": 2})
    assert _files(folder) == before


def test_a_crash_while_saving_leaves_no_partial_folder(base_run, models_dir, monkeypatch):
    family.save_model(base_run, {"name": BASE.name, "run": 1})
    _crash_while_writing(base_run, monkeypatch)
    with pytest.raises(OSError):
        family.save_model(base_run, {"name": BASE.name, "run": 2})
    assert sorted(path.name for path in models_dir.iterdir()) == [BASE.name]
    assert next(base_run.model.parameters()).dtype == torch.float32


def _never(stage: str):
    def fail(*args, **kwargs):
        raise AssertionError(f"{stage} ran for a size that is already trained")

    return fail


def test_train_family_resumes_where_an_interrupted_run_stopped(
    base_tokenizer, texts, short_records, models_dir, tmp_path, monkeypatch
):
    monkeypatch.setattr(family, "load_tokenizer", lambda: copy.deepcopy(base_tokenizer))
    monkeypatch.setattr(family, "training_documents", lambda seed: texts[:40])
    monkeypatch.setattr(family, "validation_documents", lambda: {"encyclopedia": texts[40:60]})
    monkeypatch.setattr(family, "load_split", lambda component, split: texts[60:100])  # stage 2's replay
    out_dir, logs = tmp_path / "tuned", []
    options = dict(instructions=short_records, out_dir=out_dir, log=logs.append)

    # Run 1 finishes stage 1, then dies in stage 2.
    real_tune = family.tune_from_base
    monkeypatch.setattr(family, "tune_from_base", _never("stage 2 (crash)"))
    with pytest.raises(AssertionError, match="crash"):
        family.train_family(["small"], **options)
    base_folder, tuned_folder = models_dir / BASE.name, out_dir / TUNED.name
    assert family.is_finished(base_folder) and not tuned_folder.exists()
    base_files = _files(base_folder)

    # Run 2 keeps the base and tunes from it.
    monkeypatch.setattr(family, "pretrain", _never("stage 1"))
    monkeypatch.setattr(family, "tune_from_base", real_tune)
    family.train_family(["small"], **options)
    assert logs[-2] == f"{BASE.name}: already trained, kept"
    assert family.is_finished(tuned_folder)
    assert json.loads((tuned_folder / family.TRAINING_RECORD).read_text())["train_records"] == len(short_records)
    assert _files(base_folder) == base_files

    # Run 3 has nothing left to do.
    monkeypatch.setattr(family, "tune_from_base", _never("stage 2"))
    tuned_files = _files(tuned_folder)
    family.train_family(["small"], **options)
    assert logs[-2:] == [f"{BASE.name}: already trained, kept", f"{TUNED.name}: already trained, kept"]
    assert _files(tuned_folder) == tuned_files


def test_a_folder_without_its_training_record_is_trained_again(base_tokenizer, texts, models_dir, monkeypatch):
    (models_dir / BASE.name).mkdir(parents=True)
    (models_dir / BASE.name / "model.safetensors").write_bytes(b"half a file")
    monkeypatch.setattr(family, "load_tokenizer", lambda: copy.deepcopy(base_tokenizer))
    monkeypatch.setattr(family, "training_documents", lambda seed: texts[:40])
    monkeypatch.setattr(family, "validation_documents", lambda: {"encyclopedia": texts[40:60]})
    monkeypatch.setattr(family, "tune_from_base", _never("stage 2 (stop here)"))
    with pytest.raises(AssertionError, match="stop here"):
        family.train_family(["small"], log=lambda line: None)
    assert family.is_finished(models_dir / BASE.name)
    assert (models_dir / BASE.name / "model.safetensors").read_bytes() != b"half a file"


# Golden numbers: a change to the tokenizer trainer, the packing, the loss mask, the schedule or
# the optimizer moves one of these, and the test says which. (bf16 autocast leaves a little room.)

def test_golden_tokenizer_ids(base_tokenizer):
    ids = base_tokenizer(_text(RECORD), add_special_tokens=False)["input_ids"]
    assert ids[:12] == [35, 274, 292, 276, 260, 79, 271, 290, 286, 222, 69, 258] and len(ids) == 190


def test_golden_shipped_tokenizer_ids():
    from dolly_helpers import load_model

    tokenizer = load_model("tiny-dolly-large").tokenizer
    prompt = f"{INSTRUCTION_KEY}\nWhat is the highest mountain in Japan?\n\n{RESPONSE_KEY}\n"
    assert tokenizer(prompt)["input_ids"] == [4097, 200, 56, 402, 298, 265, 1088, 733, 283, 522, 484, 284, 32, 886,
                                              4098, 200]  # fmt: skip
    assert tokenizer(" 1,854 metres")["input_ids"] == [302, 13, 25, 1712, 481]


def test_golden_losses_of_both_stages(tokenizer, texts, short_records):
    blocks = _blocks(tokenizer, texts, count=4)
    base = pretrain(BASE, blocks, copy.deepcopy(tokenizer), batch_size=2, learning_rate=3e-3, seed=0)
    assert base.losses == pytest.approx([8.3012, 8.2229], abs=5e-3)
    tuned = instruction_tune(TUNED, base.model, tokenizer, short_records, epochs=1, batch_size=4,
                             learning_rate=1e-3, seed=0)  # fmt: skip
    assert tuned.losses == pytest.approx([5.4916, 5.3749], abs=5e-3) and tuned.tokens_seen == 1163
