"""The chapter 9 playground: several models side by side, driven through generate(), errors as one line."""

import pytest

pytest.importorskip("ipywidgets")

from dolly_helpers import DOLLY_MODELS, TINY_BASE_MODELS, TINY_MODELS, generate, load_model  # noqa: E402
from dolly_helpers.decoding import DecodingSettings  # noqa: E402
from dolly_helpers.playground import Playground  # noqa: E402

JAPAN = "What is the highest mountain in Japan?"
PASSAGE = "The Lindmoor canal opened in 1823. It runs for 41 kilometres."
QUESTION = "Based on the text, when did the Lindmoor canal open?"


@pytest.fixture
def loads():
    return []


@pytest.fixture
def playground(tiny_models, loads):
    """A playground that takes the session's tiny models instead of loading them again."""

    def loader(name):
        loads.append(name)
        return tiny_models[name] if name in tiny_models else load_model(name)

    return Playground(loader=loader)


def test_it_offers_every_model_and_starts_with_the_tiny_family(playground):
    assert list(playground.model_choice.options) == [*TINY_BASE_MODELS, *TINY_MODELS, *DOLLY_MODELS]
    assert playground.model_choice.value == (*TINY_BASE_MODELS, *TINY_MODELS)
    assert playground.passage.value == "both" and playground.sampling.value is False
    assert playground.top_p.value == 0.92 and playground.top_k.value == 0
    assert playground.top_p.disabled and playground.temperature.disabled  # greedy: nothing to sample
    assert playground.generate_button.description == "Generate"
    assert playground.table in playground.widget.children


def test_it_displays_as_the_widget(playground):
    bundle = playground._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == playground.widget.model_id
    assert bundle["text/plain"].startswith("Playground(models=('tiny-pythia-small',")


def test_answers_side_by_side_equal_generate(playground, tiny_models):
    playground.model_choice.value = ("tiny-pythia-large", "tiny-dolly-large")
    playground.instruction.value, playground.context.value = QUESTION, PASSAGE
    table = playground.generate()
    assert list(table.index) == ["tiny-pythia-large", "tiny-dolly-large"]
    assert list(table.columns) == ["without the passage", "with the passage"]
    for name in table.index:
        model = tiny_models.get(name) or load_model(name)
        assert table.loc[name, "without the passage"] == generate(model, QUESTION).response
        assert table.loc[name, "with the passage"] == generate(model, QUESTION, context=PASSAGE).response
    assert table.loc["tiny-dolly-large", "with the passage"] in playground.table.value
    assert "tokens," in playground.table.value and playground.status.value == "greedy, up to 64 new tokens"
    assert not playground.generate_button.disabled


def test_sampling_settings_reach_the_decoder_and_repeat_with_the_seed(playground):
    playground.sampling.value = True
    playground.temperature.value = 0.7
    assert not playground.top_p.disabled
    assert playground.decoding == DecodingSettings(
        max_new_tokens=64, seed=0, do_sample=True, temperature=0.7, top_p=0.92, top_k=0,
    )
    playground.model_choice.value, playground.passage.value = ("tiny-dolly-small",), "off"
    playground.instruction.value = JAPAN
    first = playground.generate()
    assert first.equals(playground.generate())
    assert playground.status.value.startswith("sampled: temperature 0.70, top_p 0.92, top_k 0, seed 0")


def test_the_plans_follow_the_chosen_models(playground):
    plans = playground.show_plans()
    assert list(plans.index) == [*TINY_BASE_MODELS, *TINY_MODELS] and plans["fits here"].all()
    playground.model_choice.value = ("tiny-dolly-large", "dolly-v2-12b")
    assert "dolly-v2-12b" in playground.plan.value and "tiny-dolly-large" in playground.plan.value


def test_an_empty_instruction_is_one_line_and_loads_nothing(playground, loads):
    playground.instruction.value = "   "
    assert playground.generate().empty
    assert "instruction is empty" in playground.status.value and playground.table.value == ""
    assert "Traceback" not in playground.status.value and "<br" not in playground.status.value
    assert loads == []


def test_asking_with_an_empty_passage_says_what_to_do(playground, loads):
    playground.instruction.value = JAPAN
    assert playground.generate().empty
    assert "the passage is empty: paste one into the Passage box, or set Passage used to off" in playground.status.value
    playground.passage.value = "off"
    playground.model_choice.value = ()
    assert playground.generate().empty
    assert "no model chosen" in playground.status.value
    assert loads == []


def test_a_dolly_size_missing_offline_is_one_line(playground):
    playground.instruction.value, playground.passage.value = JAPAN, "off"
    playground.model_choice.value = ("tiny-dolly-small", "dolly-v2-3b")
    assert playground.generate().empty
    assert "not in the local Hugging Face cache" in playground.status.value
