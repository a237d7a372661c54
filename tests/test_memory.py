"""The memory planner: the numbers chapter 4 relies on, and advice that names a way out."""

import pytest

import dolly_helpers.memory as memory
from dolly_helpers.hardware import Hardware
from dolly_helpers.memory import MemoryPlan, plan_memory
from dolly_helpers.models import DOLLY_MODELS, TINY_MODELS, get_spec

CPU_32GB = Hardware(device="cpu", name="test CPU", memory_gb=32.0, bf16=False, host_ram_gb=32.0)
CPU_64GB = Hardware(device="cpu", name="test CPU", memory_gb=64.0, bf16=False, host_ram_gb=64.0)


@pytest.fixture
def on_cpu(monkeypatch):
    """Plan for a CPU-only machine with 32 GB of RAM, whatever runs the tests."""
    monkeypatch.setattr(memory, "detect_hardware", lambda: CPU_32GB)


def test_12b_in_16_bits_does_not_fit_a_t4():
    plan = plan_memory("dolly-v2-12b", gpu="T4")
    assert plan.dtype == "float16"  # a T4 has no bf16
    assert not plan.fits
    assert 23.5 < plan.weights_gb < 24.0
    assert 24.0 < plan.total_gb < 27.0  # issue 79: about 24.4 GiB = 26.2 GB


def test_12b_advice_on_a_t4_names_concrete_ways_out():
    advice = plan_memory("dolly-v2-12b", gpu="T4").advice
    assert "does not fit" in advice
    assert "dolly-v2-7b" in advice  # the biggest smaller size that fits
    assert "8-bit" in advice and "bitsandbytes" in advice
    assert 'device_map="auto"' in advice and "44" in advice and "107" in advice


def test_12b_in_8_bit_fits_a_t4():
    plan = plan_memory("dolly-v2-12b", gpu="T4", load_in_8bit=True)
    assert plan.dtype == "int8"
    assert plan.fits
    assert 12.0 < plan.weights_gb < 12.8  # linear layers 1 byte, embeddings and output 2 bytes
    assert 13.0 < plan.total_gb < 14.5
    assert "fits" in plan.advice


def test_3b_fits_a_t4_with_room_to_spare():
    plan = plan_memory("dolly-v2-3b", gpu="T4")
    assert plan.fits
    assert 5.4 < plan.weights_gb < 5.7
    assert plan.total_gb < 8.0
    assert "tight" not in plan.advice


def test_7b_fits_a_t4_in_fp16_only_for_short_sequences():
    short = plan_memory("dolly-v2-7b", gpu="T4", dtype="fp16", sequence_length=512)
    assert short.fits
    assert 15.0 < short.total_gb < 16.0
    assert "tight" in short.advice and "1,500 tokens" in short.advice
    full = plan_memory("dolly-v2-7b", gpu="T4", dtype="fp16", sequence_length=2048)
    assert not full.fits
    assert "512 tokens" in full.advice and "dolly-v2-3b" in full.advice


@pytest.mark.parametrize("name", DOLLY_MODELS)
@pytest.mark.parametrize("load_in_8bit", [False, True])
def test_everything_fits_an_a100_80gb(name, load_in_8bit):
    plan = plan_memory(name, gpu="A100-80GB", load_in_8bit=load_in_8bit)
    assert plan.fits
    assert plan.dtype == ("int8" if load_in_8bit else "bfloat16")
    assert plan.headroom_gb > 50


def test_12b_in_bf16_fits_an_a100_40gb():
    plan = plan_memory("dolly-v2-12b", gpu="A100-40GB")
    assert plan.dtype == "bfloat16"
    assert plan.fits


def test_sizes_grow_with_the_model_and_8_bit_roughly_halves_them():
    totals = [plan_memory(name, gpu="A100-80GB").total_gb for name in DOLLY_MODELS]
    assert totals == sorted(totals)
    for name in DOLLY_MODELS:
        full = plan_memory(name, gpu="A100-80GB").weights_gb
        eight = plan_memory(name, gpu="A100-80GB", load_in_8bit=True).weights_gb
        assert 0.5 * full < eight < 0.6 * full


