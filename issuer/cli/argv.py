"""Command lines whose positional values may start with `-`.

A kid is an RFC 7638 thumbprint in base64url, so one key in 64 has a kid starting with `-`;
usernames may start with `-` too. argparse reads such a value as an unknown option and exits 2,
so before parsing, every word of these commands that is not one of their own options is moved
behind `--`, where argparse takes it as a value whatever it starts with. The options of
`python -m issuer` itself (`-v`, `--log-format json`) may come before the command.
"""

from collections.abc import Mapping, Sequence

HELP = frozenset({"-h", "--help"})

# The options before the command, each with whether it takes a value.
TOP_LEVEL_OPTIONS: Mapping[str, bool] = {
    "-h": False,
    "--help": False,
    "--version": False,
    "-v": False,
    "--verbose": False,
    "--log-format": True,
    "--env-file": True,
}

# The claim options of `users add` and `users update` (issuer/cli/users.py).
_CLAIMS: Mapping[str, bool] = {
    "--email": True,
    "--email-verified": False,
    "--no-email-verified": False,
    "--name": True,
    "--given-name": True,
    "--family-name": True,
    "--locale": True,
}

# (command, action) -> that action's options, each with whether it takes a value.
IDENTIFIER_COMMANDS: Mapping[tuple[str, str], Mapping[str, bool]] = {
    ("keys", "revoke"): {"--yes": False},
    ("users", "add"): {"--password-stdin": False, "--scope": True, "--json": False, **_CLAIMS},
    ("users", "update"): {"--json": False, **_CLAIMS},
    ("users", "remove"): {},
    ("users", "unlock"): {},
    ("users", "passwd"): {"--password-stdin": False},
    ("sessions", "revoke"): {
        "--user": True,
        "--family": True,
        "--sign-in": True,
        "--consent": False,
        "--client": True,
    },
    ("clients", "show"): {"--json": False},
    ("clients", "remove"): {},
    ("clients", "rotate-secret"): {"--keep-old-for": True, "--json": False},
}


def _command_start(words: Sequence[str]) -> int:
    """Where the command begins, past the top-level options and their values."""
    index = 0
    while index < len(words) and words[index].startswith("-"):
        takes_value = TOP_LEVEL_OPTIONS.get(words[index], False)
        index += 2 if takes_value else 1
    return index


def identifiers_as_values(argv: Sequence[str]) -> list[str]:
    """`argv` with the values of identifier-taking commands placed after `--`."""
    start = _command_start(argv)
    return [*argv[:start], *_command_as_values(argv[start:])]


def _command_as_values(argv: Sequence[str]) -> list[str]:
    words = list(argv)
    options = IDENTIFIER_COMMANDS.get((words[0], words[1])) if len(words) >= 2 else None
    if options is None or "--" in words:
        return words
    flags: list[str] = []
    values: list[str] = []
    rest = iter(words[2:])
    for word in rest:
        name = word.split("=", 1)[0]
        if word in HELP or name in options:
            flags.append(word)
            if options.get(word, False):  # `--scope S`: its value goes with it
                flags.append(next(rest, ""))
        else:
            values.append(word)
    return [*words[:2], *flags, *(["--", *values] if values else [])]
