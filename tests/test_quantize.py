"""8-bit and 4-bit weights on the CPU: smaller, still answering; and the planner's 4-bit figures."""

import pytest

pytest.importorskip("torchao")

from dolly_helpers import generate, plan_memory  # noqa: E402
from dolly_helpers.memory_estimate import QUANTIZED_BYTES  # noqa: E402
from dolly_helpers.quantize import quantize, weight_megabytes  # noqa: E402

QUESTIONS = ["What is the highest mountain in Japan?", "What is the capital of France?"]


@pytest.mark.parametrize("bits", [8, 4])
def test_quantized_models_are_smaller_and_answer(tiny_models, bits):
    model = tiny_models["tiny-dolly-large"]
    small = quantize(model, bits)
    assert weight_megabytes(small) < weight_megabytes(model)
    answers = generate(small, QUESTIONS)
    assert all(a.response and a.stop_reason == "end_key" for a in answers)
    assert small.weights_gb < model.weights_gb and model.model is not small.model  # the original is kept


def test_eight_bits_keep_the_greedy_answers_here(tiny_models):
    model = tiny_models["tiny-dolly-large"]
    assert [a.response for a in generate(quantize(model, 8), QUESTIONS)] == [a.response for a in generate(model, QUESTIONS)]


def test_bad_bits_are_one_line(tiny_models):
    with pytest.raises(ValueError, match="bits must be 8 or 4, got 2"):
        quantize(tiny_models["tiny-dolly-small"], 2)


def test_the_planner_knows_four_bits():
    sixteen = plan_memory("dolly-v2-12b", gpu="T4")
    eight = plan_memory("dolly-v2-12b", gpu="T4", load_in_8bit=True)
    four = plan_memory("dolly-v2-12b", gpu="T4", load_in_4bit=True)
    assert four.dtype == "int4" and eight.dtype == "int8"
    assert four.weights_gb < eight.weights_gb < sixteen.weights_gb
    assert not sixteen.fits and eight.fits and four.fits
    assert QUANTIZED_BYTES[4] == 0.5 + 4 / 64
    with pytest.raises(ValueError, match="4-bit needs a CUDA GPU"):
        plan_memory("dolly-v2-3b", load_in_4bit=True)
    with pytest.raises(ValueError, match="choose 8-bit or 4-bit, not both"):
        plan_memory("dolly-v2-3b", gpu="T4", load_in_8bit=True, load_in_4bit=True)
