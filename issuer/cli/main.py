"""`python -m issuer`: serve, and manage users and signing keys in the issuer's database."""

import argparse
import getpass
import math
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from issuer.accounts.users import (
    PasswordTooShort,
    User,
    UserError,
    UserStore,
    require_password_length,
)
from issuer.cli.argv import identifiers_as_values
from issuer.cli.clients import add_clients_commands, run_clients
from issuer.cli.database import DatabaseMissing, describe_database, require_database
from issuer.cli.help import ArgumentParser, VersionAction
from issuer.cli.output import print_json, print_rows
from issuer.cli.resources import add_resources_commands, run_resources
from issuer.cli.sessions import add_sessions_commands, describe_ended, run_sessions
from issuer.clients.registry import ClientError
from issuer.config import IssuerSettings
from issuer.keys import schedule as sched
from issuer.keys.store import KeyDecryptionFailed, KeyNotFound
from issuer.sessions.user_sessions import UserSessions
from issuer.startup_checks import settings_at_start
from issuer.store.schema import SchemaOutdated, current_revision, head_revision, upgrade
from issuer.wiring import (
    database_engine,
    key_lifecycle,
    login_throttle,
    open_database,
    unopened_key_store,
    user_sessions,
    user_store,
)
from service_runtime.arguments import add_commands, add_env_file_option
from service_runtime.logs import LOG_FORMATS, configure_logging
from service_runtime.serving import add_serve_command, serve
from service_runtime.settings import InvalidSettings
from service_runtime.settings_loading import export_env_file, warn_unknown_variables


def _parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(prog="python -m issuer", description=__doc__)
    add_env_file_option(parser, "ISSUER_ENV_FILE")
    parser.add_argument("--version", action=VersionAction, help="print the versions and exit")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="say on stderr which database is used"
    )
    parser.add_argument(
        "--log-format",
        choices=LOG_FORMATS,
        default="auto",
        help="warnings on stderr, one of %(choices)s: auto is text at a terminal and JSON lines "
        "otherwise (serve logs JSON lines)",
    )
    commands = add_commands(parser)

    add_serve_command(commands, port=8000, what="the issuer")

    users = commands.add_parser("users", help="manage users").add_subparsers(
        dest="action", required=True
    )
    add = users.add_parser("add", help="add a user")
    add.add_argument("name", help="the username: 1 to 150 of A-Z a-z 0-9 . _ @ + -")
    add.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from stdin (default: ask twice at the terminal); at least "
        "ISSUER_MIN_PASSWORD_LENGTH characters",
    )
    add.add_argument(
        "--scope",
        action="append",
        dest="scopes",
        metavar="S",
        help="one of ISSUER_SCOPES, repeatable (default: ISSUER_DEFAULT_SCOPES)",
    )
    add.add_argument("--json", action="store_true", help="print the user as JSON")
    users.add_parser("list", help="list users").add_argument(
        "--json", action="store_true", help="print JSON"
    )
    remove = users.add_parser("remove", help="remove a user and end their sessions")
    remove.add_argument("name", help="the username")
    passwd = users.add_parser("passwd", help="set a user's password and end their sessions")
    passwd.add_argument("name", help="the username")
    passwd.add_argument(
        "--password-stdin",
        action="store_true",
        help="read it from stdin (default: ask twice at the terminal)",
    )
    unlock = users.add_parser("unlock", help="clear an account's failed-login counters")
    unlock.add_argument("name", help="the username")

    keys = commands.add_parser("keys", help="manage signing keys").add_subparsers(
        dest="action", required=True
    )
    listing = keys.add_parser("list", help="list signing keys and their states")
    listing.add_argument("--json", action="store_true", help="print JSON")
    rotate = keys.add_parser("rotate", help="publish a new key that activates after publish-ahead")
    rotate.add_argument(
        "--now",
        action="store_true",
        help="activate it as soon as every issuer process publishes it (one key check + 5 s)",
    )
    revoke = keys.add_parser("revoke", help="unpublish and destroy a key at once")
    revoke.add_argument("kid", help="the key's id, as `keys list` shows it")
    revoke.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    keys.add_parser(
        "rewrap",
        help="re-encrypt every private key from ISSUER_KEY_PASSPHRASE_OLD (or _OLD_FILE; unset: "
        "keys are unencrypted) to ISSUER_KEY_PASSPHRASE; tokens keep verifying",
    )
    add_clients_commands(commands)
    add_resources_commands(commands)
    add_sessions_commands(commands)
    db = commands.add_parser("db", help="the database schema").add_subparsers(
        dest="action", required=True
    )
    db.add_parser("upgrade", help="apply pending migrations (adopting a pre-migration database)")
    db.add_parser("current", help="print the schema revision")
    return parser


