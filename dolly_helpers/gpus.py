"""The GPUs readers are likely to have, with the two numbers that decide how Dolly runs on them.

Memory says which Dolly size fits (chapter 4, Running Dolly, through the memory planner);
bandwidth bounds how fast a batch of one can decode (the speed chapter's roofline). Figures are
vendor data-sheet values; GB = 1e9 bytes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class GpuInfo:
    """One GPU model: memory, memory bandwidth and whether it computes in bfloat16."""

    name: str
    memory_gb: float
    bandwidth_gb_s: float
    bf16: bool

    @property
    def device(self) -> str:
        """Always "cuda": lets a named GPU stand in for detected hardware when planning."""
        return "cuda"


_GPUS = (
    GpuInfo("T4", 16, 320, bf16=False),
    GpuInfo("V100-16GB", 16, 900, bf16=False),
    GpuInfo("V100-32GB", 32, 900, bf16=False),
    GpuInfo("A10G", 24, 600, bf16=True),
    GpuInfo("L4", 24, 300, bf16=True),
    GpuInfo("A100-40GB", 40, 1555, bf16=True),
    GpuInfo("A100-80GB", 80, 2039, bf16=True),
    GpuInfo("H100", 80, 3350, bf16=True),  # SXM
    GpuInfo("H200", 141, 4800, bf16=True),
)

# Short names people type. A bare "V100" or "A100" means the smaller card (Colab's ones), so a
# plan made from it errs on the safe side; the A10 has the A10G's memory and bandwidth.
_ALIASES = {
    "v100": "V100-16GB",
    "a100": "A100-40GB",
    "a10": "A10G",
    "h10080": "H100",
    "h200141": "H200",
}


def _key(name: str) -> str:
    """Reduce "NVIDIA A100-SXM4-80GB", "a100 80gb" or "A100-80" to "a10080"."""
    text = name.lower()
    text = re.sub(r"nvidia|tesla|geforce|sxm\d*|pcie|hbm\d*e?", " ", text)
    text = re.sub(r"[^a-z0-9]", "", text)
    return text.removesuffix("gb")


_BY_KEY = {_key(gpu.name): gpu for gpu in _GPUS}
_BY_KEY.update({alias: _BY_KEY[_key(target)] for alias, target in _ALIASES.items()})


def list_gpus() -> list[GpuInfo]:
    """Every named GPU, in the order of the table in chapter 4."""
    return list(_GPUS)


def get_gpu(name: str) -> GpuInfo:
    """Find a GPU by name, ignoring case, spaces, dashes and a trailing "GB" ("a100-40" works)."""
    gpu = _BY_KEY.get(_key(name))
    if gpu is None:
        known = ", ".join(gpu.name for gpu in _GPUS)
        raise ValueError(f"unknown GPU {name!r}: choose one of {known}")
    return gpu


def decode_roofline_tokens_per_s(weights_gb: float, gpu: GpuInfo | str) -> float:
    """Upper bound on batch-1 decode speed: each new token reads every weight once.

    So tokens/s <= bandwidth / bytes of weights, e.g. 12b in bf16 (23.7 GB) on a T4:
    320 / 23.7 = about 13.5 tokens/s. Real runs reach a fraction of it.
    """
    if weights_gb <= 0:
        raise ValueError(f"weights_gb must be positive, got {weights_gb}")
    info = get_gpu(gpu) if isinstance(gpu, str) else gpu
    return info.bandwidth_gb_s / weights_gb
