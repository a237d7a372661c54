"""``python -m dolly_helpers.bench ...``: see :mod:`dolly_helpers.bench.cli`."""

from __future__ import annotations

from .cli import main

raise SystemExit(main())
