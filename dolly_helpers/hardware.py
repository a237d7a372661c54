"""The machine a chapter runs on, absorbed in one place.

Chapter 4 (Running Dolly) and chapter 9 (Playground) ask this module which device to use and
which number format fits it, so no notebook ever branches on CUDA itself. The book's status
page prints :func:`environment_report`. Memory is in GB = 1e9 bytes.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

import torch

if TYPE_CHECKING:
    from .models import ModelSpec

DeviceKind = Literal["cuda", "mps", "cpu"]

_DTYPE_NAMES: dict[str, torch.dtype] = {
    "bfloat16": torch.bfloat16,
    "bf16": torch.bfloat16,
    "float16": torch.float16,
    "fp16": torch.float16,
    "half": torch.float16,
    "float32": torch.float32,
    "fp32": torch.float32,
}


@dataclass(frozen=True)
class Hardware:
    """The device a model will run on; ``memory_gb`` is GPU memory, or host RAM on a CPU."""

    device: DeviceKind
    name: str
    memory_gb: float
    bf16: bool  # bfloat16 in hardware (Ampere and newer); False on a CPU
    host_ram_gb: float


class _DeviceLike(Protocol):
    """Anything with a device kind and bf16 support: a :class:`Hardware` or a named GPU."""

    @property
    def device(self) -> str: ...

    @property
    def bf16(self) -> bool: ...


def host_ram_gb() -> float:
    """Total host memory in GB."""
    import psutil

    return psutil.virtual_memory().total / 1e9


def _cpu_name() -> str:
    """The processor's model name, as the OS reports it."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "CPU"


#: x86 flags of a CPU that computes in bfloat16 itself; without them torch emulates it, and
#: bfloat16 autocast is then 8 to 16 times slower than float32 (measured on an AVX2-only EPYC).
CPU_BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})


def cpu_computes_bf16(cpuinfo: str | None = None) -> bool:
    """Whether this CPU has bfloat16 arithmetic in hardware, read from ``/proc/cpuinfo``'s flags.

    False wherever the flags cannot be read (macOS, Windows): float32 is then the safe choice.
    """
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return False
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            return bool(CPU_BF16_FLAGS & set(line.split(":", 1)[-1].split()))
    return False


def detect_hardware() -> Hardware:
    """Return the best device here: a CUDA GPU, then Apple's MPS, then the CPU."""
    ram = host_ram_gb()
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        return Hardware(
            device="cuda",
            name=torch.cuda.get_device_name(0),
            memory_gb=props.total_memory / 1e9,
            bf16=bool(torch.cuda.is_bf16_supported()),
            host_ram_gb=ram,
        )
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        # Apple GPUs share the host's memory; float16 is the format every MPS version runs.
        return Hardware(device="mps", name="Apple MPS", memory_gb=ram, bf16=False, host_ram_gb=ram)
    return Hardware(device="cpu", name=_cpu_name(), memory_gb=ram, bf16=False, host_ram_gb=ram)


def resolve_device(device: object, hardware: Hardware) -> str:
    """Turn ``device`` ("auto", "cpu", "cuda", "cuda:N" or "mps") into a device this machine has.

    "auto" is ``hardware.device``, the best one here. A device the machine lacks (a GPU on a CPU
    build of torch, a GPU number past the last, MPS off a Mac) is a one-line ``ValueError`` that
    says what to pass instead, before anything is loaded.
    """
    if not isinstance(device, str):
        raise TypeError(f"device must be a string such as 'auto', 'cpu' or 'cuda', got {type(device).__name__} {device!r:.40}")
    key = device.strip().lower()
    instead = "pass device='cpu', or device='auto' for the best device here"
    if key == "auto":
        return hardware.device
    if key == "cpu":
        return "cpu"
    if key == "cuda" or key.startswith("cuda:"):
        number = key.removeprefix("cuda").removeprefix(":") or "0"
        if not number.isdigit():
            raise ValueError(f"device={device!r} is not a GPU name: pass 'cuda' or 'cuda:N' with N a number, e.g. 'cuda:0'")
        if not torch.cuda.is_available():
            why = ("this torch is a CPU build" if torch.version.cuda is None
                   else "torch sees no GPU on this machine")  # fmt: skip
            raise ValueError(f"device={device!r} asks for a CUDA GPU, but {why}: {instead}")
        count = torch.cuda.device_count()
        if int(number) >= count:
            raise ValueError(f"device={device!r} asks for GPU {number}, but this machine has {count} "
                             f"(cuda:0 to cuda:{count - 1}): pass one of those, or device='auto'")  # fmt: skip
        return key
    if key == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise ValueError(f"device={device!r} asks for Apple's GPU (MPS), which this machine lacks: {instead}")
        return "mps"
    raise ValueError(f"unknown device {device!r}: pass 'auto', 'cpu', 'cuda', 'cuda:N' (a GPU by number) or 'mps'")


def resolve_dtype(
    spec: ModelSpec, hardware: _DeviceLike, dtype: str | torch.dtype = "auto"
) -> torch.dtype:
    """Turn ``dtype`` ("auto", "bf16", "fp16", "fp32" or a ``torch.dtype``) into a ``torch.dtype``.

    "auto" picks bfloat16 on GPUs that have it and float16 on older ones (T4, V100); on a CPU it
    keeps the tiny models in float32 and halves the RAM of a Dolly size with bfloat16.
    ``hardware`` may also be a named GPU from :mod:`dolly_helpers.gpus`, for planning.
    """
    if isinstance(dtype, torch.dtype):
        return dtype
    key = str(dtype).strip().lower().removeprefix("torch.")
    if key == "auto":
        if hardware.device != "cpu":
            return torch.bfloat16 if hardware.bf16 else torch.float16
        is_small = spec.family == "tiny" or (spec.hub_id is None and spec.n_params < 1e9)
        return torch.float32 if is_small else torch.bfloat16
    if key in _DTYPE_NAMES:
        return _DTYPE_NAMES[key]
    raise ValueError(
        f"unknown dtype {dtype!r}: pass 'auto', 'bfloat16' (bf16), 'float16' (fp16) "
        "or 'float32' (fp32)"
    )


def dtype_name(dtype: torch.dtype) -> str:
    """``torch.bfloat16`` -> ``"bfloat16"``, for tables and messages."""
    return str(dtype).removeprefix("torch.")


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and torch on the CPU and every GPU, for checked cells (transformers' ``set_seed``)."""
    from transformers import set_seed as seed_everything

    seed_everything(seed)


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _cpu_cores() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def environment_report() -> dict[str, str]:
    """The machine and package versions that produced a run, for the book's status page."""
    hardware = detect_hardware()
    on_gpu = hardware.device != "cpu"
    return {
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "torch": torch.__version__,
        "transformers": _version("transformers"),
        "accelerate": _version("accelerate"),
        "device": hardware.device,
        "GPU name": hardware.name if on_gpu else "none",
        "GPU memory": f"{hardware.memory_gb:.1f} GB" if hardware.device == "cuda" else "none",
        "host RAM": f"{hardware.host_ram_gb:.1f} GB",
        "CPU cores": str(_cpu_cores()),
    }


def format_report(report: dict[str, str]) -> str:
    """Lay a report out as two aligned columns of plain text."""
    width = max((len(key) for key in report), default=0)
    return "\n".join(f"{key:<{width}}  {value}" for key, value in report.items())
