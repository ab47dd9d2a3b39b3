"""What every benchmark script does with its table: print it, append it to RESULTS.md.

from results import command_line, machine, publish
publish(text, append=not args.no_append)
"""

from __future__ import annotations

import pathlib
import platform
import sys
from collections.abc import Sequence

RESULTS = pathlib.Path(__file__).with_name("RESULTS.md")


def command_line(script: str, argv: Sequence[str] | None) -> str:
    """The command that reproduces this run: `python benchmarks/SCRIPT ARGS`."""
    return " ".join([f"python benchmarks/{script}", *(argv if argv is not None else sys.argv[1:])])


def machine() -> str:
    """The machine line of a RESULTS section (node, architecture, Python)."""
    return f"{platform.node() or 'vm'}, {platform.machine()}, Python {platform.python_version()}"


def publish(text: str, *, append: bool) -> None:
    """Prints `text` and, if `append`, adds it to benchmarks/RESULTS.md after a blank line."""
    print(text)
    if append:
        with RESULTS.open("a") as f:
            f.write("\n" + text)
