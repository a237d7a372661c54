"""The GPU benchmark, tested through its CPU smoke run: the same code at 2-layer shapes, in float32."""

import functools
import json
import shutil
import tempfile
from types import SimpleNamespace

import pytest
import torch

from dolly_helpers import get_spec
from dolly_helpers.bench import cli, gpu
from dolly_helpers.gpus import decode_roofline_tokens_per_s, get_gpu


def smoke_args(folder, *extra):
    return ["--cpu-smoke", "--json", str(folder / "result.json"), "--models", "dolly-v2-3b", *extra]


@pytest.fixture(scope="module", autouse=True)
def tokenizer_loaded_once():
    """Every run of this module shares one tokenizer: padding it to Dolly's vocabulary takes seconds."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(gpu, "load_tokenizer", functools.cache(gpu.load_tokenizer))
        yield


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    """One smoke run, its scratch in a folder of its own, with a copy of the JSON at every rewrite."""
    folder = tmp_path_factory.mktemp("bench")
    (folder / "scratch").mkdir()
    snapshots = []
    save = gpu.Benchmark.save

    def save_and_keep(self):
        save(self)
        snapshots.append(json.loads(self.args.json.read_text()))

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(gpu.Benchmark, "save", save_and_keep)
        patch.setattr(tempfile, "tempdir", str(folder / "scratch"))
        code = gpu.main(smoke_args(folder))
    return code, json.loads((folder / "result.json").read_text()), folder, snapshots


def test_smoke_run_records_the_load_and_every_rung(smoke_run):
    code, report, _, _ = smoke_run
    assert code == 0
    assert report["title"].endswith("smoke run, random weights of the exact shape")
    assert report["versions"]["torch"] == torch.__version__ and report["settings"]["dtype"] == "float32"
    (shape,) = report["shapes"]
    assert shape["name"] == "dolly-v2-3b-smoke" and shape["status"] == "measured" and shape["reason"] is None
    assert shape["load"]["bytes"] > 0 and shape["load"]["seconds"] > 0 and shape["load"]["read_gb_per_s"] > 0
    assert shape["weights_gb"] == pytest.approx(shape["n_params"] * 4 / 1e9, rel=1e-5)
    assert shape["roofline_tokens_per_s"] is None  # no GPU, no bandwidth
    assert [rung["name"] for rung in shape["rungs"]] == list(gpu.RUNGS)
    for rung in shape["rungs"]:
        assert rung["error"] is None and rung["skipped"] is None, rung
        assert rung["tokens_per_s"] == pytest.approx(8 * 4 / rung["seconds"])
        assert rung["wall_seconds"] >= rung["seconds"] > 0 and rung["peak_memory_gb"] is None
        assert rung["batch_size"] == (1 if rung["name"] in gpu.RUNGS[:3] else 8)
        assert rung["speedup_vs_dolly_pipeline"] == pytest.approx(shape["rungs"][0]["seconds"] / rung["seconds"])
    best = shape["best_batch1"]
    assert best["variant"] in gpu.RUNGS[:3] and best["fraction_of_roofline"] is None
    assert best["decode_tokens_per_s"] == max(rung["tokens_per_s"] for rung in shape["rungs"][:3])


def test_every_rung_claims_and_gives_dolly_pipelines_answers_in_float32(smoke_run):
    for rung in smoke_run[1]["shapes"][0]["rungs"]:
        assert rung["identical"] is True and rung["same_answers"] == 8, rung


def test_the_json_is_rewritten_after_every_step(smoke_run):
    _, report, _, snapshots = smoke_run
    assert [len(snapshot["shapes"][0]["rungs"]) for snapshot in snapshots] == [0, 1, 2, 3, 4, 5, 5]
    assert snapshots[0]["shapes"][0]["status"] == "running" and snapshots[0]["shapes"][0]["load"]["seconds"] > 0
    assert snapshots[-1] == report


def test_the_saved_weights_are_scratch(smoke_run):
    assert list((smoke_run[2] / "scratch").iterdir()) == []


def test_a_rung_with_different_answers_fails_the_claim_with_status_1(tmp_path, monkeypatch, capsys):
    build_rung = gpu.build_rung

    def one_answer_changed(name, w, smoke):
        run = build_rung(name, w, smoke)
        if name != "generate_batched":
            return run
        return lambda: [(text + " (changed)", count) if i == 0 else (text, count) for i, (text, count) in
                        enumerate(run())]

    monkeypatch.setattr(gpu, "build_rung", one_answer_changed)
    assert gpu.main(smoke_args(tmp_path, "--budget-seconds", "60")) == 1  # too little left to compile
    rungs = {r["name"]: r for r in json.loads((tmp_path / "result.json").read_text())["shapes"][0]["rungs"]}
    assert rungs["generate_batched"]["identical"] is False and rungs["generate_batched"]["same_answers"] == 7
    assert all(rungs[name]["identical"] is True for name in gpu.RUNGS[:3])
    assert rungs["static_cache_compiled"]["skipped"].startswith("time budget: ")
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line == "error: dolly-v2-3b-smoke generate_batched: answers differ from dolly_pipeline's (7 the same)"


def test_a_rerun_keeps_a_finished_size_unless_forced(smoke_run, tmp_path, monkeypatch, capsys):
    shutil.copy(smoke_run[2] / "result.json", tmp_path / "result.json")
    measured = []

    def fake_measure_size(self, shape, spec):
        measured.append(spec.name)
        shape["status"] = "measured"

    monkeypatch.setattr(gpu.Benchmark, "measure_size", fake_measure_size)
    assert gpu.main(smoke_args(tmp_path)) == 0
    assert measured == [] and "dolly-v2-3b-smoke: measured before, kept" in capsys.readouterr().out
    assert json.loads((tmp_path / "result.json").read_text())["shapes"] == smoke_run[1]["shapes"]
    assert gpu.main(smoke_args(tmp_path, "--models", "dolly-v2-3b", "dolly-v2-7b")) == 0
    assert measured == ["dolly-v2-7b-smoke"]
    assert gpu.main(smoke_args(tmp_path, "--force")) == 0
    assert measured == ["dolly-v2-7b-smoke", "dolly-v2-3b-smoke"]


def test_a_spent_budget_skips_the_size_and_says_why(tmp_path):
    assert gpu.main(smoke_args(tmp_path, "--budget-seconds", "1")) == 0  # the smoke size needs 5 s
    (shape,) = json.loads((tmp_path / "result.json").read_text())["shapes"]
    assert shape["status"] == "skipped" and shape["reason"].startswith("time budget: ") and shape["rungs"] == []


@pytest.mark.parametrize("argv, message", [
    (["--models", "dolly-v2-99b"], "invalid choice: 'dolly-v2-99b'"),
    (["--budget-seconds", "0"], "--budget-seconds must be positive, got 0"),
    (["--budget-seconds", "soon"], "invalid float value"),
    (["--bogus"], "unrecognized arguments: --bogus"),
])
def test_bad_input_is_one_error_line_and_status_2(argv, message, capsys, tmp_path):
    for entry in (gpu.main, lambda args: cli.main(["gpu", *args])):
        assert entry([*argv, "--json", str(tmp_path / "x.json")]) == 2
        captured = capsys.readouterr()
        (line,) = captured.err.strip().splitlines()
        assert line.startswith("error: ") and message in line and captured.out == ""
    assert not (tmp_path / "x.json").exists()


def test_without_cuda_the_benchmark_says_so_in_one_line(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert gpu.main(["--json", str(tmp_path / "x.json")]) == 3
    captured = capsys.readouterr()
    assert captured.err == gpu.NO_GPU + "\n" and captured.out == ""
    assert not (tmp_path / "x.json").exists()


def test_the_roofline_beside_12b_is_the_bandwidth_over_its_bfloat16_weights():
    weights_gb = get_spec("dolly-v2-12b").n_params * 2 / 1e9
    assert weights_gb == pytest.approx(23.68, abs=0.01)
    assert decode_roofline_tokens_per_s(weights_gb, get_gpu("H100")) == pytest.approx(141.5, abs=0.5)
    assert decode_roofline_tokens_per_s(weights_gb, get_gpu("H200")) == pytest.approx(202.7, abs=0.5)


def test_smoke_shapes_are_small_dolly_shapes():
    spec = gpu.smoke_spec(get_spec("dolly-v2-12b"))
    assert (spec.num_layers, spec.hidden_size, spec.num_heads, spec.vocab_size) == (2, 160, 2, 50280)


def test_prompts_are_dolly_prompts_of_equal_length_and_answers_are_cut_like_dollys_pipeline():
    tokenizer = gpu.load_tokenizer(50280)
    assert len(tokenizer) == 50280 and tokenizer.decode([50279]) == "<|placeholder-50279|>"
    workload = gpu.Workload(SimpleNamespace(device="cpu"), tokenizer, 4)
    assert workload.prompt_ids.shape[0] == 8 and len(set(workload.prompts)) == 8
    assert workload.prompts[0].endswith("### Response:\n")
    sequence = workload.prompt_ids[0].tolist() + tokenizer(" Paris")["input_ids"] + [workload.end_id, 5]
    assert workload.answer(sequence) == ("Paris", len(sequence) - workload.prompt_ids.shape[1])
