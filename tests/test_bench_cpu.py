"""The CPU benchmark: its workload, its report, the answers check and its command line.

Nothing here is timed: the speed targets are judged only by the ratios ``make bench`` prints.
"""

import json
import re
import sys
import types

import pytest

from dolly_helpers.bench import cli, cpu
from dolly_helpers.bench.measure import measure, median, median_ratio
from dolly_helpers.questions import COMPARISON_QUESTIONS, Question


def test_the_workload_is_every_comparison_question_greedy_at_64_tokens():
    workload = cpu.Workload()
    assert workload.questions == COMPARISON_QUESTIONS and workload.max_new_tokens == 64
    assert workload.instructions == [q.instruction for q in COMPARISON_QUESTIONS]
    assert any(workload.contexts) and None in workload.contexts


def test_a_different_answer_stops_the_benchmark_in_one_line():
    questions = [Question("First?"), Question("Second?", "A passage.")]
    cpu.check_same_answers("tiny", questions, ["one", "two"], ["one", "two"], "batched helper")
    with pytest.raises(cpu.AnswersDiffer) as caught:
        cpu.check_same_answers("tiny", questions, ["one", "two"], ["one", "2\nlines"], "batched helper")
    message = str(caught.value)
    assert "\n" not in message and "question 2" in message and "'Second?'" in message
    with pytest.raises(cpu.AnswersDiffer, match="1 answers for 2 questions"):
        cpu.check_same_answers("tiny", questions, ["one", "two"], ["one"], "pipeline")


def test_a_helper_that_answers_differently_fails_the_run(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(cpu, "helper_one", lambda model, question, max_new_tokens: "something else")
    status = cpu.main(["--models", "tiny-dolly-small", "--repeats", "1", "--json", str(tmp_path / "r.json")])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 1 and not (tmp_path / "r.json").exists()
    assert err[-1].startswith("error: answers differ: tiny-dolly-small: the one-prompt helper answers question 1")


def test_the_report_and_its_last_two_lines(tmp_path, capsys):
    path = tmp_path / "runs" / "cpu.json"
    status = cpu.main(["--models", "tiny-dolly-small", "--repeats", "1", "--json", str(path)])
    out = capsys.readouterr().out
    lines = out.rstrip("\n").splitlines()
    assert re.fullmatch(r"batched_speedup_vs_pipeline: \d+\.\d\d", lines[-2])
    assert re.fullmatch(r"batch1_overhead_vs_pipeline: \d+\.\d\d", lines[-1])
    report = json.loads("\n".join(lines[:-2]))
    assert json.loads(path.read_text()) == report
    assert status == (0 if report["targets"]["met"] else 1)
    assert lines[-2].endswith(f"{report['batched_speedup_vs_pipeline']:.2f}")

    (model,) = report["models"]
    assert model["model_name"] == "tiny-dolly-small" and model["answers_identical"]
    # The stock pipeline writes on past "### End" to max_new_tokens; told the end key, it stops
    # where the helper stops.
    helper_tokens = model["workload"]["helper"]["new_tokens"]
    assert model["workload"]["pipeline"]["new_tokens"] == 64 * len(COMPARISON_QUESTIONS) > helper_tokens > 0
    assert model["workload_vs_pipeline_stopping_at_end_key"]["pipeline"]["new_tokens"] == helper_tokens
    assert model["one_prompt"]["pairs"] == len(COMPARISON_QUESTIONS)
    for part in ("load", "workload", "one_prompt"):
        assert model[part]["pipeline"]["seconds"] > 0 and model[part]["helper"]["seconds"] > 0
    assert report["workload"]["questions"] == len(COMPARISON_QUESTIONS)
    assert report["settings"]["repeats"] == 1 and report["targets"]["batched_speedup_at_least"] == 5.0


@pytest.mark.parametrize(
    "argv, message",
    [
        (["cpu", "--models", "tiny-dolly-huge"], "unknown model 'tiny-dolly-huge'"),
        (["cpu", "--models", "dolly-v2-3b"], "the CPU benchmark runs the tiny models"),
        (["cpu", "--repeats", "0"], "--repeats must be at least 1, got 0"),
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


def test_measure_reads_the_peak_memory_on_linux():
    measured = measure(lambda: b"x" * 50_000_000)
    assert measured.seconds > 0 and len(measured.value) == 50_000_000
    if sys.platform.startswith("linux"):
        assert measured.peak_rss_mb is not None and measured.peak_growth_mb > 40
    else:
        assert measured.peak_rss_mb is None


def test_medians_and_ratios_pair_by_pair():
    assert median([3.0, None, 1.0, 2.0]) == 2.0 and median([None]) is None
    assert median_ratio([10.0, 4.0, 9.0], [2.0, 2.0, 1.0]) == 5.0
    with pytest.raises(ValueError, match="pairs"):
        median_ratio([1.0], [])
