"""What the commands print: rows for people at a terminal, the same rows for scripts in a pipe,
and JSON for either.

A pipe gets what it always got, one tab-separated line per row and no header, so that scripts
reading `users list | cut -f1` keep working; a terminal gets a header row and aligned columns.
"""

import json
import sys
from collections.abc import Sequence
from typing import Any, TextIO

Row = Sequence[str]


def print_json(value: Any, out: TextIO | None = None) -> None:
    print(json.dumps(value, indent=2), file=out or sys.stdout)


def print_rows(header: Row, rows: Sequence[Row], out: TextIO | None = None) -> None:
    """Rows under their header at a terminal; bare tab-separated rows otherwise."""
    out = out or sys.stdout
    if not out.isatty():
        for row in rows:
            print("\t".join(row), file=out)
        return
    table = [header, *rows]
    widths = [max(len(row[column]) for row in table) for column in range(len(header))]
    for row in table:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=True)]
        print("  ".join(cells).rstrip(), file=out)


def fail(message: str, status: int = 1) -> int:
    """One line on stderr, and the exit status to return."""
    print(f"error: {message}", file=sys.stderr)
    return status
