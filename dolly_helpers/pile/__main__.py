"""``python -m dolly_helpers.pile build|stats``: build the mini-Pile, or show its committed manifest."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .corpus import CORPUS_DIR, MANIFEST_PATH, read_manifest

# (heading, manifest field, alignment and width, number format)
COLUMNS = (("component", "name", "<14", ""), ("kind", "kind", "<29", ""), ("licence", "licence", "<38", ""),
           ("documents", "documents", ">10", ","), ("bytes", "bytes", ">11", ","), ("tokens", "tokens", ">11", ","),
           ("bytes/token", "bytes_per_token", ">12", ".2f"), ("epochs", "epochs", ">7", "g"),
           ("share", "share", ">7", ".1%"))  # fmt: skip


def stats_table(components: list[dict]) -> str:
    """The manifest as a readable table, then each component's source."""
    header = "".join(f"{title:{width}}" for title, _, width, _ in COLUMNS)
    rows = ["".join(f"{c[key]:{width}{fmt}}" for _, key, width, fmt in COLUMNS) for c in components]
    sources = [f"  {c['name']}: {c['source']}" for c in components]
    return "\n".join([header, *rows, "", "sources:", *sources])


def _stats(args: argparse.Namespace) -> int:
    components = read_manifest()
    print(json.dumps(components, indent=2, ensure_ascii=False) if args.json else stats_table(components))
    return 0


def _build(args: argparse.Namespace) -> int:
    from .build import build
    from .readers import MissingSource
    from .sources import SOURCES

    names = {s.name for s in SOURCES}
    paths = dict(item.split("=", 1) for item in args.source)
    if unknown := sorted(set(paths) - names):
        print(f"error: unknown component {unknown[0]!r}; there are {', '.join(sorted(names))}", file=sys.stderr)
        return 2
    try:
        report = build(args.out, sources=SOURCES, paths={k: Path(v) for k, v in paths.items()},
                       manifest_path=args.manifest, samples_dir=args.samples)  # fmt: skip
    except MissingSource as missing:
        print(f"error: the {missing.component} component needs the Debian package {missing.package}: "
              f"apt-get install {missing.package}", file=sys.stderr)  # fmt: skip
        return 1
    for name in report.changed:
        print(f"warning: the {name} component changed since the committed manifest (sha256 differs)",
              file=sys.stderr)  # fmt: skip
    print(f"built {len(report.components)} components in {report.seconds:.0f} s; "
          f"{report.duplicates} duplicate documents dropped; corpus in {args.out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dolly_helpers.pile", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    build_parser = commands.add_parser("build", help="build the corpus, its tokenizer and the manifest")
    build_parser.add_argument("--out", type=Path, default=CORPUS_DIR, help="corpus folder")
    build_parser.add_argument("--source", action="append", default=[], metavar="NAME=PATH",
                              help="read a component from another folder (repeatable)")  # fmt: skip
    build_parser.add_argument("--manifest", type=Path, default=MANIFEST_PATH, help=argparse.SUPPRESS)
    build_parser.add_argument("--samples", type=Path, default=MANIFEST_PATH.parent / "samples",
                              help=argparse.SUPPRESS)  # fmt: skip
    build_parser.set_defaults(handler=_build)
    stats_parser = commands.add_parser("stats", help="show the committed manifest")
    stats_parser.add_argument("--json", action="store_true", help="print the components as JSON")
    stats_parser.set_defaults(handler=_stats)
    args = parser.parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
