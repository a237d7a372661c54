"""The chapter 9 playground: built, driven through generate(), errors as one line."""

import pytest

pytest.importorskip("ipywidgets")

from dolly_helpers import DOLLY_MODELS, TINY_MODELS, load_model  # noqa: E402
from dolly_helpers.playground import Playground  # noqa: E402


@pytest.fixture
def playground(tiny_models):
    """A playground that takes the session's tiny models instead of loading them again."""
    return Playground(loader=lambda name: tiny_models[name] if name in tiny_models else load_model(name))


def test_it_builds_every_control(playground):
    assert list(playground.model_choice.options) == [*TINY_MODELS, *DOLLY_MODELS]
    assert playground.model_choice.value == "tiny-dolly-large"
    assert playground.temperature.value == 0.0 and playground.top_p.value == 0.92
    assert playground.generate_button.description == "Generate"
    assert playground.answer in playground.widget.children


def test_it_displays_as_the_widget(playground):
    bundle = playground._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == playground.widget.model_id
    assert bundle["text/plain"] == "Playground(model_name='tiny-dolly-large')"


def test_generate_streams_the_greedy_answer(playground):
    playground.instruction.value = "What is the highest mountain in Japan?"
    answer = playground.generate()
    assert "Mount Fuji" in answer and "Mount Fuji" in playground.answer.value
    assert "tokens in" in playground.status.value and "greedy" in playground.status.value
    assert not playground.generate_button.disabled


def test_sampling_settings_reach_the_decoder(playground):
    playground.temperature.value = 0.7
    assert playground.decoding == {
        "max_new_tokens": 64, "seed": None, "do_sample": True, "temperature": 0.7, "top_p": 0.92,
    }


def test_a_new_model_choice_updates_the_plan(playground):
    assert "tiny-dolly-large" in playground.plan.value and "fits" in playground.plan.value
    playground.model_choice.value = "dolly-v2-12b"
    assert "dolly-v2-12b" in playground.plan.value and "advice" in playground.plan.value


def test_an_empty_instruction_is_one_line(playground):
    playground.instruction.value = "   "
    assert playground.generate() == ""
    assert "instruction is empty" in playground.answer.value
    assert "Traceback" not in playground.answer.value and "<br" not in playground.answer.value


def test_a_dolly_size_missing_offline_is_one_line(playground):
    playground.instruction.value = "What is the highest mountain in Japan?"
    playground.model_choice.value = "dolly-v2-3b"
    assert playground.generate() == ""
    assert "not in the local Hugging Face cache" in playground.answer.value
    assert playground.status.value == "error"
