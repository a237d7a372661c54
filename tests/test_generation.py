"""Generation on the tiny models: clean answers, batching, stopping, streaming."""

import pytest

from dolly_helpers import TINY_MODELS, generate, stream_generate
from dolly_helpers.generation import MAX_LENGTH_RATIO, length_batches
from dolly_helpers.prompt import build_prompt
from dolly_helpers.questions import COMPARISON_QUESTIONS, SEED_QUESTIONS

QUESTIONS = list(SEED_QUESTIONS)


def test_the_large_model_knows_the_seed_answers(model):
    japan, world = generate(model, QUESTIONS[:2])
    assert "Mount Fuji" in japan.response and "3,776" in japan.response
    assert "Mount Everest" in world.response


@pytest.mark.parametrize("name", TINY_MODELS)
def test_every_tiny_size_answers_cleanly(tiny_models, name):
    result = generate(tiny_models[name], QUESTIONS[0], max_new_tokens=40)
    assert result.model_name == name and result.instruction == QUESTIONS[0]
    assert result.response and "###" not in result.response and "Instruction" not in result.response
    assert 0 < result.new_tokens <= 40 and result.prompt_tokens > 10
    assert result.tokens_per_second == pytest.approx(result.new_tokens / result.seconds)


def test_length_batches_cover_every_prompt_once_shortest_first():
    lengths = [30, 10, 20, 12, 11, 25]
    batches = length_batches(lengths, batch_size=10)
    assert sorted(i for batch in batches for i in batch) == list(range(len(lengths)))
    assert [lengths[i] for batch in batches for i in batch] == sorted(lengths)


def test_length_batches_hold_at_most_batch_size():
    batches = length_batches([7] * 10, batch_size=4)
    assert [len(batch) for batch in batches] == [4, 4, 2]


def test_a_prompt_much_longer_than_its_batch_starts_a_new_one():
    assert MAX_LENGTH_RATIO == 1.5
    assert length_batches([10, 15, 16], batch_size=10) == [[0, 1], [2]]  # 15 <= 1.5 x 10 < 16


def test_the_book_questions_make_two_batches_short_and_passage(model):
    lengths = [len(model.tokenizer.encode(build_prompt(q.instruction, q.context))) for q in COMPARISON_QUESTIONS]
    batches = length_batches(lengths, batch_size=len(lengths))
    assert len(batches) == 2
    assert {COMPARISON_QUESTIONS[i].context is None for i in batches[0]} == {True}
    assert {COMPARISON_QUESTIONS[i].context is not None for i in batches[1]} == {True}


def test_batched_greedy_equals_one_at_a_time(model):
    batched = generate(model, QUESTIONS, batch_size=len(QUESTIONS))
    one_by_one = [generate(model, question) for question in QUESTIONS]
    assert [r.response for r in batched] == [r.response for r in one_by_one]
    assert [r.new_tokens for r in batched] == [r.new_tokens for r in one_by_one]


def test_a_batch_shares_its_time_so_speeds_add_up(model):
    batched = generate(model, QUESTIONS[:4], batch_size=4)
    batch_seconds = batched[0].batch_seconds
    assert batch_seconds > 0 and all(r.batch_seconds == batch_seconds for r in batched)
    assert all(r.seconds == pytest.approx(batch_seconds / 4) for r in batched)
    assert sum(r.seconds for r in batched) == pytest.approx(batch_seconds)
    tokens = sum(r.new_tokens for r in batched)
    assert tokens / sum(r.seconds for r in batched) == pytest.approx(tokens / batch_seconds)
    alone = generate(model, QUESTIONS[0])
    assert alone.seconds == alone.batch_seconds


def test_answers_stop_at_the_end_key(model):
    result = generate(model, QUESTIONS[0], max_new_tokens=100)
    assert result.stop_reason == "end_key" and result.new_tokens < 100


def test_max_new_tokens_cuts_the_answer(model):
    result = generate(model, QUESTIONS[0], max_new_tokens=3)
    assert result.stop_reason == "max_new_tokens" and result.new_tokens == 3


def test_context_goes_into_the_prompt(model):
    passage = "Mount Zorba is the highest mountain in Freedonia, at 4,321 metres."
    with_context = generate(model, "How tall is Mount Zorba?", context=passage)
    without = generate(model, "How tall is Mount Zorba?")
    assert with_context.context == passage and without.context is None
    assert with_context.prompt_tokens > without.prompt_tokens


def test_one_context_per_instruction_must_match_in_number(model):
    with pytest.raises(ValueError, match="2 contexts for 1 instructions"):
        generate(model, ["Hi?"], context=["a", "b"])


def test_sampling_with_a_seed_repeats(model):
    first = generate(model, QUESTIONS[1], do_sample=True, temperature=1.5, seed=3)
    again = generate(model, QUESTIONS[1], do_sample=True, temperature=1.5, seed=3)
    assert first.response == again.response


def test_stream_pieces_add_up_to_the_greedy_answer(model):
    pieces = list(stream_generate(model, QUESTIONS[0]))
    assert len(pieces) > 1
    assert "".join(pieces).strip() == generate(model, QUESTIONS[0]).response


def test_empty_instruction_fails_before_generating(model):
    with pytest.raises(ValueError, match="instruction is empty"):
        generate(model, "  ")


def test_settings_built_once_decode_as_the_keywords_do(model):
    from dolly_helpers.decoding import DecodingSettings

    sampled = DecodingSettings(do_sample=True, temperature=0.8, seed=3, max_new_tokens=24)
    by_keywords = generate(model, SEED_QUESTIONS[:2], do_sample=True, temperature=0.8, seed=3, max_new_tokens=24)
    assert [r.response for r in generate(model, SEED_QUESTIONS[:2], settings=sampled)] == [r.response for r in by_keywords]
    streamed = "".join(stream_generate(model, SEED_QUESTIONS[0], settings=sampled)).strip()
    assert streamed == by_keywords[0].response


def test_the_temperature_rule_lives_in_the_settings():
    from dolly_helpers.decoding import DecodingSettings

    assert DecodingSettings.from_temperature(0, top_p=0.5) == DecodingSettings(top_p=0.5)
    assert DecodingSettings.from_temperature(0.7) == DecodingSettings(do_sample=True, temperature=0.7)
    with pytest.raises(ValueError, match="temperature"):
        DecodingSettings.from_temperature(-1.0)


def test_settings_and_decoding_keywords_together_are_one_line_errors(model):
    from dolly_helpers.decoding import DecodingSettings

    with pytest.raises(ValueError, match="^pass the decoding options either as settings=") as caught:
        generate(model, SEED_QUESTIONS[0], settings=DecodingSettings(), max_new_tokens=8)
    assert "\n" not in str(caught.value)
    with pytest.raises(TypeError, match="^settings must be a DecodingSettings, got dict$"):
        next(stream_generate(model, SEED_QUESTIONS[0], settings={"max_new_tokens": 8}))
