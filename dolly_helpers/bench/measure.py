"""Timing and peak-memory utilities of the benchmarks: one clock, one memory reading, medians.

The process's peak resident memory (VmHWM) is reset before a measured call by writing ``5`` to
``/proc/self/clear_refs`` and read from ``/proc/self/status`` after it. Both files are Linux's;
elsewhere the readings are ``None``.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

T = TypeVar("T")

_CLEAR_REFS = Path("/proc/self/clear_refs")
_STATUS = Path("/proc/self/status")


@dataclass(frozen=True)
class Measured(Generic[T]):
    """What a call returned, its wall time and the process's peak resident memory during it."""

    value: T
    seconds: float
    peak_rss_mb: float | None  # the whole process: weights, libraries and the call's own use
    peak_growth_mb: float | None  # how far the peak rose above the resident memory at the start


def reset_peak_rss() -> bool:
    """Reset the process's peak resident memory to its current value; False where not possible."""
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


def _status_mb(field: str) -> float | None:
    """A ``kB`` field of ``/proc/self/status`` in MB (1e6 bytes); None where there is none."""
    try:
        lines = _STATUS.read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024 / 1e6
    return None


def peak_rss_mb() -> float | None:
    """The process's peak resident memory since the last reset, in MB; None off Linux."""
    return _status_mb("VmHWM")


def current_rss_mb() -> float | None:
    """The process's resident memory now, in MB; None off Linux."""
    return _status_mb("VmRSS")


def measure(call: Callable[[], T]) -> Measured[T]:
    """Run ``call`` once and measure it: wall seconds, peak RSS and how much the peak rose."""
    resettable = reset_peak_rss()
    start_rss = current_rss_mb()
    started = time.perf_counter()
    value = call()
    seconds = time.perf_counter() - started
    peak = peak_rss_mb() if resettable else None
    growth = peak - start_rss if peak is not None and start_rss is not None else None
    return Measured(value, seconds, peak, growth)


def median(values: Sequence[float | None]) -> float | None:
    """The median of the readings that exist; None when there are none."""
    present = [value for value in values if value is not None]
    return statistics.median(present) if present else None
