"""``python -m dolly_helpers.book``: regenerate the book's outputs and build its site.

    run --models NAME...   execute the per-size chapters once per model into runs/
    execute                execute every chapter in place on the default model
    clean                  strip volatile metadata from every committed notebook
    check-clean            fail if a committed notebook is not clean
    site [--check]         build the HTML site (--check: afresh, in a scratch folder)

run, execute and site skip what is up to date with its inputs (--force: redo it all);
run and execute print one line per notebook: how long it ran and why, or why it was skipped.
"""

from __future__ import annotations

import argparse
import sys
import time

from ..models import TINY_MODELS
from . import paths
from .clean import clean_file, unclean_files
from .execute import WORKERS, Interrupted, NotebookFailed, Outcome
from .site import SiteBuildFailed


def _report(outcome: Outcome) -> None:
    print(f"{outcome.job.name:<46} {outcome}", flush=True)


def _failures(outcomes: list[Outcome], what: str) -> int:
    failed = [outcome.job.name for outcome in outcomes if outcome.status == "failed"]
    if failed:
        print(f"error: {len(failed)} of {len(outcomes)} {what} failed ({', '.join(failed)}); "
              "the others' outputs are kept", file=sys.stderr)
        return 1
    return 0


def _interrupted(interrupted: Interrupted) -> int:
    kept = ", ".join(interrupted.finished) or "none"
    print(f"interrupted: finished notebooks kept ({kept}); run the same command again to resume",
          file=sys.stderr)
    return 130


def _run(args: argparse.Namespace) -> int:
    from .runs import run_sizes

    try:
        outcomes = run_sizes(args.models, force=args.force, report=_report)
    except Interrupted as interrupted:
        return _interrupted(interrupted)
    return _failures(outcomes, "per-size runs")


def _execute(args: argparse.Namespace) -> int:
    from .execute import execute_all

    try:
        outcomes = execute_all(force=args.force, workers=args.jobs, report=_report)
    except Interrupted as interrupted:
        return _interrupted(interrupted)
    return _failures(outcomes, "notebooks")


def _clean(args: argparse.Namespace) -> int:
    changed = [path for path in paths.committed_notebooks() if clean_file(path)]
    print(f"cleaned {len(changed)} of {len(paths.committed_notebooks())} notebooks")
    return 0


def _check_clean(args: argparse.Namespace) -> int:
    dirty = unclean_files(paths.committed_notebooks())
    for path in dirty:
        print(f"not clean: {path.relative_to(paths.ROOT)}", file=sys.stderr)
    if dirty:
        print("error: run `make clean-notebooks` and commit the result", file=sys.stderr)
        return 1
    print(f"all {len(paths.committed_notebooks())} notebooks are clean")
    return 0


def _site(args: argparse.Namespace) -> int:
    from .site import check_site, update_site

    if args.check:
        print(f"the site builds: {check_site()} HTML pages")
        return 0
    started = time.perf_counter()
    html, reasons = update_site(force=args.force)
    if reasons:
        print(f"site built in {paths.shown(html)} in {time.perf_counter() - started:.1f} s ({', '.join(reasons)})")
    else:
        print(f"site skipped (unchanged): {paths.shown(html)}")
    return 0


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return int(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m dolly_helpers.book", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="execute the per-size chapters once per model")
    run.add_argument("--models", nargs="+", default=list(TINY_MODELS), metavar="NAME")
    execute = commands.add_parser("execute", help="execute every chapter in place")
    execute.add_argument("--jobs", type=_positive, default=WORKERS, metavar="N",
                         help=f"notebooks at a time (default {WORKERS})")
    for command in (run, execute):
        command.add_argument("--force", action="store_true", help="rerun even if nothing changed")
    run.set_defaults(handler=_run)
    execute.set_defaults(handler=_execute)
    commands.add_parser("clean", help="clean every committed notebook").set_defaults(handler=_clean)
    commands.add_parser("check-clean", help="fail on an unclean notebook").set_defaults(handler=_check_clean)
    site = commands.add_parser("site", help="build the HTML site")
    site.add_argument("--check", action="store_true", help="build afresh in a scratch folder")
    site.add_argument("--force", action="store_true", help="rebuild even if nothing changed")
    site.set_defaults(handler=_site)
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (NotebookFailed, SiteBuildFailed) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
