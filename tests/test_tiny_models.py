"""The shipped tiny family: the tiny Pythia suite and the tiny Dolly family tuned from it."""

import json

import pytest

from dolly_helpers import generate, load_model
from dolly_helpers.models import TINY_BASE_MODELS, TINY_MODELS, TINY_MODELS_DIR, get_spec
from dolly_helpers.prompt import SPECIAL_TOKENS
from dolly_helpers.tiny.cards import evaluate_family, model_card
from dolly_helpers.tiny.family import read_training_record

FAMILY = (*TINY_BASE_MODELS, *TINY_MODELS)


def test_every_tuned_model_is_tuned_from_its_base():
    for name in TINY_MODELS:
        spec = get_spec(name)
        assert spec.stage == "instruct" and spec.base_model == name.replace("tiny-dolly", "tiny-pythia")
        assert get_spec(spec.base_model).stage == "base"


def test_the_suite_spans_ten_times_in_parameters():
    counts = [read_training_record(name)["n_params"] for name in TINY_BASE_MODELS]
    assert counts == sorted(counts) and counts[-1] >= 10 * counts[0]


def test_every_size_saw_the_same_pretraining_tokens():
    seen = {read_training_record(name)["tokens_seen"] for name in TINY_BASE_MODELS}
    assert len(seen) == 1 and seen.pop() > 1_000_000


def test_every_tuned_model_was_tuned_on_the_records_the_generator_makes_now():
    """The instruction data is made afresh from its seed; a model tuned on an earlier version of
    the generator would keep its scores but no longer be what `make tiny-models` rebuilds."""
    from dolly_helpers.tiny.dataset import category_counts, make_dataset
    from dolly_helpers.tiny.family import DATA_SEED

    records = make_dataset(DATA_SEED).train
    for name in TINY_MODELS:
        record = read_training_record(name)
        assert (record["train_records"], record["train_categories"]) == (len(records), category_counts(records)), name


def test_weights_fit_the_budget():
    files = [p for p in TINY_MODELS_DIR.rglob("*.safetensors")]
    assert len(files) == len(FAMILY)
    assert sum(p.stat().st_size for p in files) <= 40 * 1024 * 1024


def test_only_tuned_models_know_dollys_keys():
    for name in FAMILY:
        tokens = json.loads((get_spec(name).local_path / "tokenizer.json").read_text())["added_tokens"]
        contents = {t["content"] for t in tokens}
        assert set(SPECIAL_TOKENS) <= contents if get_spec(name).stage == "instruct" else not set(SPECIAL_TOKENS) & contents


def test_larger_bases_have_lower_validation_loss_on_every_component():
    losses = [read_training_record(name)["validation_loss"] for name in TINY_BASE_MODELS]
    for component in losses[0]:
        column = [loss[component] for loss in losses]
        assert column == sorted(column, reverse=True), component


@pytest.mark.parametrize("name", FAMILY)
def test_each_model_loads_offline_in_float32_and_answers(name, loaded_offline):
    assert not loaded_offline[name].startswith("error "), loaded_offline[name]
    dtype, stop, answered = loaded_offline[name].split()
    assert dtype == "torch.float32" and answered == "True"
    if get_spec(name).stage == "instruct":
        assert stop == "end_key"


def test_tuned_large_answers_a_seed_question():
    result = generate(load_model("tiny-dolly-large"), "What is the capital of France?")
    assert "Paris" in result.response and result.stop_reason == "end_key"


def test_model_cards_show_what_tiny_evaluate_measures():
    names = ("tiny-pythia-small", "tiny-dolly-small")
    for evaluation in evaluate_family(names):
        record = read_training_record(evaluation.model_name)
        assert record["evaluation"]["scores"] == evaluation.scores
        assert record["evaluation"]["multiple_choice"] == evaluation.multiple_choice
        card = (get_spec(evaluation.model_name).local_path / "README.md").read_text()
        assert card == model_card(evaluation.model_name, record)
        assert f"{evaluation.scores['passage']:.1%}" in card


def test_golden_answer_matching():
    from dolly_helpers.tiny.evaluate import has_answer, normalize

    assert normalize("Mount Fuji rises 3,776 m.") == "mount fuji rises 3776 m"
    assert has_answer("It is 3,776 metres high.", "3,776 metres")
    assert not has_answer("It is 3,7760 metres high.", "3,776 metres")  # whole words only
    assert has_answer("Tomas Dromoor founded it in 1929.", "Tomas Dromoor; 1929")
    assert not has_answer("Tomas Dromoor founded it.", "Tomas Dromoor; 1929")  # every key fact
