"""The GPU benchmark, tested here through its CPU smoke run and its arithmetic."""

import json

import pytest
import torch

from dolly_helpers import get_spec
from dolly_helpers.bench import gpu, gpu_results
from dolly_helpers.gpus import get_gpu


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    """One end-to-end smoke run at the smallest workload, shared by the checks below."""
    folder = tmp_path_factory.mktemp("bench")
    json_path = folder / "result.json"
    code = gpu.main([
        "--cpu-smoke", "--workdir", str(folder / "work"), "--json", str(json_path),
        "--shapes", "dolly-v2-3b", "--rounds", "1", "--prompt-tokens", "8", "--new-tokens", "4",
    ])
    return code, json.loads(json_path.read_text()), folder


def test_smoke_run_succeeds_and_says_what_it_measured(smoke_run):
    code, report, _ = smoke_run
    assert code == 0
    assert report["title"].endswith("random weights of the exact shape")
    assert report["versions"]["torch"] == torch.__version__
    assert report["versions"]["transformers"]
    assert report["settings"]["new_tokens"] == 4
    assert report["chosen_variant"] is not None


def test_smoke_run_records_load_memory_and_every_variant(smoke_run):
    _, report, _ = smoke_run
    (shape,) = report["shapes"]
    assert shape["name"] == "dolly-v2-3b-smoke" and shape["status"] == "measured"
    assert shape["load"]["format"] == "safetensors"
    assert shape["load"]["bytes"] > 0 and shape["load"]["read_gb_per_s"] > 0
    assert shape["weights_gb"] == pytest.approx(shape["n_params"] * 4 / 1e9, rel=1e-5)
    batch1 = {d["variant"] for d in shape["decode"] if d["batch_size"] == 1}
    expected = {"generate", "pipeline", "generate-eager-attention", *(v.name for v in gpu.COMPILED_VARIANTS)}
    assert batch1 == expected
    assert {d["batch_size"] for d in shape["decode"]} == {1, 8}
    for result in shape["decode"]:
        assert result["error"] is None, result
        assert len(result["full_seconds"]) == len(result["prefill_seconds"]) == 1
        assert result["end_to_end_tokens_per_s"] > 0
        # On a busy CPU four tokens can take less than the noise: then no decode rate is claimed.
        assert result["decode_tokens_per_s"] is None or result["decode_tokens_per_s"] > 0
    compiled = [d for d in shape["decode"] if d["variant"] in {v.name for v in gpu.COMPILED_VARIANTS}]
    assert all(d["matches_baseline"] == 1.0 for d in compiled)  # float32: same greedy tokens
    assert shape["best_batch1"]["variant"] in expected


def test_smoke_run_compares_bin_and_safetensors_then_cleans_up(smoke_run):
    _, report, folder = smoke_run
    comparison = report["shapes"][0]["bin_vs_safetensors"]
    assert comparison["bin"]["format"] == "bin" and comparison["safetensors"]["format"] == "safetensors"
    assert comparison["bin"]["bytes"] > 0 and comparison["speedup"] > 0
    assert not any((folder / "work").glob("dolly-*"))  # weights are scratch unless --keep-weights