def _fail(message: str, status: int = 1) -> int:
    print(f"error: {message}", file=sys.stderr)
    return status


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise UserError("stdin is not a terminal: pass --password-stdin and pipe the password")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Repeat password: "):
        raise UserError("the passwords do not match")
    return first


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return "-"
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _in(timestamp: float, now: float) -> str:
    return f" (in {math.ceil(timestamp - now)} s)" if timestamp > now else ""


def _users(args: argparse.Namespace, settings: IssuerSettings) -> int:
    engine = open_database(settings)
    if args.action == "unlock":
        cleared = login_throttle(settings, engine).unlock(args.name)
        print(f"unlocked {args.name} ({cleared} failed attempts cleared)")
        return 0
    users = user_store(settings, engine, clock=time.time)
    if args.action == "add":
        scopes = frozenset(args.scopes or settings.default_scopes)
        unknown = scopes - set(settings.scopes)
        if unknown:
            return _fail(f"unknown scope {' '.join(sorted(unknown))} (see ISSUER_SCOPES)")
        if users.exists(args.name):  # before asking for a password that could not be used
            return _fail(f"user {args.name!r} already exists")
        user = users.add(args.name, _new_password(args, settings), scopes)
        if args.json:
            print_json(_user_fields(user))
        else:
            print(f"added {user.username} (sub {user.id}, scopes {' '.join(sorted(user.scopes))})")
    elif args.action == "list":
        listed = [_user_fields(user) for user in users.list()]
        if args.json:
            print_json(listed)
        else:
            rows = [(row["username"], row["sub"], " ".join(row["scopes"])) for row in listed]
            print_rows(("USERNAME", "SUB", "SCOPES"), rows)
    else:
        return _change_user(args, settings, users, user_sessions(settings, engine))
    return 0


def _user_fields(user: User) -> dict[str, Any]:
    return {"username": user.username, "sub": user.id, "scopes": sorted(user.scopes)}


def _new_password(args: argparse.Namespace, settings: IssuerSettings) -> str:
    password = _read_password(args.password_stdin)
    require_password_length(password, settings.min_password_length)
    return password


def _change_user(
    args: argparse.Namespace, settings: IssuerSettings, users: UserStore, sessions: UserSessions
) -> int:
    """passwd and remove: both end every session of the user (RFC 9700 §4.14.2). The new
    password comes with a new credential generation, which ends the user's sign-ins in every
    process at once; then the rows go."""
    found = users.find(args.name)
    if found is None:
        return _fail(f"no user named {args.name!r}")
    if args.action == "passwd":
        users.set_password(args.name, _new_password(args, settings))
    else:
        users.remove(args.name)
    ended = sessions.end_all(found.user.id, time.time())
    verb = "password changed for" if args.action == "passwd" else "removed"
    print(f"{verb} {args.name}; {describe_ended(ended)}")
    return 0


