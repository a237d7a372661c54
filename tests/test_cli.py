"""The command line: ``python -m dolly_helpers models | env | plan | convert | ask``.

The mistakes of ``ask`` (and of the API under it) are tested in ``test_bad_input.py``.
"""

import subprocess
import sys
from pathlib import Path

import pytest

import dolly_helpers.loading as loading
import dolly_helpers.memory as memory
from dolly_helpers import generate
from dolly_helpers.cli import COMMANDS, main
from dolly_helpers.hardware import Hardware
from dolly_helpers.models import list_models

REPO_ROOT = Path(__file__).resolve().parents[1]


def test_models_lists_every_model_with_its_shape(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["name", "family", "parameters"]
    assert len(lines) == 1 + len(list_models())
    row = next(line for line in lines if line.startswith("dolly-v2-12b "))
    assert row.split() == [
        "dolly-v2-12b", "dolly", "11.84", "B", "36", "5120", "40", "50280", "2048",
        "databricks/dolly-v2-12b",
    ]
    assert "tiny-dolly-large" in out


def test_env_prints_the_report(capsys):
    assert main(["env"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("python ")
    for key in ("torch", "transformers", "device", "host RAM", "CPU cores"):
        assert any(line.startswith(key) for line in out.splitlines())


def test_plan_prints_the_table(capsys):
    assert main(["plan", "dolly-v2-12b", "--gpu", "T4"]) == 0
    out = capsys.readouterr().out
    assert "dolly-v2-12b" in out and "float16" in out
    assert any(line.split() == ["fits", "no"] for line in out.splitlines())


def test_plan_options(capsys):
    assert main(["plan", "dolly-v2-12b", "--gpu", "t4", "--8bit", "--sequence-length", "256"]) == 0
    out = capsys.readouterr().out
    assert "int8" in out and "256 tokens" in out
    assert any(line.split() == ["fits", "yes"] for line in out.splitlines())
    assert main(["plan", "dolly-v2-3b", "--gpu", "A100-40GB", "--dtype", "fp32"]) == 0
    assert "float32" in capsys.readouterr().out


def test_plan_for_this_machine(capsys, monkeypatch):
    cpu = Hardware(device="cpu", name="test CPU", memory_gb=8.0, bf16=False, host_ram_gb=8.0)
    monkeypatch.setattr(memory, "detect_hardware", lambda: cpu)
    assert main(["plan", "tiny-dolly-small"]) == 0
    assert "CPU: test CPU" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["plan", "dolly-v2-13b"], "unknown model 'dolly-v2-13b'"),
        (["plan", "dolly-v2-3b", "--gpu", "RTX 9090"], "unknown GPU 'RTX 9090'"),
        (["plan", "dolly-v2-3b", "--gpu", "T4", "--dtype", "int4"], "unknown dtype 'int4'"),
        (["plan", "dolly-v2-3b", "--sequence-length", "many"], "--sequence-length"),
        (["plan"], "required"),
        (["frobnicate"], "invalid choice"),
        ([], "required"),
    ],
)
def test_mistakes_print_one_error_line_and_exit_2(capsys, argv, fragment):
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: ") and fragment in lines[0]


def test_8bit_on_a_cpu_machine_is_an_error(capsys, monkeypatch):
    cpu = Hardware(device="cpu", name="test CPU", memory_gb=8.0, bf16=False, host_ram_gb=8.0)
    monkeypatch.setattr(memory, "detect_hardware", lambda: cpu)
    assert main(["plan", "dolly-v2-3b", "--8bit"]) == 2
    assert "CUDA GPU" in capsys.readouterr().err


def test_help_exits_0(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in COMMANDS:
        assert name in out


def test_python_dash_m_runs_without_traceback():
    bad = subprocess.run(
        [sys.executable, "-m", "dolly_helpers", "plan", "nope"],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
    )
    assert bad.returncode == 2
    assert bad.stderr.startswith("error: unknown model 'nope'")
    assert "Traceback" not in bad.stderr
    good = subprocess.run(
        [sys.executable, "-m", "dolly_helpers", "plan", "dolly-v2-3b", "--gpu", "T4"],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
    )
    assert good.returncode == 0 and "dolly-v2-3b" in good.stdout


def test_ask_streams_the_greedy_answer(capsys, monkeypatch, model):
    monkeypatch.setattr(loading, "load_model", lambda name, **options: model)
    question = "What is the highest mountain in Japan?"
    assert main(["ask", question]) == 0
    captured = capsys.readouterr()
    assert captured.out == generate(model, question).response + "\n"
    assert captured.err == ""


def test_ask_samples_with_a_temperature_and_a_seed(capsys, monkeypatch, model):
    monkeypatch.setattr(loading, "load_model", lambda name, **options: model)
    question = "Name three mountains in Europe."
    argv = ["ask", question, "--temperature", "1.5", "--top-p", "1.0", "--seed", "3", "--max-new-tokens", "40"]
    assert main(argv) == 0
    sampled = generate(model, question, do_sample=True, temperature=1.5, top_p=1.0, seed=3, max_new_tokens=40)
    assert capsys.readouterr().out == sampled.response + "\n"