def test_host_ram_for_12b_explains_issue_64():
    # Issue 64: 12b failed on a machine with 28 GB of RAM and loaded with 64 GB.
    plan = plan_memory("dolly-v2-12b", gpu="T4")
    assert 28.0 < plan.host_ram_gb < 64.0
    assert plan.host_ram_gb > get_spec("dolly-v2-12b").checkpoint_gb
    assert plan.host_ram_available_gb is None  # a named GPU says nothing about this machine


def test_kv_cache_of_dolly_12b_by_hand():
    # 2 (keys, values) x 36 layers x 5,120 wide x 1,024 tokens x 4 rows x 2 bytes (bfloat16) = 3,019,898,880
    plan = plan_memory("dolly-v2-12b", gpu="H100", sequence_length=1024, batch_size=4)
    assert plan.kv_cache_gb == pytest.approx(3.01989888)
    assert plan_memory("dolly-v2-12b", gpu="H100", sequence_length=2048, batch_size=4).kv_cache_gb == pytest.approx(6.03979776)


def test_sequence_length_is_capped_at_the_context():
    plan = plan_memory("dolly-v2-3b", gpu="T4", sequence_length=10_000)
    assert plan.sequence_length == 2048


def test_dolly_7b_in_float32_does_not_fit_an_l4():
    # 6,856,056,832 parameters (config.json: 32 layers, 4,096 wide, 50,280 tokens) x 4 bytes
    plan = plan_memory("dolly-v2-7b", gpu="L4", dtype="fp32")
    assert plan.dtype == "float32" and plan.weights_gb == pytest.approx(27.424227328)
    assert plan.total_gb > 24 and not plan.fits


@pytest.mark.parametrize("name", TINY_MODELS)
def test_tiny_models_need_almost_nothing(name, on_cpu):
    plan = plan_memory(name)
    assert plan.dtype == "float32"
    assert plan.weights_gb + plan.kv_cache_gb < 0.05
    assert plan.total_gb < 0.1
    assert plan.fits
    assert plan.device.startswith("CPU")


def test_cpu_plans_use_bf16_and_check_host_ram(on_cpu, monkeypatch):
    plan = plan_memory("dolly-v2-12b")
    assert plan.dtype == "bfloat16"
    assert plan.device_type == "cpu"
    assert plan.host_ram_available_gb == 32.0
    assert not plan.fits  # the load needs the checkpoint and the weights in RAM at once
    assert "RAM" in plan.advice
    monkeypatch.setattr(memory, "detect_hardware", lambda: CPU_64GB)
    assert plan_memory("dolly-v2-12b").fits
    assert plan_memory("dolly-v2-3b").fits


def test_8_bit_without_a_cuda_gpu_is_refused(on_cpu):
    with pytest.raises(ValueError) as error:
        plan_memory("dolly-v2-3b", load_in_8bit=True)
    assert "CUDA" in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"name": "dolly-v2-13b"},
        {"name": "dolly-v2-3b", "gpu": "RTX 9090"},
        {"name": "dolly-v2-3b", "gpu": "T4", "dtype": "int4"},
        {"name": "dolly-v2-3b", "gpu": "T4", "sequence_length": 0},
        {"name": "dolly-v2-3b", "gpu": "T4", "batch_size": 0},
    ],
)
def test_bad_arguments_raise_one_line(kwargs):
    with pytest.raises(ValueError) as error:
        plan_memory(**kwargs)
    assert "\n" not in str(error.value)


def test_table_and_html_show_the_plan():
    plan = plan_memory("dolly-v2-12b", gpu="T4")
    assert isinstance(plan, MemoryPlan)
    table = str(plan)
    assert table == plan.to_table()
    for label in ("model", "device", "dtype", "weights", "KV cache", "total", "fits", "advice"):
        assert any(line.startswith(label) for line in table.splitlines())
    assert "dolly-v2-12b" in table and "T4" in table and f"{plan.total_gb:.2f} GB" in table
    assert all(len(line) <= 90 for line in table.splitlines())
    page = plan._repr_html_()
    assert page.startswith("<table>") and "device_map=&quot;auto&quot;" in page
