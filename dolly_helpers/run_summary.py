"""Record what one model did in chapter 4, so chapter 5 can compare sizes without rerunning.

Each per-size run writes ``runs/<model>/summary.json``: the answers, the timings and the
memory. :func:`load_run_summaries` gathers them, smallest model first.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from .generation import GenerationResult
from .hardware import detect_hardware
from .loading import LoadedModel

SUMMARY_FILE = "summary.json"


def save_run_summary(path: str | Path, model: LoadedModel, results: Sequence[GenerationResult]) -> Path:
    """Write one model's run: what it is, what it ran on, what it answered and how fast."""
    import torch
    import transformers

    hardware = detect_hardware()
    new_tokens = sum(result.new_tokens for result in results)
    seconds = sum(result.seconds for result in results)
    summary = {
        "model_name": model.name,
        "family": model.spec.family,
        "n_params": model.spec.n_params,
        "dtype": str(model.dtype).removeprefix("torch."),
        "device": model.device,
        "hardware": hardware.name,
        "load_seconds": round(model.load_seconds, 3),
        "weights_gb": round(model.weights_gb, 6),
        "peak_memory_gb": max((r.peak_memory_gb or 0.0 for r in results), default=0.0) or None,
        "tokens_per_second": round(new_tokens / seconds, 2) if seconds else None,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "answers": [asdict(result) for result in results],
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary, indent=1) + "\n")
    return path


def load_run_summaries(runs_dir: str | Path) -> dict[str, dict]:
    """Every saved per-model summary under ``runs_dir``, ordered by parameter count."""
    summaries = [
        json.loads(path.read_text()) for path in Path(runs_dir).glob(f"*/{SUMMARY_FILE}")
    ]
    summaries.sort(key=lambda summary: summary["n_params"])
    return {summary["model_name"]: summary for summary in summaries}
