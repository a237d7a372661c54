"""The book's one command line: ``python -m dolly_helpers <command>``.

The README, CI and chapter 4 (Running Dolly) use it, so every recipe exists once:

    python -m dolly_helpers models
    python -m dolly_helpers env
    python -m dolly_helpers plan dolly-v2-12b --gpu T4 [--dtype fp16] [--8bit] [--sequence-length N]

A new command is one entry in :data:`COMMANDS`: a help line, a function that adds its
arguments, and a handler that prints and returns the exit status. Mistakes (an unknown model,
GPU or dtype) print one ``error: ...`` line to stderr and exit with status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass


class CommandLineError(Exception):
    """A mistake on the command line, reported as one line instead of a traceback."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise CommandLineError(message)


@dataclass(frozen=True)
class Command:
    """One subcommand: its help line, its arguments and the function that runs it."""

    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    handler: Callable[[argparse.Namespace], int]


def _no_arguments(parser: argparse.ArgumentParser) -> None:
    """For commands that take no arguments."""


def _plan_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model_name", metavar="MODEL", help="a model name, e.g. dolly-v2-12b")
    parser.add_argument(
        "--gpu", help="plan for a named GPU (T4, A10G, A100-40GB, ...); default: this machine"
    )
    parser.add_argument("--dtype", default="auto", help="auto, bf16, fp16 or fp32 (default: auto)")
    parser.add_argument(
        "--8bit", dest="load_in_8bit", action="store_true", help="linear layers in 8-bit"
    )
    parser.add_argument("--batch-size", type=int, default=1, help="sequences at once (default: 1)")
    parser.add_argument(
        "--sequence-length", type=int, default=512, help="prompt plus answer tokens (default: 512)"
    )


def _plan(args: argparse.Namespace) -> int:
    from .memory import plan_memory

    plan = plan_memory(
        args.model_name,
        gpu=args.gpu,
        dtype=args.dtype,
        load_in_8bit=args.load_in_8bit,
        batch_size=args.batch_size,
        sequence_length=args.sequence_length,
    )
    print(plan.to_table())
    return 0


def _format_params(count: int) -> str:
    return f"{count / 1e9:.2f} B" if count >= 1e9 else f"{count / 1e6:.2f} M"


def _models(args: argparse.Namespace) -> int:
    from .models import list_models

    header = (
        "name", "family", "parameters", "layers", "hidden", "heads", "vocab", "context", "hub id"
    )
    rows = [header] + [
        (
            spec.name,
            spec.family,
            _format_params(spec.n_params),
            str(spec.num_layers),
            str(spec.hidden_size),
            str(spec.num_heads),
            str(spec.vocab_size),
            str(spec.context_length),
            spec.hub_id or "shipped with the book",
        )
        for spec in list_models()
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    numeric = {2, 3, 4, 5, 6, 7}
    for row in rows:
        cells = [
            cell.rjust(width) if column in numeric else cell.ljust(width)
            for column, (cell, width) in enumerate(zip(row, widths))
        ]
        print("  ".join(cells).rstrip())
    return 0


def _env(args: argparse.Namespace) -> int:
    from .hardware import environment_report, format_report

    print(format_report(environment_report()))
    return 0


def _convert_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model_name", help="a Dolly size already in the Hugging Face cache, e.g. dolly-v2-3b")


def _convert(args: argparse.Namespace) -> int:
    from .convert import convert_cached_model

    print(f"safetensors copy in {convert_cached_model(args.model_name)}; load_model uses it from now on")
    return 0


#: Every subcommand by name; add one here and it appears in ``--help``.
COMMANDS: dict[str, Command] = {
    "models": Command("list the models this book runs", _no_arguments, _models),
    "env": Command("print the machine and package versions", _no_arguments, _env),
    "plan": Command("plan the memory of a model on a GPU or this machine", _plan_arguments, _plan),
    "convert": Command("keep a safetensors copy of a downloaded Dolly size", _convert_arguments, _convert),
}


def build_parser() -> argparse.ArgumentParser:
    """The parser with one subparser per entry of :data:`COMMANDS`."""
    parser = _Parser(prog="python -m dolly_helpers", description="Helpers of the Dolly book.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    subparsers.required = True
    for name, command in COMMANDS.items():
        subparser = subparsers.add_parser(name, help=command.help, description=command.help)
        command.add_arguments(subparser)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command and return its exit status: 0 on success, 2 on a usage mistake."""
    try:
        args = build_parser().parse_args(argv)
        return COMMANDS[args.command].handler(args)
    except (CommandLineError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except SystemExit as done:  # --help prints and exits 0
        return done.code if isinstance(done.code, int) else 0
