"""`python -m issuer users …`: add, list, remove users, set their passwords, unlock them."""

import argparse
import getpass
import sys
import time
from typing import Any

from issuer.accounts.users import User, UserError, UserStore, require_password_length
from issuer.cli.output import fail, print_json, print_rows
from issuer.cli.sessions import describe_ended
from issuer.config import IssuerSettings
from issuer.sessions.user_sessions import UserSessions
from issuer.wiring import login_throttle, open_database, user_sessions, user_store


def add_users_commands(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
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


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise UserError("stdin is not a terminal: pass --password-stdin and pipe the password")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Repeat password: "):
        raise UserError("the passwords do not match")
    return first


def run_users(args: argparse.Namespace, settings: IssuerSettings) -> int:
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
            return fail(f"unknown scope {' '.join(sorted(unknown))} (see ISSUER_SCOPES)")
        if users.exists(args.name):  # before asking for a password that could not be used
            return fail(f"user {args.name!r} already exists")
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
        return fail(f"no user named {args.name!r}")
    if args.action == "passwd":
        users.set_password(args.name, _new_password(args, settings))
    else:
        users.remove(args.name)
    ended = sessions.end_all(found.user.id, time.time())
    verb = "password changed for" if args.action == "passwd" else "removed"
    print(f"{verb} {args.name}; {describe_ended(ended)}")
    return 0
