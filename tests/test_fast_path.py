"""The CPU fast path: CTranslate2 behind ``load_model(..., backend="ctranslate2")``."""

import sys

import pytest

from dolly_helpers import generate, load_model, stream_generate
from dolly_helpers.ctranslate2_backend import BackendUnavailableError, converted_folder
from dolly_helpers.models import TINY_BASE_MODELS, TINY_MODELS
from dolly_helpers.questions import COMPARISON_QUESTIONS

INSTRUCTIONS = [question.instruction for question in COMPARISON_QUESTIONS]
CONTEXTS = [question.context for question in COMPARISON_QUESTIONS]


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A fresh book cache, so every test converts for itself."""
    monkeypatch.delenv("HF_HOME", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    return tmp_path / "dolly-book" / "ctranslate2"


def _what_matters(result):
    return result.response, result.new_tokens, result.stop_reason, result.prompt_tokens, result.context


@pytest.mark.parametrize("name", [*TINY_MODELS, *TINY_BASE_MODELS])
def test_the_fast_path_answers_exactly_as_generate_does(name, cache, one_thread):
    torch_model = load_model(name)
    fast_model = load_model(name, backend="ctranslate2")
    assert fast_model.backend == "ctranslate2" and fast_model.device == "cpu"
    expected = generate(torch_model, INSTRUCTIONS, context=CONTEXTS, max_new_tokens=64)
    answers = generate(fast_model, INSTRUCTIONS, context=CONTEXTS, max_new_tokens=64)
    assert [_what_matters(r) for r in answers] == [_what_matters(r) for r in expected]
    assert {r.stop_reason for r in expected} >= ({"end_key"} if name in TINY_MODELS else {"max_new_tokens"})
    streamed = "".join(stream_generate(fast_model, INSTRUCTIONS[0], max_new_tokens=64))
    assert streamed == "".join(stream_generate(torch_model, INSTRUCTIONS[0], max_new_tokens=64))


def test_a_short_budget_stops_both_at_max_new_tokens(cache, one_thread):
    torch_model, fast_model = load_model("tiny-dolly-small"), load_model("tiny-dolly-small", backend="ctranslate2")
    expected = generate(torch_model, INSTRUCTIONS[:3], max_new_tokens=3)
    answers = generate(fast_model, INSTRUCTIONS[:3], max_new_tokens=3)
    assert [_what_matters(r) for r in answers] == [_what_matters(r) for r in expected]
    assert {r.stop_reason for r in answers} == {"max_new_tokens"} and {r.new_tokens for r in answers} == {3}


def test_the_model_is_converted_once_into_the_cache(cache, one_thread):
    first = load_model("tiny-dolly-small", backend="ctranslate2")
    (folder,) = cache.iterdir()
    stamp = (folder / "model.bin").stat().st_mtime_ns
    second = load_model("tiny-dolly-small", backend="ctranslate2")
    assert (folder / "model.bin").stat().st_mtime_ns == stamp and list(cache.iterdir()) == [folder]
    assert first.weights_gb == second.weights_gb > 0
    assert folder == converted_folder(str(first.spec.local_path), None, cache.parent)
    assert "CTranslate2" in str(first)


def test_a_killed_conversion_is_redone(cache, one_thread):
    model = load_model("tiny-dolly-small")
    target = converted_folder(str(model.spec.local_path), None, cache.parent)
    partial = target.with_name(target.name + ".partial")
    partial.mkdir(parents=True)
    (partial / "model.bin").write_bytes(b"half")
    fast_model = load_model("tiny-dolly-small", backend="ctranslate2")
    assert not partial.exists() and (target / "model.bin").stat().st_size > 1000
    assert generate(fast_model, "What is the capital of France?").response == generate(
        model, "What is the capital of France?").response


def test_int8_weights_are_about_a_quarter_of_float32(cache, one_thread):
    full = load_model("tiny-dolly-large", backend="ctranslate2")
    eight = load_model("tiny-dolly-large", backend="ctranslate2", compute_type="int8")
    assert eight.compute_type == "int8" and eight.weights_gb == pytest.approx(full.weights_gb / 4, rel=0.05)
    answers = generate(eight, INSTRUCTIONS, context=CONTEXTS, max_new_tokens=64)
    assert all(r.response and r.stop_reason in ("end_key", "max_new_tokens") for r in answers)


def test_sampling_with_a_seed_repeats_itself(cache, one_thread):
    model = load_model("tiny-dolly-small", backend="ctranslate2")
    runs = [[r.response for r in generate(model, INSTRUCTIONS[:4], do_sample=True, temperature=1.3, seed=seed)]
            for seed in (7, 7, 8)]
    assert runs[0] == runs[1] != runs[2]


def test_a_missing_package_is_one_line_that_says_what_to_install(cache, monkeypatch):
    monkeypatch.setitem(sys.modules, "ctranslate2", None)  # any import of it fails
    with pytest.raises(BackendUnavailableError) as caught:
        load_model("tiny-dolly-small", backend="ctranslate2")
    message = str(caught.value)
    assert "\n" not in message and "pip install ctranslate2==4.8.5" in message
    assert not cache.exists()  # refused before any work


@pytest.mark.parametrize(
    "options, message",
    [
        ({"backend": "onnx"}, "backend='onnx' is not offered: choose 'torch' or 'ctranslate2'"),
        ({"backend": "ctranslate2", "compute_type": "int4"}, "compute_type='int4' is not offered"),
        ({"backend": "ctranslate2", "device": "cuda"}, "runs on the CPU in float32 or int8"),
        ({"backend": "ctranslate2", "dtype": "bfloat16"}, "runs on the CPU in float32 or int8"),
    ],
)
def test_options_the_fast_path_does_not_offer_are_refused_in_one_line(options, message, cache):
    with pytest.raises(ValueError) as caught:
        load_model("tiny-dolly-small", **options)
    assert message in str(caught.value) and "\n" not in str(caught.value)
