"""``python -m dolly_helpers.bench cpu|gpu ...``: one entry point for both benchmarks.

``cpu`` runs :mod:`dolly_helpers.bench.cpu`; ``gpu`` hands its arguments to
``dolly_helpers.bench.gpu.main``, imported only then, so the CPU benchmark never depends on it.
Mistakes print one ``error: ...`` line to stderr and exit with status 2.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

USAGE = "usage: python -m dolly_helpers.bench {cpu,gpu} [options]"


def main(argv: Sequence[str] | None = None) -> int:
    """Dispatch to the CPU or the GPU benchmark and return its exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    command, rest = (argv[0], argv[1:]) if argv else (None, [])
    if command in ("-h", "--help"):
        print(USAGE)
        return 0
    if command == "cpu":
        from . import cpu

        return cpu.main(rest)
    if command == "gpu":
        return _gpu(rest)
    what = "a benchmark is missing" if command is None else f"unknown benchmark {command!r}"
    print(f"error: {what}: choose cpu or gpu ({USAGE})", file=sys.stderr)
    return 2


def _gpu(argv: list[str]) -> int:
    """Run the GPU benchmark, saying in one line when its module cannot be imported."""
    try:
        from . import gpu
    except Exception as error:  # a missing or broken gpu module must not take the CLI down
        print(f"error: the GPU benchmark cannot be imported: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    return gpu.main(argv)
