"""``python -m dolly_helpers.book``: regenerate the book's outputs and build its site.

    run --models NAME...   execute the per-size chapters once per model into runs/
    execute                execute every chapter in place on the default model
    clean                  strip volatile metadata from every committed notebook
    check-clean            fail if a committed notebook is not clean
    site [--check]         build the HTML site (--check: in a scratch folder)
"""

from __future__ import annotations

import argparse
import sys

from ..models import TINY_MODELS
from . import paths
from .clean import clean_file, unclean_files
from .execute import NotebookFailed
from .site import SiteBuildFailed


def _run(args: argparse.Namespace) -> int:
    from .runs import RunsInterrupted, run_sizes

    try:
        outcomes = run_sizes(args.models, force=args.force)
    except RunsInterrupted as interrupted:
        kept = ", ".join(interrupted.finished) or "none"
        print(f"interrupted: finished runs kept ({kept}); run the same command again to resume",
              file=sys.stderr)
        return 130
    for outcome in outcomes:
        detail = f": {outcome.error}" if outcome.error else ""
        print(f"{outcome.model_name:<20} {outcome.status}{detail}")
    failed = [outcome.model_name for outcome in outcomes if outcome.status == "failed"]
    if failed:
        print(f"error: {len(failed)} of {len(outcomes)} models failed ({', '.join(failed)}); "
              "the others' runs are kept in runs/", file=sys.stderr)
        return 1
    return 0


def _execute(args: argparse.Namespace) -> int:
    from .execute import execute_all

    execute_all()
    return 0


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
    from .site import build_site, check_site

    if args.check:
        print(f"the site builds: {check_site()} HTML pages")
    else:
        print(f"site built in {build_site().relative_to(paths.ROOT)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m dolly_helpers.book", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="execute the per-size chapters once per model")
    run.add_argument("--models", nargs="+", default=list(TINY_MODELS), metavar="NAME")
    run.add_argument("--force", action="store_true", help="rerun even if nothing changed")
    run.set_defaults(handler=_run)
    commands.add_parser("execute", help="execute every chapter in place").set_defaults(handler=_execute)
    commands.add_parser("clean", help="clean every committed notebook").set_defaults(handler=_clean)
    commands.add_parser("check-clean", help="fail on an unclean notebook").set_defaults(handler=_check_clean)
    site = commands.add_parser("site", help="build the HTML site")
    site.add_argument("--check", action="store_true", help="build in a scratch folder")
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
