"""The book's one command line: ``python -m dolly_helpers <command>``.

The README, CI and chapter 4 (Running Dolly) use it, so every recipe exists once:

    python -m dolly_helpers models
    python -m dolly_helpers env
    python -m dolly_helpers plan dolly-v2-12b --gpu T4 [--dtype fp16] [--8bit] [--sequence-length N]
    python -m dolly_helpers ask "What is the highest mountain in Japan?" [--context TEXT]
        [--model NAME] [--max-new-tokens N] [--temperature T] [--top-p P] [--seed S]

A new command is one entry in :data:`COMMANDS`: a help line, a function that adds its
arguments, and a handler that prints and returns the exit status.

Every failure is one ``error: ...`` line on stderr, saying what is wrong and what to do, and no
traceback (``--debug``, anywhere on the line, prints it too). The exit status says whose move it
is: 2 for a mistake in the command (an unknown model, GPU or dtype, an empty instruction, a
setting out of range), 1 for what this machine cannot do (a model not downloadable, one that
does not fit, a damaged model folder), 130 after Ctrl-C, which prints ``interrupted``. Warnings
(a passage cut to the context window) are one ``warning: ...`` line each.
"""

from __future__ import annotations

import argparse
import re
import sys
import traceback
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .validation import ContextTruncatedWarning

#: Exit status of a mistake in the command, of a problem of this machine, and of Ctrl-C.
EXIT_USAGE, EXIT_ENVIRONMENT, EXIT_INTERRUPTED = 2, 1, 130


class CommandLineError(Exception):
    """A mistake on the command line, reported as one line instead of a traceback."""


class Parser(argparse.ArgumentParser):
    """An argument parser whose mistakes raise :class:`CommandLineError` instead of exiting."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise CommandLineError(message)


def parse_or_status(parse_args: Callable[[list[str]], argparse.Namespace],
                    argv: Sequence[str] | None) -> argparse.Namespace | int:
    """``parse_args(argv)`` (``sys.argv[1:]`` when None), or the exit status instead of the arguments:
    2 after printing a mistake as one ``error: ...`` line, 0 after ``--help``."""
    try:
        return parse_args(list(sys.argv[1:] if argv is None else argv))
    except CommandLineError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except SystemExit as done:  # --help
        return done.code if isinstance(done.code, int) else 0


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


def _ask_arguments(parser: argparse.ArgumentParser) -> None:
    from .decoding import DOLLY_TOP_P
    from .models import DEFAULT_MODEL

    parser.add_argument("instruction", metavar="INSTRUCTION", help="the question or task, in quotes")
    parser.add_argument("--context", metavar="TEXT", help="a passage the answer should use (Dolly's Input: section)")
    parser.add_argument("--model", dest="model_name", metavar="NAME", default=DEFAULT_MODEL,
                        help=f"a model name or a saved model folder (default: {DEFAULT_MODEL})")
    parser.add_argument("--max-new-tokens", metavar="N", type=int, default=64,
                        help="the longest answer, in tokens (default: 64)")
    parser.add_argument("--temperature", metavar="T", type=float, default=0.0,
                        help="0 answers greedily (the default); above 0 samples, e.g. 0.7")
    parser.add_argument("--top-p", metavar="P", type=float, default=DOLLY_TOP_P,
                        help=f"share of probability sampled from when sampling (default: {DOLLY_TOP_P})")
    parser.add_argument("--seed", metavar="S", type=int, help="fix the sampled answer (default: a new one each run)")
    parser.add_argument("--allow-offload", action="store_true",
                        help="load a Dolly size that does not fit the GPU (or with no GPU) anyway: slow")


def _ask(args: argparse.Namespace) -> int:
    """Check everything cheap first, then load the model and stream the answer to stdout."""
    from .decoding import DecodingSettings
    from .generation import stream_generate
    from .loading import load_model
    from .prompt import build_prompt

    settings = DecodingSettings.from_temperature(args.temperature, max_new_tokens=args.max_new_tokens,
                                                 top_p=args.top_p, seed=args.seed)  # fmt: skip
    build_prompt(args.instruction, args.context)
    model = load_model(args.model_name, allow_offload=args.allow_offload)
    printer = _AnswerPrinter()
    try:
        for piece in stream_generate(model, args.instruction, context=args.context, settings=settings):
            printer.write(piece)
    finally:
        printer.close()
    return 0


class _AnswerPrinter:
    """Print streamed pieces as they come, without the answer's leading and trailing blank space."""

    def __init__(self) -> None:
        self.started = False
        self.pending = ""  # whitespace held back until more text shows it is not the end

    def write(self, piece: str) -> None:
        text = self.pending + piece
        if not self.started:
            text = text.lstrip()
        body = text.rstrip()
        self.pending = text[len(body):]
        if body:
            sys.stdout.write(body)
            sys.stdout.flush()
            self.started = True

    def close(self) -> None:
        """End the line: after a full answer, and after Ctrl-C so the shell prompt starts clean."""
        if self.started:
            sys.stdout.write("\n")
            sys.stdout.flush()


