"""What `--help` and `--version` say: every option's default and valid values, and the
installed versions."""

import argparse
from importlib import metadata
from typing import Any

import jwtkit
from service_runtime.arguments import OneLineParser


class HelpFormatter(argparse.HelpFormatter):
    """argparse's own, with `(default: …)` after every option whose default says something
    (not None, not a flag's False) and whose help does not say it already."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        help_text = action.help
        if help_text is None or "%(default)" in help_text or "default:" in help_text:
            return help_text
        if not action.option_strings or action.default in (None, False, argparse.SUPPRESS):
            return help_text
        return f"{help_text} (default: %(default)s)"


class ArgumentParser(OneLineParser):
    """Every parser and subcommand parser of `python -m issuer` (add_subparsers makes its
    parsers of the parent's class): errors in one line, help with the HelpFormatter."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)


def issuer_version() -> str:
    """The installed distribution that holds the `issuer` package, and the jwtkit it runs on."""
    names = metadata.packages_distributions().get("issuer", [])
    try:
        installed = f"{names[0]} {metadata.version(names[0])}" if names else None
    except metadata.PackageNotFoundError:
        installed = None
    return f"{installed or 'issuer (not installed)'} (jwtkit {jwtkit.__version__})"


class VersionAction(argparse.Action):
    """`--version`, worked out when asked for: reading the installed distributions takes
    time that no other command should spend."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> None:
        print(issuer_version())
        parser.exit()
