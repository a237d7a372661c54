"""``python -m dolly_helpers ...``: see :mod:`dolly_helpers.cli`."""

from __future__ import annotations

from .cli import main

raise SystemExit(main())