#: Every subcommand by name; add one here and it appears in ``--help``.
COMMANDS: dict[str, Command] = {
    "models": Command("list the models this book runs", _no_arguments, _models),
    "env": Command("print the machine and package versions", _no_arguments, _env),
    "plan": Command("plan the memory of a model on a GPU or this machine", _plan_arguments, _plan),
    "convert": Command("keep a safetensors copy of a downloaded Dolly size", _convert_arguments, _convert),
    "ask": Command("answer one instruction, streaming the answer", _ask_arguments, _ask),
}


def build_parser() -> argparse.ArgumentParser:
    """The parser with one subparser per entry of :data:`COMMANDS`."""
    parser = Parser(prog="python -m dolly_helpers", description="Helpers of the Dolly book.")
    parser.add_argument("--debug", action="store_true", help="print the traceback of an error too")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    subparsers.required = True
    for name, command in COMMANDS.items():
        subparser = subparsers.add_parser(name, help=command.help, description=command.help)
        subparser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                               help="print the traceback of an error too")
        command.add_arguments(subparser)
        subparser.set_defaults(handler=command.handler)
    return parser


def exit_status(error: BaseException) -> int:
    """2 for a mistake in the command, 1 for what this machine cannot do (or an unforeseen error)."""
    from .convert import ModelFolderError
    from .memory import ModelDoesNotFitError
    from .sources import ModelNotAvailableError

    if isinstance(error, (ModelNotAvailableError, ModelDoesNotFitError, ModelFolderError)):
        return EXIT_ENVIRONMENT
    if isinstance(error, (CommandLineError, ValueError, TypeError)):
        return EXIT_USAGE
    return EXIT_ENVIRONMENT


def one_line(error: BaseException) -> str:
    """The message of an error on one line; an unforeseen error type is named, with a hint."""
    from .convert import ModelFolderError
    from .memory import ModelDoesNotFitError
    from .sources import ModelNotAvailableError

    message = re.sub(r"\s*\n\s*", " ", str(error).strip()) or type(error).__name__
    expected = (CommandLineError, ValueError, TypeError, OSError,
                ModelNotAvailableError, ModelDoesNotFitError, ModelFolderError)
    if not isinstance(error, expected):
        message = f"{type(error).__name__}: {message} (rerun with --debug for the traceback)"
    return message


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    text = re.sub(r"\s*\n\s*", " ", str(message).strip())
    print(f"warning: {text}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Run one command; return 0 on success, 2 on a mistake in it, 1 when this machine cannot
    do it, 130 after Ctrl-C. Every failure is one ``error: ...`` line on stderr."""
    argv = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in argv
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        warnings.simplefilter("always", ContextTruncatedWarning)
        try:
            args = build_parser().parse_args(argv)
            return args.handler(args)
        except KeyboardInterrupt:
            if debug:
                traceback.print_exc()
            print("interrupted", file=sys.stderr)
            return EXIT_INTERRUPTED
        except SystemExit as done:  # --help prints and exits 0
            return done.code if isinstance(done.code, int) else 0
        except Exception as error:  # noqa: BLE001 - every error becomes one line
            if debug:
                traceback.print_exc()
            message = one_line(error)
            if isinstance(error, CommandLineError):
                message += f" (see {_help_hint(argv)})"
            print(f"error: {message}", file=sys.stderr)
            return exit_status(error)


def _help_hint(argv: list[str]) -> str:
    """``python -m dolly_helpers ask --help`` when the mistake is in a known command."""
    command = next((word for word in argv if word in COMMANDS), None)
    return f"python -m dolly_helpers {command} --help" if command else "python -m dolly_helpers --help"
