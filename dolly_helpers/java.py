"""Find the Java runtime Spark starts, or say in one line how to get one (chapter 11)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

#: Spark 4 runs on Java 17 or newer (Spark 3.5, still on some hosted notebooks, on Java 8+).
MIN_JAVA_VERSION = 17
JAVA_HINT = (
    "install a Java runtime (Debian/Ubuntu: apt-get install openjdk-17-jre-headless; "
    "macOS: brew install openjdk@17) or set JAVA_HOME to one"
)


class JavaNotFoundError(RuntimeError):
    """Spark cannot start: no usable Java runtime. The message says how to get one."""


def find_java() -> str:
    """Return the ``java`` that Spark will start, or raise a one-line error saying how to get it.

    Spark's launcher uses ``$JAVA_HOME/bin/java`` when ``JAVA_HOME`` is set and ``java`` on the
    ``PATH`` otherwise; this checks the same one and that it is new enough for the installed
    pyspark (``required_java_version``).
    """
    needed = required_java_version()
    java_home = os.environ.get("JAVA_HOME")
    if java_home:
        java = Path(java_home) / "bin" / "java"
        if not os.access(java, os.X_OK):
            raise JavaNotFoundError(
                f"Spark needs Java {needed}+ but JAVA_HOME={java_home} has no bin/java: {JAVA_HINT}"
            )
        found = str(java)
    else:
        found = shutil.which("java")
        if found is None:
            raise JavaNotFoundError(
                f"Spark needs Java {needed}+ and found none (no JAVA_HOME, no java on PATH): {JAVA_HINT}"
            )
    version = java_version(found)
    if version is None or version < needed:
        seen = "an unreadable version" if version is None else f"Java {version}"
        raise JavaNotFoundError(f"Spark needs Java {needed}+ but {found} is {seen}: {JAVA_HINT}")
    return found


def required_java_version() -> int:
    """The oldest Java the installed pyspark runs on: 17 for Spark 4, 8 for Spark 3."""
    try:
        from pyspark import __version__
    except ImportError:
        return MIN_JAVA_VERSION
    return MIN_JAVA_VERSION if int(__version__.split(".")[0]) >= 4 else 8


def java_version(java: str) -> int | None:
    """Return the major version of a ``java`` executable (8 for "1.8.0", 17 for "17.0.2")."""
    try:
        completed = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return parse_java_version(completed.stderr + completed.stdout)


def parse_java_version(text: str) -> int | None:
    """Read the major version out of ``java -version`` output; None when there is none."""
    match = re.search(r'version "(\d+)(?:\.(\d+))?', text)
    if match is None:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major
