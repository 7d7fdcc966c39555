"""Command-line arguments that say what is wrong with them: one line naming the argument,
what was given and what would be right, and exit status 2 (argparse's, as for a setting)."""

import argparse
import json
from pathlib import Path
from typing import Any, NoReturn, cast

from service_runtime.setting_parsers import parse_duration


class OneLineParser(argparse.ArgumentParser):
    """argparse, whose errors are one line (its usage is behind --help); the subcommands'
    parsers are of the same class."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def port_number(text: str) -> int:
    """A TCP port, 1 to 65535 (uvicorn would take 99999 and listen on a random port)."""
    try:
        port = int(text)
    except ValueError:
        port = 0
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port: expected 1 to 65535")
    return port


def positive_integer(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return number


def duration(text: str) -> float:
    """Seconds, or a duration with a unit: 90, 30s, 15m, 1h, 7d."""
    seconds = parse_duration(text)
    if not isinstance(seconds, float):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a duration: expected seconds or a number with a unit, "
            "such as 30s, 15m, 1h, 7d"
        )
    return seconds


def jwk_set_file(text: str) -> dict[str, Any]:
    """A file holding a JWK Set (RFC 7517 §5): a JSON object with a `keys` list."""
    path = Path(text)
    expected = 'expected a JSON file holding a JWK Set, {"keys": [...]}'
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        _refuse(f"{text}: no such file ({path.absolute()}); {expected}")
    except (OSError, UnicodeDecodeError) as error:
        _refuse(f"{text}: cannot be read ({getattr(error, 'strerror', None) or error}); {expected}")
    except json.JSONDecodeError as error:
        _refuse(f"{text}: not JSON ({error.msg} at line {error.lineno} column {error.colno})")
    if not isinstance(value, dict) or not isinstance(value.get("keys"), list):
        _refuse(f"{text}: not a JWK Set; {expected}")
    return value


def _refuse(message: str) -> NoReturn:
    raise argparse.ArgumentTypeError(message)


def add_env_file_option(parser: argparse.ArgumentParser, variable: str) -> None:
    """`--env-file PATH`, before the command: settings read like the environment, which wins."""
    parser.add_argument(
        "--env-file",
        type=Path,
        metavar="PATH",
        help=f"read settings from this file of NAME=VALUE lines (default: ${variable}, if set); "
        "the environment wins over the file",
    )


def add_commands(
    parser: OneLineParser, *, dest: str = "command"
) -> "argparse._SubParsersAction[argparse.ArgumentParser]":
    """The parser's required subcommands; their parsers are OneLineParsers too (argparse
    makes them of the parent's class), typed as plain parsers for the functions adding them."""
    commands = parser.add_subparsers(dest=dest, required=True)
    return cast("argparse._SubParsersAction[argparse.ArgumentParser]", commands)
