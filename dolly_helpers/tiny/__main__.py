"""``python -m dolly_helpers.tiny train|evaluate``: build or score the tiny family.

``train`` runs both stages for every size that is missing (a rerun after Ctrl-C or a crash
continues); ``evaluate`` scores every base and tuned model, and ``--write`` records the scores
in each model's training record and model card. Every failure is one ``error: ...`` line.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..models import TINY_BASE_MODELS, TINY_MODELS
from .cards import evaluate_family, score_table, write_cards
from .family import RECIPES, train_family


def _train(args: argparse.Namespace) -> int:
    instructions = None
    if args.instructions:
        from .dolly15k import load_instructions

        instructions = load_instructions(args.instructions)
    out = args.out or (Path(".cache") / "tiny-dolly-tuned" if instructions is not None else None)
    train_family(args.sizes, instructions=instructions, out_dir=out)
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    evaluations = evaluate_family(args.models)
    print(score_table(evaluations))
    if args.write:
        write_cards(evaluations)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m dolly_helpers.tiny", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="pretrain the tiny Pythia suite, then tune the tiny Dolly family")
    train.add_argument("--sizes", nargs="+", default=list(RECIPES), choices=list(RECIPES))
    train.add_argument("--instructions", metavar="SOURCE",
                       help="tune on databricks/databricks-dolly-15k (from the Hub) or a .jsonl file in its schema")
    train.add_argument("--out", type=Path, help="where tuned models go with --instructions")
    train.set_defaults(handler=_train)
    evaluate = commands.add_parser("evaluate", help="score every base and tuned tiny model on the held-out splits")
    names = [*TINY_BASE_MODELS, *TINY_MODELS]
    evaluate.add_argument("--models", nargs="+", default=names, choices=names)
    evaluate.add_argument("--write", action="store_true", help="record the scores in the model cards")
    evaluate.set_defaults(handler=_evaluate)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        print("interrupted: finished models are kept; run the same command again to continue", file=sys.stderr)
        return 130
    except (OSError, RuntimeError, ValueError) as error:
        print(f"error: {' '.join(str(error).split())}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
