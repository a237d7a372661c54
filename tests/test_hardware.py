"""Hardware detection, dtype choice, seeding and the environment report."""

import random
from types import SimpleNamespace

import pytest
import torch

from dolly_helpers.hardware import (
    Hardware,
    cpu_computes_bf16,
    detect_hardware,
    environment_report,
    format_report,
    resolve_dtype,
    set_seed,
)
from dolly_helpers.models import get_spec

CPU = Hardware(device="cpu", name="test CPU", memory_gb=32.0, bf16=False, host_ram_gb=32.0)
A100 = Hardware(device="cuda", name="NVIDIA A100", memory_gb=80.0, bf16=True, host_ram_gb=128.0)
T4 = Hardware(device="cuda", name="Tesla T4", memory_gb=16.0, bf16=False, host_ram_gb=12.0)


def test_cpu_detection_reports_host_ram(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    hardware = detect_hardware()
    assert hardware.device == "cpu"
    assert hardware.bf16 is False
    assert hardware.host_ram_gb > 0.5
    assert hardware.memory_gb == hardware.host_ram_gb
    assert hardware.name


def test_cuda_detection_reads_the_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda index=0: "Tesla T4")
    properties = SimpleNamespace(total_memory=15_835_660_288)  # what PyTorch sees on a T4
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda index=0: properties)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args, **kwargs: False)
    hardware = detect_hardware()
    assert hardware.device == "cuda"
    assert hardware.name == "Tesla T4"
    assert hardware.memory_gb == pytest.approx(15.84, abs=0.01)
    assert hardware.bf16 is False


@pytest.mark.parametrize(
    "name, hardware, expected",
    [
        ("dolly-v2-12b", A100, torch.bfloat16),
        ("dolly-v2-12b", T4, torch.float16),  # no bf16 before Ampere
        ("tiny-dolly-large", T4, torch.float16),
        ("tiny-dolly-large", CPU, torch.float32),
        ("dolly-v2-3b", CPU, torch.bfloat16),  # halves the RAM of a real size
    ],
)
def test_auto_dtype_follows_the_hardware(name, hardware, expected):
    assert resolve_dtype(get_spec(name), hardware) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("bf16", torch.bfloat16),
        ("BFloat16", torch.bfloat16),
        ("fp16", torch.float16),
        ("half", torch.float16),
        ("float16", torch.float16),
        ("fp32", torch.float32),
        ("float32", torch.float32),
        ("torch.float32", torch.float32),
    ],
)
def test_dtype_names_are_understood(text, expected):
    assert resolve_dtype(get_spec("dolly-v2-3b"), A100, text) == expected


def test_a_torch_dtype_passes_through():
    assert resolve_dtype(get_spec("dolly-v2-3b"), CPU, torch.float16) is torch.float16


def test_unknown_dtype_says_what_to_pass():
    with pytest.raises(ValueError) as error:
        resolve_dtype(get_spec("dolly-v2-3b"), CPU, "int4")
    message = str(error.value)
    assert "\n" not in message
    assert "'int4'" in message and "bfloat16" in message and "float32" in message


def test_set_seed_makes_random_draws_repeat():
    numpy = pytest.importorskip("numpy")
    set_seed(1234)
    first = (random.random(), numpy.random.rand(), torch.rand(3))
    set_seed(1234)
    second = (random.random(), numpy.random.rand(), torch.rand(3))
    assert first[0] == second[0]
    assert first[1] == second[1]
    assert torch.equal(first[2], second[2])
    set_seed(4321)
    assert not torch.equal(torch.rand(3), first[2])


def test_environment_report_names_versions_and_machine():
    report = environment_report()
    assert list(report) == [
        "python", "platform", "torch", "transformers", "accelerate",
        "device", "GPU name", "GPU memory", "host RAM", "CPU cores",
    ]
    assert report["torch"] == torch.__version__
    assert report["device"] in {"cuda", "mps", "cpu"}
    assert report["host RAM"].endswith(" GB")
    assert int(report["CPU cores"]) >= 1
    assert all(isinstance(value, str) and value for value in report.values())


def test_format_report_aligns_the_values():
    text = format_report({"python": "3.11", "GPU memory": "16.0 GB", "x": "y"})
    lines = text.splitlines()
    assert lines == ["python      3.11", "GPU memory  16.0 GB", "x           y"]


ZEN4_FLAGS = "flags\t\t: fpu sse2 avx2 avx512f avx512_bf16 avx512_vnni\n"
SAPPHIRE_RAPIDS_FLAGS = "flags\t\t: fpu avx2 avx512f amx_bf16 amx_tile\n"
AVX2_ONLY_FLAGS = "processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: fpu sse2 avx2 fma\n"


@pytest.mark.parametrize(("cpuinfo", "expected"), [
    (ZEN4_FLAGS, True), (SAPPHIRE_RAPIDS_FLAGS, True), (AVX2_ONLY_FLAGS, False), ("", False),
    ("flags\t\t: fpu avx512_bf16x\n", False),  # a flag's name, not a prefix of one
])  # fmt: skip
def test_bfloat16_in_hardware_is_read_from_the_cpu_flags(cpuinfo, expected):
    assert cpu_computes_bf16(cpuinfo) is expected


def test_bfloat16_in_hardware_is_false_where_the_flags_cannot_be_read(monkeypatch):
    import dolly_helpers.hardware as hardware

    def unreadable(self, *args, **kwargs):
        raise FileNotFoundError(self)

    monkeypatch.setattr(hardware.Path, "read_text", unreadable)
    assert cpu_computes_bf16() is False