def _keys(args: argparse.Namespace, settings: IssuerSettings) -> int:
    # Keys only: no user store, whose set-up computes an argon2 hash.
    engine = open_database(settings)
    if args.action == "rewrap":
        return _rewrap(settings, engine)
    # Upgrading stored keys is `serve`'s job, at start, when the new release runs.
    lifecycle = key_lifecycle(settings, engine, upgrade=False)
    now = time.time()
    if args.action in ("rotate", "revoke"):
        lifecycle.check_readable(now)
    if args.action == "list":
        rows = [
            {
                "kid": key.kid,
                "state": str(state),
                "created": _when(key.created_at),
                "activates": _when(key.activates_at),
                "retires": _when(retires),
                "algorithm": key.algorithm,
            }
            for key, state, retires in lifecycle.states(now)
        ]
        if args.json:
            print_json(rows)
        else:
            header = ("KID", "STATE", "CREATED", "ACTIVATES", "RETIRES", "ALGORITHM")
            print_rows(header, [tuple(row.values()) for row in rows])
    elif args.action == "rotate":
        signing = sched.active_key(lifecycle.store.load(), now)
        rotation = lifecycle.rotate(now, immediately=args.now)
        verb = "published" if rotation.created else "already published"
        starts = rotation.key.activates_at
        print(f"{verb} {rotation.key.kid}; it signs from {_when(starts)}{_in(starts, now)}")
        if args.now and starts > now and signing is not None:
            print(
                f"{signing.kid} keeps signing until then: every issuer process publishes the "
                "new key before any signs with it"
            )
        if args.now:
            print(
                "warning: verifiers holding a cached key set fetch the new key on first sight "
                "(an unknown kid), but ones that do not refetch reject its tokens until their "
                "cache expires",
                file=sys.stderr,
            )
    else:
        if not args.yes and not _confirm(f"Revoke {args.kid}? Its tokens stop verifying. [y/N] "):
            return _fail("not confirmed; nothing changed")
        replacement = lifecycle.revoke(args.kid, now)
        if replacement is not None and replacement.activates_at > now:
            starts = replacement.activates_at
            print(
                f"revoked {args.kid}; {replacement.kid} signs from {_when(starts)}"
                f"{_in(starts, now)}; until then /token answers 503 with Retry-After"
            )
        else:
            print(f"revoked {args.kid}; now signing with {replacement.kid if replacement else '-'}")
    return 0


def _rewrap(settings: IssuerSettings, engine: Engine) -> int:
    store = unopened_key_store(settings, engine)
    count = store.rewrap(settings.old_passphrase())
    target = "ISSUER_KEY_PASSPHRASE" if store.encrypted else "no passphrase (UNENCRYPTED)"
    print(f"rewrapped {count} private keys under {target}; restart every issuer process with it")
    return 0


def _db(args: argparse.Namespace, settings: IssuerSettings) -> int:
    engine = database_engine(settings)
    head = head_revision()
    if args.action == "upgrade":
        print(f"database at revision {upgrade(engine)} (head)")
        return 0
    current = current_revision(engine)
    print(f"{current or 'none'}{' (head)' if current == head else f' (head is {head})'}")
    return 0


def _confirm(question: str) -> bool:
    if not sys.stdin.isatty():
        return False
    return input(question).strip().lower() in ("y", "yes")


def _serve(args: argparse.Namespace, settings: IssuerSettings) -> int:
    configure_logging(settings.log_level)
    warn_unknown_variables(IssuerSettings, args.env_file)
    export_env_file(IssuerSettings, args.env_file)
    serve(
        "issuer.app:app_from_env",
        host=args.host,
        port=args.port,
        workers=args.workers,
        limits=settings.http_limits(),
    )
    return 0


def _check_database(args: argparse.Namespace, settings: IssuerSettings) -> None:
    """Every command but `serve` and `db upgrade` works on an existing database only;
    `db current` only needs to reach it (an empty PostgreSQL database is at revision none)."""
    if args.command == "serve" or (args.command, args.action) == ("db", "upgrade"):
        return
    require_database(settings, schema=args.command != "db")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(identifiers_as_values(sys.argv[1:] if argv is None else argv))
    try:
        settings = settings_at_start(args.env_file)
    except InvalidSettings as error:
        return error.report()
    if args.command != "serve":
        configure_logging("WARNING", args.log_format)
        warn_unknown_variables(IssuerSettings, args.env_file)
    if args.verbose:
        print(f"database: {describe_database(settings)}", file=sys.stderr)
    command = {
        "serve": _serve,
        "users": _users,
        "keys": _keys,
        "db": _db,
        "clients": run_clients,
        "resources": run_resources,
        "sessions": run_sessions,
    }[args.command]
    try:
        _check_database(args, settings)
        return command(args, settings)
    except (DatabaseMissing, PasswordTooShort) as error:
        return _fail(str(error), status=2)
    except (
        UserError,
        ClientError,
        KeyNotFound,
        KeyDecryptionFailed,
        SchemaOutdated,
        ValueError,
    ) as error:
        return _fail(str(error) if not isinstance(error, KeyNotFound) else f"no key {error}")
    except KeyboardInterrupt:
        return 130
