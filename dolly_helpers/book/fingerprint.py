"""When a notebook must run again: one policy for the per-size runs and for the chapters.

A notebook's outputs depend on its *inputs*, each hashed on its own so that a rerun can say
which one changed:

- ``source``: its cell sources (not its outputs), and ``parameters``: what papermill injects;
- ``package``: every file of the helper package (code, data, the tiny models), but __pycache__
  and the browser playground's script, which only the site reads;
- ``requirements.txt`` and ``pyproject.toml``: the versions it runs on;
- ``runs/...``: every file under ``runs/`` whose name its code cells mention, e.g. chapter 5's
  ``runs/summary.json`` (and each ``runs/<model>/summary.json``) and the status page's
  ``runs/execution-times.json``, where only the other notebooks' times count.

Each successful execution records its inputs under its output's path in
``runs/fingerprints.json``, which is committed with the outputs: a fresh clone whose inputs
match executes nothing. A failed execution records nothing, so the notebook runs again.
What is not a file of the repository (the installed torch, the machine) is not an input:
``--force`` reruns everything.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

from . import paths

#: Files at the repository root that every notebook depends on.
PROJECT_FILES = ("requirements.txt", "pyproject.toml")

Inputs = dict[str, str]

#: Digests of files already read by this process, by path, size and modification time.
_file_digests: dict[tuple[str, int, int], str] = {}
#: A file modified this recently may change again within the clock's resolution: hash it anew.
_RACY_NS = 2_000_000_000


def digest(data: bytes) -> str:
    """A short hash: 16 hex digits of sha256 (enough to notice a change, short enough to read)."""
    return hashlib.sha256(data).hexdigest()[:16]


def file_digest(path: Path) -> str:
    """The hash of a file's bytes; a file unchanged on disk for a while is read once per process."""
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key in _file_digests:
        return _file_digests[key]
    value = digest(path.read_bytes())
    if time.time_ns() - stat.st_mtime_ns > _RACY_NS:
        _file_digests[key] = value
    return value


def tree_files(folder: Path, exclude: Iterable[Path] = ()) -> list[Path]:
    """Every file under ``folder``, sorted; no ``__pycache__``, ``*.pyc`` or hidden files (partial runs)."""
    excluded = {path.resolve() for path in exclude}
    files = []
    for directory, folders, names in os.walk(folder):
        folders[:] = sorted(f for f in folders if f != "__pycache__" and not f.startswith("."))
        for name in sorted(names):
            path = Path(directory) / name
            if not name.startswith(".") and not name.endswith(".pyc") and path.resolve() not in excluded:
                files.append(path)
    return files


def tree_digest(folder: Path, exclude: Iterable[Path] = ()) -> str:
    """One hash of the names and bytes of every file under ``folder`` (see :func:`tree_files`)."""
    entries = [f"{path.relative_to(folder).as_posix()} {file_digest(path)}" for path in tree_files(folder, exclude)]
    return digest("\n".join(entries).encode())


def cell_sources(notebook: Path) -> list[tuple[str, str]]:
    """``(cell type, source)`` of every cell: what a notebook runs and says, not its outputs."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return [(cell["cell_type"], "".join(cell["source"])) for cell in cells]


def code_mentions(notebook: Path) -> str:
    """The text of the notebook's code cells, where it names the files it reads."""
    return "\n".join(source for kind, source in cell_sources(notebook) if kind == "code")


def data_files(notebook: Path, exclude: Iterable[Path] = ()) -> list[Path]:
    """The files under ``runs/`` whose names the notebook's code mentions (never the stamps file)."""
    code = code_mentions(notebook)
    names = {path.name for path in tree_files(paths.RUNS)} - {paths.STAMPS}
    mentioned = {name for name in names if re.search(rf"(?<![\w.-]){re.escape(name)}(?![\w-])", code)}
    return [path for path in tree_files(paths.RUNS, exclude) if path.name in mentioned]


def _data_digest(path: Path, notebook: Path) -> str:
    """A data file's hash; of the execution times only the other notebooks' count, so a
    notebook that shows them is not made stale by recording its own."""
    if path.name != paths.EXECUTION_TIMES:
        return file_digest(path)
    try:
        times = json.loads(path.read_text())
    except ValueError:
        return file_digest(path)
    times.pop(notebook.name, None)
    return digest(json.dumps(times, sort_keys=True).encode())


def notebook_inputs(notebook: Path, parameters: Mapping | None = None, exclude: Iterable[Path] = ()) -> Inputs:
    """What an execution of ``notebook`` with ``parameters`` depends on, input by input.

    ``exclude``: files the execution itself writes (a per-size run's own summary).
    """
    inputs = {
        "source": digest(json.dumps(cell_sources(notebook)).encode()),
        "parameters": digest(json.dumps(dict(parameters or {}), sort_keys=True).encode()),
        "package": tree_digest(paths.PACKAGE, exclude=tree_files(paths.WEB)),
    }
    for name in PROJECT_FILES:
        path = paths.ROOT / name
        inputs[name] = file_digest(path) if path.is_file() else "absent"
    for path in data_files(notebook, exclude):
        inputs[paths.shown(path)] = _data_digest(path, notebook)
    return inputs


def changes(recorded: Mapping[str, str] | None, current: Mapping[str, str]) -> list[str]:
    """Why a notebook must run again, e.g. ``["source changed", "runs/summary.json changed"]``;
    empty when every input is as it was at its last successful execution."""
    if recorded is None:
        return ["never executed"]
    reasons = []
    for name, value in current.items():
        if name not in recorded:
            reasons.append(f"{name} appeared")
        elif recorded[name] != value:
            reasons.append(f"{name} changed")
    reasons += [f"{name} removed" for name in recorded if name not in current]
    return reasons


class Stamps:
    """``runs/fingerprints.json``: the inputs of each output's last successful execution, by output path."""

    def __init__(self, path: Path | None = None):
        self.path = path or paths.RUNS / paths.STAMPS
        try:
            self.recorded: dict[str, Inputs] = json.loads(self.path.read_text())
        except (OSError, ValueError):
            self.recorded = {}

    @staticmethod
    def key(output: Path) -> str:
        return paths.shown(output)

    def get(self, output: Path) -> Inputs | None:
        return self.recorded.get(self.key(output))

    def record(self, output: Path, inputs: Inputs) -> None:
        """Record a successful execution, and save at once: a later failure or Ctrl-C keeps it."""
        self.recorded[self.key(output)] = dict(inputs)
        self._save()

    def forget(self, output: Path) -> None:
        """Drop an output's stamp before it runs: a failed or interrupted run then runs again."""
        if self.recorded.pop(self.key(output), None) is not None:
            self._save()

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(f".{self.path.name}.partial")
        partial.write_text(json.dumps(dict(sorted(self.recorded.items())), indent=1) + "\n")
        os.replace(partial, self.path)
