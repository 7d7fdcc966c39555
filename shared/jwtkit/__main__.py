"""`python -m jwtkit inspect …`: see shared/jwtkit/_inspect_command.py."""

import argparse
import logging
import sys
from typing import Any

import jwtkit
from jwtkit import _inspect_command as inspect_command


def main(argv: list[str] | None = None, **options: Any) -> int:
    """`options` go to the command (tests pass `out`, `clock`, `transport`)."""
    parser = argparse.ArgumentParser(prog="python -m jwtkit")
    parser.add_argument("--version", action="version", version=f"jwtkit {jwtkit.__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    inspect = commands.add_parser("inspect", help="show why a token is valid or not")
    inspect_command.add_arguments(inspect)
    args = parser.parse_args(argv)
    # The report says what failed; the key cache's warnings would repeat it on stderr.
    logging.basicConfig(level=logging.ERROR)
    return inspect_command.run(args, **options)


if __name__ == "__main__":
    sys.exit(main())
