"""The GPU benchmark, tested through its CPU smoke run: the same code at 2-layer shapes, in float32."""

import importlib.util
import json
import shutil

import pytest
import torch

from dolly_helpers import get_spec
from dolly_helpers.bench import cli, gpu, gpu_ladder
from dolly_helpers.gpus import decode_roofline_tokens_per_s, get_gpu

LADDER = ["dolly_pipeline", "stock_pipeline", "generate_one", "generate_batched",
          "static_cache_compiled", "ctranslate2_direct"]
HAS_CTRANSLATE2 = importlib.util.find_spec("ctranslate2") is not None


def smoke_args(folder, *extra):
    return ["--cpu-smoke", "--workdir", str(folder / "work"), "--json", str(folder / "result.json"),
            "--models", "dolly-v2-3b", "--new-tokens", "4", *extra]


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    """One smoke run, with a copy of the JSON taken every time the benchmark rewrites it."""
    folder = tmp_path_factory.mktemp("bench")
    snapshots = []
    save = gpu.Benchmark.save

    def save_and_keep(self):
        save(self)
        snapshots.append(json.loads(self.settings.json_path.read_text()))

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(gpu.Benchmark, "save", save_and_keep)
        code = gpu.main(smoke_args(folder))
    return code, json.loads((folder / "result.json").read_text()), folder, snapshots


def test_smoke_run_succeeds_and_says_what_it_measured(smoke_run):
    code, report, _, _ = smoke_run
    assert code == 0
    assert report["title"].endswith("random weights of the exact shape")
    assert report["versions"]["torch"] == torch.__version__ and report["versions"]["transformers"]
    assert report["settings"]["new_tokens"] == 4 and report["settings"]["dtype"] == "float32"
    assert report["timing"]["timer"].startswith("torch.utils.benchmark.Timer")


def test_smoke_run_records_the_load_and_every_rung(smoke_run):
    _, report, _, _ = smoke_run
    (shape,) = report["shapes"]
    assert shape["name"] == "dolly-v2-3b-smoke" and shape["status"] == "measured"
    assert shape["load"]["bytes"] > 0 and shape["load"]["seconds"] > 0 and shape["load"]["read_gb_per_s"] > 0
    assert shape["weights_gb"] == pytest.approx(shape["n_params"] * 4 / 1e9, rel=1e-5)
    assert [rung["name"] for rung in shape["rungs"]] == LADDER
    for rung in shape["rungs"]:
        if rung["name"] == "ctranslate2_direct" and not HAS_CTRANSLATE2:
            assert rung["skipped"] == "skipped: ctranslate2 is not installed"
            continue
        assert rung["error"] is None and rung["skipped"] is None, rung
        assert rung["seconds"] > 0 and rung["runs"] >= 1 and rung["first_call_seconds"] > 0
        assert rung["tokens_per_s"] == pytest.approx(8 * 4 / rung["seconds"])
        assert rung["batch_size"] == (1 if rung["name"] in LADDER[:3] else 8)
    assert shape["rungs"][0]["speedup_vs_dolly_pipeline"] == 1.0
    assert shape["rungs"][4]["compiled"] is True
    best = shape["best_batch1"]
    assert best["variant"] in LADDER[:3] and best["decode_tokens_per_s"] > 0
    assert best["fraction_of_roofline"] is None  # no GPU, no roofline


def test_every_rung_claims_and_gives_the_first_rungs_answers_in_float32(smoke_run):
    _, report, _, _ = smoke_run
    for rung in report["shapes"][0]["rungs"]:
        if rung["skipped"] is None:
            assert rung["claims_identical"] and rung["identical"] is True and rung["same_answers"] == 8, rung


def test_the_json_is_rewritten_after_every_step(smoke_run):
    _, report, _, snapshots = smoke_run
    rungs_written = [len(snapshot["shapes"][0]["rungs"]) for snapshot in snapshots]
    assert rungs_written == [0, 1, 2, 3, 4, 5, 6, 6]  # loaded, then each rung, then the size's end
    assert snapshots[0]["shapes"][0]["status"] == "running" and snapshots[0]["shapes"][0]["load"]
    assert snapshots[-1] == report


def test_the_weights_are_scratch(smoke_run):
    _, _, folder, _ = smoke_run
    assert [path.name for path in (folder / "work").iterdir()] == []


def test_a_rung_with_different_answers_fails_its_check(tmp_path, monkeypatch, capsys):
    generate_rung = gpu_ladder.generate_rung

    def one_answer_changed(w, batch_size, **extra):
        run = generate_rung(w, batch_size, **extra)
        if batch_size == 1 or extra:
            return run
        return lambda: [(text + " (changed)", count) if i == 0 else (text, count)
                        for i, (text, count) in enumerate(run())]

    monkeypatch.setattr(gpu_ladder, "generate_rung", one_answer_changed)
    monkeypatch.setattr(gpu.Benchmark, "skip_reason", lambda self, rung, result, later: (
        "skipped: not needed here" if rung.name in LADDER[4:] else None))
    assert gpu.main(smoke_args(tmp_path)) == 1
    rungs = {r["name"]: r for r in json.loads((tmp_path / "result.json").read_text())["shapes"][0]["rungs"]}
    assert rungs["generate_batched"]["identical"] is False and rungs["generate_batched"]["same_answers"] == 7
    assert all(rungs[name]["identical"] is True for name in LADDER[:3])
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line == "error: dolly-v2-3b-smoke generate_batched: answers differ from dolly_pipeline's (7 the same)"


