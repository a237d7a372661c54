"""The model registry: names, pinned revisions and the architecture figures of each size."""

import re

import pytest

from dolly_helpers import DEFAULT_MODEL, get_spec, list_models

# Computed in the reference from each config: Pythia non-embedding + 2 x 50280 x hidden.
DOLLY_PARAMETERS = {
    "dolly-v2-3b": 2_775_086_080,
    "dolly-v2-7b": 6_856_056_832,
    "dolly-v2-12b": 11_841_894_400,
}


def test_every_size_is_listed_smallest_first_within_a_family():
    names = [spec.name for spec in list_models()]
    assert names == [
        "tiny-pythia-small", "tiny-pythia-medium", "tiny-pythia-large",
        "tiny-dolly-small", "tiny-dolly-medium", "tiny-dolly-large",
        "pythia-2.8b", "pythia-6.9b", "pythia-12b",
        "dolly-v2-3b", "dolly-v2-7b", "dolly-v2-12b",
    ]
    for family in ("tiny", "pythia", "dolly"):
        for stage in ("base", "instruct"):
            counts = [spec.n_params for spec in list_models(family) if spec.stage == stage]
            assert counts == sorted(counts)


def test_every_instruct_model_names_its_base_and_bases_have_pinned_revisions():
    for spec in list_models():
        if spec.stage == "instruct":
            base = spec.base_model.removeprefix("EleutherAI/")
            assert get_spec(base).stage == "base", spec.name
        if spec.hub_id is not None:
            assert spec.revision is not None and len(spec.revision) == 40, spec.name


@pytest.mark.parametrize("name, parameters", DOLLY_PARAMETERS.items())
def test_parameter_count_follows_from_the_architecture(name, parameters):
    assert get_spec(name).n_params == parameters


def test_dolly_sizes_match_their_configs():
    small, medium, large = (get_spec(n) for n in DOLLY_PARAMETERS)
    assert (small.num_layers, small.hidden_size, small.num_heads, small.head_dim) == (32, 2560, 32, 80)
    assert (medium.num_layers, medium.hidden_size, medium.num_heads, medium.head_dim) == (32, 4096, 32, 128)
    assert (large.num_layers, large.hidden_size, large.num_heads, large.head_dim) == (36, 5120, 40, 128)
    assert {spec.vocab_size for spec in (small, medium, large)} == {50280}
    assert {spec.context_length for spec in (small, medium, large)} == {2048}
    assert large.base_model == "EleutherAI/pythia-12b"


def test_hub_models_are_pinned_to_a_commit():
    for spec in list_models("dolly"):
        assert spec.hub_id == f"databricks/{spec.name}"
        assert re.fullmatch(r"[0-9a-f]{40}", spec.revision)
        assert spec.local_path is None


def test_tiny_models_ship_with_the_package():
    for spec in list_models("tiny"):
        assert spec.hub_id is None and spec.revision is None
        assert (spec.local_path / "model.safetensors").is_file()
        assert (spec.local_path / "tokenizer.json").is_file()


def test_default_is_a_tiny_model():
    assert get_spec(DEFAULT_MODEL).family == "tiny"


def test_unknown_name_is_a_one_line_error_listing_the_choices():
    with pytest.raises(ValueError) as error:
        get_spec("dolly-v3-70b")
    message = str(error.value)
    assert "\n" not in message and "dolly-v2-12b" in message and "tiny-dolly-large" in message
