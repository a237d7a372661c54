"""``python -m dolly_helpers.tiny train|evaluate``: build or score the tiny family."""

from __future__ import annotations

import argparse
import sys

from ..models import TINY_MODELS
from .family import evaluate_family, train_family


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dolly_helpers.tiny", description=__doc__)
    parser.add_argument("command", choices=["train", "evaluate"])
    parser.add_argument("--models", nargs="+", default=list(TINY_MODELS), choices=TINY_MODELS)
    args = parser.parse_args(argv)
    if args.command == "train":
        train_family(args.models)
        return 0
    print(f"{'model':<20}{'parameters':>12}{'questions':>11}{'exact':>8}{'answer':>8}")
    for evaluation in evaluate_family(args.models):
        print(
            f"{evaluation.model_name:<20}{evaluation.n_params:>12,}{evaluation.n_questions:>11}"
            f"{evaluation.exact_match:>8.1%}{evaluation.answer_match:>8.1%}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
