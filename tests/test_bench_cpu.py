"""The CPU benchmark: its workload, its report, the answers check and its command line.

Nothing here is timed: the speed targets are judged only by the ratios ``make bench`` prints.
"""

import json
import mmap
import re
import sys
import types

import pytest

from dolly_helpers.bench import cli, cpu
from dolly_helpers.bench.measure import measure, median
from dolly_helpers.questions import COMPARISON_QUESTIONS, Question


def test_the_workload_is_every_comparison_question_greedy_at_64_tokens():
    workload = cpu.Workload()
    assert workload.questions == COMPARISON_QUESTIONS and workload.max_new_tokens == 64
    assert any(workload.contexts) and None in workload.contexts


def test_a_different_answer_stops_the_benchmark_in_one_line():
    questions = [Question("First?"), Question("Second?", "A passage.")]
    cpu.check_same_answers("tiny", questions, ["one", "two"], ["one", "two"], "generate_batched")
    with pytest.raises(cpu.AnswersDiffer) as caught:
        cpu.check_same_answers("tiny", questions, ["one", "two"], ["one", "2\nlines"], "generate_batched")
    message = str(caught.value)
    assert "\n" not in message and "question 2" in message and "'Second?'" in message
    assert "Dolly's pipeline with 'two'" in message
    with pytest.raises(cpu.AnswersDiffer, match="1 answers for 2 questions"):
        cpu.check_same_answers("tiny", questions, ["one", "two"], ["one"], "fast_path_batched")


def test_a_rung_on_a_different_model_fails_the_run(monkeypatch, tmp_path, capsys):
    real_load = cpu.load_model

    def load(name, **options):  # the fast path gets another model's weights: its answers differ
        return real_load("tiny-dolly-small" if options else name, **options)

    monkeypatch.setattr(cpu, "load_model", load)
    status = cpu.main(["--models", "tiny-dolly-large", "--repeats", "1", "--rungs", "fast_path_batched",
                       "--json", str(tmp_path / "r.json")])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 1 and not (tmp_path / "r.json").exists()
    # tiny-dolly-small answers the first three questions as tiny-dolly-large does, not the fourth
    assert err[-1].startswith("error: answers differ: tiny-dolly-large: fast_path_batched answers question 4 "
                              "('Who made Dolly 2.0?')")


def test_the_whole_ladder_and_its_last_four_lines(tmp_path, capsys, one_thread):
    path = tmp_path / "runs" / "cpu.json"
    status = cpu.main(["--models", "tiny-dolly-small", "--repeats", "1", "--json", str(path)])
    lines = capsys.readouterr().out.rstrip("\n").splitlines()
    names = ["batched_speedup_vs_dolly_pipeline", "fast_path_speedup_vs_dolly_pipeline",
             "fast_path_vs_ctranslate2", "batch1_overhead_vs_dolly_pipeline"]
    for line, name in zip(lines[-4:], names):
        assert re.fullmatch(rf"{name}: \d+\.\d\d", line)
    report = json.loads("\n".join(lines[:-4]))
    assert json.loads(path.read_text()) == report
    assert status == (0 if report["targets"]["met"] else 1)
    assert lines[-4].endswith(f"{report['batched_speedup_vs_dolly_pipeline']:.2f}")
    assert report["rungs"] == list(cpu.RUNGS) and report["workload"]["questions"] == len(COMPARISON_QUESTIONS)

    (model,) = report["models"]
    rungs = model["rungs"]
    assert model["model_name"] == "tiny-dolly-small" and set(rungs) == set(cpu.RUNGS)
    # Dolly's pipeline stops at ### End, as every rung but the stock pipeline does; the stock
    # pipeline writes on after it, to max_new_tokens or the model's end-of-text.
    stopped = rungs["dolly_pipeline"]["new_tokens"]
    assert 64 * len(COMPARISON_QUESTIONS) >= rungs["stock_pipeline"]["new_tokens"] > stopped > 0
    for rung in cpu.RUNGS:
        if rung not in ("stock_pipeline", "fast_path_int8"):
            assert rungs[rung]["new_tokens"] == stopped, rung
        assert rungs[rung]["seconds"] > 0 and rungs[rung]["tokens_per_second"] > 0
    assert rungs["dolly_pipeline"]["speedup_vs_dolly_pipeline"] == 1.0
    assert 0 <= model["int8_answers_identical_to_float32"] <= 1 and model["first_compiled_call_seconds"] > 0
    assert report["targets"]["batched_speedup_vs_dolly_pipeline"] == {"at_least": 3.0}
    assert report["targets"]["fast_path_vs_ctranslate2"] == {"at_most": 1.1}


def test_ctranslate2_direct_answers_as_the_fast_path(one_thread):
    from dolly_helpers import load_model

    workload = cpu.Workload()
    fast = load_model("tiny-dolly-medium", backend="ctranslate2")
    assert cpu.ctranslate2_direct(fast, workload) == cpu._batched(fast, workload)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["cpu", "--models", "tiny-dolly-huge"], "unknown model 'tiny-dolly-huge'"),
        (["cpu", "--models", "dolly-v2-3b"], "the CPU benchmark runs the tiny models"),
        (["cpu", "--repeats", "0"], "--repeats must be at least 1, got 0"),
        (["cpu", "--rungs", "warp_drive"], "unknown rung 'warp_drive'"),
        (["cpu", "--repeats", "many"], "invalid int value"),
        (["cpu", "--bogus"], "unrecognized arguments"),
        (["tpu"], "unknown benchmark 'tpu'"),
        ([], "a benchmark is missing"),
    ],
)
def test_bad_input_is_one_error_line_and_status_2(argv, message, capsys):
    assert cli.main(argv) == 2
    captured = capsys.readouterr()
    (line,) = captured.err.strip().splitlines()
    assert line.startswith("error: ") and message in line and captured.out == ""


def test_gpu_hands_its_arguments_to_the_gpu_module(monkeypatch):
    seen = []
    fake = types.ModuleType("dolly_helpers.bench.gpu")
    fake.main = lambda argv: seen.append(argv) or 7
    monkeypatch.setitem(sys.modules, "dolly_helpers.bench.gpu", fake)
    monkeypatch.delattr("dolly_helpers.bench.gpu", raising=False)
    assert cli.main(["gpu", "--models", "dolly-v2-3b"]) == 7 and seen == [["--models", "dolly-v2-3b"]]


def test_a_broken_gpu_module_leaves_cpu_working(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "dolly_helpers.bench.gpu", None)  # any import of it fails
    monkeypatch.delattr("dolly_helpers.bench.gpu", raising=False)
    assert cli.main(["gpu"]) == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("error: the GPU benchmark cannot be imported")
    assert cli.main(["cpu", "--repeats", "0"]) == 2  # cpu still parses and answers on its own


def _touch_fresh_pages(size: int) -> int:
    """Write to ``size`` bytes of pages fresh from the kernel (an anonymous map, never reused memory)."""
    with mmap.mmap(-1, size) as block:
        for offset in range(0, size, mmap.PAGESIZE):
            block[offset] = 1
        return len(block)


def test_measure_reads_the_peak_memory_on_linux():
    measured = measure(lambda: _touch_fresh_pages(50_000_000))
    assert measured.seconds > 0 and measured.value == 50_000_000
    if sys.platform.startswith("linux"):
        assert measured.peak_rss_mb is not None and measured.peak_growth_mb > 40
    else:
        assert measured.peak_rss_mb is None


def test_medians_of_the_readings_that_exist():
    assert median([3.0, None, 1.0, 2.0]) == 2.0 and median([None]) is None
