"""The ONNX export behind the browser playground, and the files the site build writes for it."""

from __future__ import annotations

import json

import pytest

from dolly_helpers import build_prompt, extract_response, generate, load_model
from dolly_helpers.book import browser_playground
from dolly_helpers.onnx_export import export_onnx, greedy_answer
from dolly_helpers.prompt import END_KEY, INPUT_KEY, INSTRUCTION_KEY, INTRO_BLURB, RESPONSE_KEY
from dolly_helpers.questions import COMPARISON_QUESTIONS

ort = pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """tiny-dolly-small exported twice (the same bytes?) and tiny-pythia-small once, into a scratch folder."""
    folder = tmp_path_factory.mktemp("onnx")
    paths = {}
    for name, copies in (("tiny-dolly-small", 2), ("tiny-pythia-small", 1)):
        model = load_model(name)
        paths[name] = [export_onnx(model, folder / f"{name}-{i}.onnx") for i in range(1, copies + 1)]
    return paths


@pytest.mark.parametrize("name", ["tiny-dolly-small", "tiny-pythia-small"])
def test_the_exported_model_answers_the_book_questions_as_generate_does(exported, name):
    model = load_model(name)
    session = ort.InferenceSession(str(exported[name][0]))
    expected = generate(model, [q.instruction for q in COMPARISON_QUESTIONS],
                        context=[q.context for q in COMPARISON_QUESTIONS], max_new_tokens=24)
    for question, result in zip(COMPARISON_QUESTIONS, expected):
        prompt_ids = model.tokenizer(build_prompt(question.instruction, question.context))["input_ids"]
        new = greedy_answer(session, model, prompt_ids, max_new_tokens=24)
        assert len(new) == result.new_tokens
        text = model.tokenizer.decode(new, skip_special_tokens=True)
        assert extract_response(text) == result.response


def test_an_export_is_the_same_bytes_every_time(exported):
    first, second = exported["tiny-dolly-small"]
    assert first.read_bytes() == second.read_bytes()
    assert not list(first.parent.glob("*.partial"))


def test_export_refuses_a_model_it_cannot_trace_in_one_line(tmp_path):
    pytest.importorskip("ctranslate2")
    fast = load_model("tiny-dolly-small", backend="ctranslate2")
    with pytest.raises(ValueError, match="needs a torch model on the CPU") as raised:
        export_onnx(fast, tmp_path / "model.onnx")
    assert "\n" not in str(raised.value)
    assert not (tmp_path / "model.onnx").exists()


def test_the_page_config_agrees_with_the_python_helpers(tmp_path, monkeypatch):
    monkeypatch.setattr(browser_playground, "CACHE", tmp_path)
    folder = browser_playground.playground_folder(tmp_path)
    for name in browser_playground.PLAYGROUND_MODELS:  # stand-ins: the config only reads their size
        (folder / "models" / name).mkdir(parents=True)
        (folder / "models" / name / "model.onnx").write_bytes(b"0" * 1_500_000)
    config = browser_playground.page_config(folder)
    assert config["prompt"] == {"intro": INTRO_BLURB, "instruction_key": INSTRUCTION_KEY, "input_key": INPUT_KEY,
                                "response_key": RESPONSE_KEY, "end_key": END_KEY}
    assert config["default_model"] == "tiny-dolly-large" and config["max_new_tokens"] == 64
    for entry in config["models"]:
        model = load_model(entry["name"])
        assert (entry["end_id"], entry["eos_id"]) == (model.end_token_id, model.tokenizer.eos_token_id)
        assert entry["window"] == model.spec.context_length and entry["megabytes"] == 1.5
    assert {m["name"] for m in config["models"]} == {"tiny-dolly-small", "tiny-dolly-medium", "tiny-dolly-large",
                                                      "tiny-pythia-small", "tiny-pythia-medium", "tiny-pythia-large"}
    questions = {(q.instruction, q.context or "") for q in COMPARISON_QUESTIONS}
    assert config["examples"] and all((e["instruction"], e["context"]) in questions for e in config["examples"])
    assert any(e["context"] for e in config["examples"])


def test_the_site_build_exports_only_what_changed(tmp_path, monkeypatch):
    calls = []

    def fake_export(model, path):
        calls.append(model.name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"onnx")
        return path

    monkeypatch.setattr("dolly_helpers.onnx_export.export_onnx", fake_export)
    models = ("tiny-dolly-small",)
    static = browser_playground.prepare_playground(tmp_path, models)
    folder = static / "playground"
    assert calls == ["tiny-dolly-small"]
    assert (folder / "playground.js").read_text() == browser_playground.SCRIPT.read_text()
    assert json.loads((folder / "config.json").read_text())["models"][0]["name"] == "tiny-dolly-small"
    assert (folder / "models" / "tiny-dolly-small" / "tokenizer.json").is_file()
    browser_playground.prepare_playground(tmp_path, models)
    assert calls == ["tiny-dolly-small"]  # unchanged: not exported again
    stamp = folder / "models" / "tiny-dolly-small" / "export.json"
    stamp.write_text(json.dumps({**json.loads(stamp.read_text()), "torch": "0.0"}))
    browser_playground.prepare_playground(tmp_path, models)
    assert calls == ["tiny-dolly-small", "tiny-dolly-small"]  # made with another torch: exported again