def test_answers_are_checked_for_count_and_length():
    reference = [("a", 4), ("b", 4)]
    claimed, unclaimed, short = (gpu_ladder.RungResult(name, 8, claims) for name, claims in
                                 (("claimed", True), ("unclaimed", False), ("short", True)))
    gpu_ladder.check_answers(claimed, [("a", 4), ("x", 4)], reference, new_tokens=4)
    gpu_ladder.check_answers(unclaimed, [("a", 4), ("x", 4)], reference, new_tokens=4)
    gpu_ladder.check_answers(short, [("a", 4), ("b", 3)], reference, new_tokens=4)
    assert (claimed.same_answers, claimed.identical) == (1, False)
    assert (unclaimed.same_answers, unclaimed.identical) == (1, None)
    assert short.identical is False and short.error == "wrote [3, 4] new tokens per answer, not 4"


def test_a_rerun_keeps_a_finished_size_unless_forced(smoke_run, tmp_path, monkeypatch, capsys):
    shutil.copy(smoke_run[2] / "result.json", tmp_path / "result.json")
    measured = []

    def fake_measure_size(self, result, spec, later):
        measured.append(spec.name)
        result.status = "measured"

    monkeypatch.setattr(gpu.Benchmark, "measure_size", fake_measure_size)
    assert gpu.main(smoke_args(tmp_path)) == 0
    assert measured == [] and "dolly-v2-3b-smoke: measured before, kept" in capsys.readouterr().out
    kept = json.loads((tmp_path / "result.json").read_text())["shapes"]
    assert kept == smoke_run[1]["shapes"]
    assert gpu.main(smoke_args(tmp_path, "--models", "dolly-v2-3b", "dolly-v2-7b")) == 0
    assert measured == ["dolly-v2-7b-smoke"]
    assert gpu.main(smoke_args(tmp_path, "--force")) == 0
    assert measured == ["dolly-v2-7b-smoke", "dolly-v2-3b-smoke"]
    assert gpu.main(smoke_args(tmp_path, "--new-tokens", "5")) == 0  # other settings: measured again
    assert measured[-1] == "dolly-v2-3b-smoke" and len(measured) == 3


def test_a_spent_budget_skips_the_size_and_says_so(tmp_path):
    assert gpu.main(smoke_args(tmp_path, "--budget-seconds", "0.001")) == 0
    (shape,) = json.loads((tmp_path / "result.json").read_text())["shapes"]
    assert shape["status"] == "skipped" and shape["reason"].startswith("time budget")


def test_optional_rungs_leave_the_later_sizes_their_time(tmp_path):
    settings = gpu.parse_args(smoke_args(tmp_path))
    benchmark = gpu.Benchmark(settings)
    result = gpu.SizeResult("dolly-v2-3b-smoke", 1000, {}, weights_gb=5.0)
    later = [get_spec("dolly-v2-12b")]  # 47.4 GB in float32, the smoke run's dtype
    benchmark.disk_seconds_per_gb = 20.0  # so 12b will need 948 s of the 540 s budget
    compile_rung = gpu_ladder.RungResult("static_cache_compiled", 8, True)
    assert benchmark.skip_reason(compile_rung, result, later).startswith("skipped: time budget")
    assert benchmark.skip_reason(compile_rung, result, []) is None
    benchmark.rung_seconds["static_cache_compiled"] = (1e6, 5.0)
    assert benchmark.skip_reason(compile_rung, result, []).startswith("skipped: time budget")
    assert benchmark.skip_reason(gpu_ladder.RungResult("generate_batched", 8, True), result, later) is None


@pytest.mark.parametrize("argv, message", [
    (["--models", "dolly-v2-99b"], "invalid choice: 'dolly-v2-99b'"),
    (["--new-tokens", "0"], "must be positive"),
    (["--new-tokens", "many"], "invalid int value"),
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


def test_roofline_of_12b_in_bfloat16_is_about_141_tokens_per_second_on_an_h100():
    weights = gpu.weights_gb([get_spec("dolly-v2-12b")], torch.bfloat16)
    assert weights == pytest.approx(23.68, abs=0.01)
    assert decode_roofline_tokens_per_s(weights, get_gpu("H100")) == pytest.approx(141.5, abs=0.5)
    assert decode_roofline_tokens_per_s(weights, get_gpu("H200")) == pytest.approx(202.7, abs=0.5)


def test_smoke_shapes_are_small_dolly_shapes():
    spec = gpu.smoke_spec(get_spec("dolly-v2-12b"))
    assert (spec.num_layers, spec.hidden_size, spec.num_heads, spec.vocab_size) == (2, 160, 2, 50280)
    assert spec.hidden_size % spec.num_heads == 0


def test_prompts_are_dolly_prompts_of_equal_length_and_answers_are_cut_like_dollys_pipeline():
    tokenizer = gpu_ladder.load_tokenizer(50280)
    assert len(tokenizer) == 50280 and tokenizer.decode([50279]) == "<|placeholder-50279|>"
    workload = gpu_ladder.Workload(None, tokenizer, "cpu", 4, gpu.INSTRUCTIONS)
    assert workload.prompt_ids.shape[0] == 8 and len(set(workload.prompts)) == 8
    assert workload.prompts[0].endswith("### Response:\n")
    sequence = workload.prompt_ids[0].tolist() + tokenizer(" Paris")["input_ids"] + [workload.end_id, 5]
    assert workload.answer(sequence) == ("Paris", len(sequence) - workload.prompt_ids.shape[1])
    with pytest.raises(ValueError, match="equal token lengths"):
        gpu_ladder.Workload(None, tokenizer, "cpu", 4, ["Short.", "A much longer instruction than that."])
