"""The named GPUs and the decode roofline."""

import pytest

from dolly_helpers.gpus import GpuInfo, decode_roofline_tokens_per_s, get_gpu, list_gpus


def test_every_gpu_of_the_reference_table_is_listed():
    names = [gpu.name for gpu in list_gpus()]
    assert names == [
        "T4", "V100-16GB", "V100-32GB", "A10G", "L4", "A100-40GB", "A100-80GB", "H100", "H200",
    ]


@pytest.mark.parametrize(
    "name, memory_gb, bandwidth_gb_s, bf16",
    [
        ("T4", 16, 320, False),
        ("V100-16GB", 16, 900, False),
        ("V100-32GB", 32, 900, False),
        ("A10G", 24, 600, True),
        ("L4", 24, 300, True),
        ("A100-40GB", 40, 1555, True),
        ("A100-80GB", 80, 2039, True),
        ("H100", 80, 3350, True),
        ("H200", 141, 4800, True),
    ],
)
def test_data_sheet_figures(name, memory_gb, bandwidth_gb_s, bf16):
    assert get_gpu(name) == GpuInfo(name, memory_gb, bandwidth_gb_s, bf16)


@pytest.mark.parametrize(
    "alias, name",
    [
        ("t4", "T4"),
        ("Tesla T4", "T4"),
        ("a100-40", "A100-40GB"),
        ("A100 40GB", "A100-40GB"),
        ("a100_80gb", "A100-80GB"),
        ("NVIDIA A100-SXM4-80GB", "A100-80GB"),
        ("A100-PCIE-40GB", "A100-40GB"),
        ("A100", "A100-40GB"),  # the smaller card: a plan made from it errs on the safe side
        ("h100", "H100"),
        ("NVIDIA H100 80GB HBM3", "H100"),
        ("Tesla V100-SXM2-32GB", "V100-32GB"),
        ("v100", "V100-16GB"),
        ("A10", "A10G"),
        ("nvidia l4", "L4"),
        ("H200", "H200"),
    ],
)
def test_forgiving_names(alias, name):
    assert get_gpu(alias).name == name


@pytest.mark.parametrize("bad", ["RTX 9090", "", "A100-60GB", "T"])
def test_unknown_gpu_lists_the_valid_names_on_one_line(bad):
    with pytest.raises(ValueError) as error:
        get_gpu(bad)
    message = str(error.value)
    assert "\n" not in message
    assert "T4" in message and "H200" in message and "A100-80GB" in message


def test_roofline_is_bandwidth_over_weight_bytes():
    # Reference section 8: 12b in bf16 (~23.7 GB) -> ~13.5 tokens/s on a T4, ~141 on an H100.
    assert decode_roofline_tokens_per_s(23.7, get_gpu("T4")) == pytest.approx(13.5, abs=0.1)
    assert decode_roofline_tokens_per_s(23.7, "H100") == pytest.approx(141.4, abs=0.1)
    assert decode_roofline_tokens_per_s(11.85, "T4") == pytest.approx(
        2 * decode_roofline_tokens_per_s(23.7, "T4")
    )


def test_roofline_rejects_empty_weights():
    with pytest.raises(ValueError):
        decode_roofline_tokens_per_s(0, "T4")