def test_without_cuda_the_benchmark_says_so_in_one_line(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert gpu.main(["--json", str(tmp_path / "x.json")]) == 3
    captured = capsys.readouterr()
    assert captured.err == "no CUDA GPU here: the GPU figures are pending; run this on a GPU machine\n"
    assert captured.out == ""
    assert not (tmp_path / "x.json").exists()


def test_roofline_of_12b_on_an_h100_is_about_141_tokens_per_second():
    spec = get_spec("dolly-v2-12b")
    assert gpu.weights_gb(spec.n_params, torch.bfloat16) == pytest.approx(23.68, abs=0.01)
    assert gpu_results.roofline_tokens_per_s(spec, torch.bfloat16, get_gpu("H100")) == pytest.approx(141.5, abs=0.5)
    assert gpu_results.roofline_tokens_per_s(spec, torch.bfloat16, get_gpu("H200")) == pytest.approx(202.7, abs=0.5)
    assert gpu_results.roofline_tokens_per_s(spec, torch.bfloat16, None) is None


@pytest.mark.parametrize("device_name, entry", [
    ("NVIDIA H100 80GB HBM3", "H100"),
    ("NVIDIA H200", "H200"),
    ("NVIDIA A100-SXM4-80GB", "A100-80GB"),
    ("Tesla T4", "T4"),
    ("NVIDIA GeForce RTX 4090", None),
])
def test_cuda_device_names_find_their_table_entry(device_name, entry):
    found = gpu.find_gpu(device_name)
    assert (found.name if found else None) == entry


def test_decode_rate_leaves_the_prefill_out():
    # 8 sequences x 127 tokens after the first, in 2.0 - 0.1 seconds.
    assert gpu_results.decode_rate(8, 128, [2.0, 2.2, 1.9], [0.1, 0.1, 0.3]) == pytest.approx(8 * 127 / 1.9)
    assert gpu_results.decode_rate(1, 128, [0.1], [0.2]) is None  # noise, not a speed
    assert gpu_results.decode_rate(1, 1, [0.1], [0.05]) is None


def test_smoke_shapes_are_small_dolly_shapes():
    spec = gpu.smoke_spec(get_spec("dolly-v2-12b"))
    assert (spec.num_layers, spec.hidden_size, spec.num_heads, spec.vocab_size) == (2, 160, 2, 50280)
    assert spec.hidden_size % spec.num_heads == 0


def test_prompts_have_exactly_the_asked_length():
    tokenizer = gpu.load_tokenizer()
    prompts = gpu.fixed_length_prompts(tokenizer, 8, 128)
    assert len(set(prompts)) == 8
    assert {len(tokenizer(p)["input_ids"]) for p in prompts} == {128}


class _Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def _settings(tmp_path, shapes=("dolly-v2-3b", "dolly-v2-7b", "dolly-v2-12b")):
    args = gpu.parse_args(["--cpu-smoke", "--workdir", str(tmp_path), "--shapes", *shapes])
    return gpu.settings_from(args)


def test_shapes_after_the_budget_are_skipped_and_recorded(monkeypatch, tmp_path):
    clock = _Clock()
    measured = []

    def fake_run(self):  # each shape "takes" 400 s of a 540 s budget
        measured.append(self.spec.name)
        clock.now += 400
        self.result.status = "measured"
        return self.result

    monkeypatch.setattr(gpu.ShapeRun, "run", fake_run)
    settings = _settings(tmp_path)
    report = gpu.run_benchmark(settings, gpu.Budget(540, clock=clock))
    assert measured == ["dolly-v2-3b-smoke", "dolly-v2-7b-smoke"]
    statuses = [(s.name, s.status) for s in report["shapes"]]
    assert statuses == [("dolly-v2-3b-smoke", "measured"), ("dolly-v2-7b-smoke", "measured"),
                        ("dolly-v2-12b-smoke", "skipped")]
    written = json.loads(settings.json_path.read_text())
    assert written["shapes"][2]["status"] == "skipped"
    assert "budget of 540 s spent" in written["shapes"][2]["reason"]


def test_a_spent_budget_skips_everything(tmp_path):
    settings = _settings(tmp_path)
    report = gpu.run_benchmark(settings, gpu.Budget(0))
    assert [s.status for s in report["shapes"]] == ["skipped"] * 3


def test_optional_steps_leave_time_for_the_larger_shapes(tmp_path):
    clock = _Clock()
    settings = _settings(tmp_path)
    budget = gpu.Budget(540, clock=clock)
    deadline = gpu._deadline(settings, budget, settings.shapes)
    # Shares by weights + 10: the first (smallest) shape gets the smallest share of 540 s.
    weights = [gpu.shape_weight(spec, settings.dtype) for spec in settings.shapes]
    assert deadline == pytest.approx(540 * weights[0] / sum(weights))
    assert gpu._deadline(settings, budget, settings.shapes[-1:]) == pytest.approx(540)


def test_budget_allows_a_step_only_if_it_ends_in_time():
    clock = _Clock()
    budget = gpu.Budget(100, clock=clock)
    clock.now = 70
    assert budget.allows(20) and not budget.allows(40)
    clock.now = 101
    assert not budget.allows()
