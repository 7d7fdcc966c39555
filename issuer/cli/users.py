"""`python -m issuer users …`: add, list, update and remove users (with their OpenID Connect
claims), set their passwords, unlock them."""

import argparse
import getpass
import sys
import time
from typing import Any

from sqlalchemy import Engine

from issuer.accounts.users import (
    MAX_EMAIL_LENGTH,
    MAX_NAME_LENGTH,
    User,
    UserClaims,
    UserError,
    UserStore,
    require_password_length,
)
from issuer.cli.output import fail, print_json, print_rows
from issuer.cli.sessions import describe_ended
from issuer.config import IssuerSettings
from issuer.sessions.user_sessions import UserSessions
from issuer.wiring import consents, login_throttle, open_database, user_sessions, user_store

HEADER = ("USERNAME", "SUB", "SCOPES", "EMAIL", "VERIFIED", "NAME")
# The name claims' options; `claim_` in their dests keeps --name apart from the username.
NAME_OPTIONS = (
    ("--name", "claim_name", "the full name, as shown"),
    ("--given-name", "claim_given_name", "the given (first) name"),
    ("--family-name", "claim_family_name", "the family name (surname)"),
)


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
    _add_claim_options(add)
    add.add_argument("--json", action="store_true", help="print the user as JSON")
    users.add_parser("list", help="list users").add_argument(
        "--json", action="store_true", help="print JSON"
    )
    change = users.add_parser(
        "update", help="set a user's OpenID Connect claims (those not named stay as they are)"
    )
    change.add_argument("name", help="the username")
    _add_claim_options(change)
    change.add_argument("--json", action="store_true", help="print the user as JSON")
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


def _add_claim_options(parser: argparse.ArgumentParser) -> None:
    """The standard claims (OpenID Connect Core §5.1) that `profile` and `email` release."""
    parser.add_argument(
        "--email",
        metavar="E",
        help=f'the email address: at most {MAX_EMAIL_LENGTH} characters, one @ ("" clears it)',
    )
    parser.add_argument(
        "--email-verified",
        action=argparse.BooleanOptionalAction,
        help="whether the address is known to be the user's (email_verified; default: "
        "unchanged, false for a new user)",
    )
    for option, dest, what in NAME_OPTIONS:
        parser.add_argument(
            option,
            dest=dest,
            metavar="TEXT",
            help=f'{what}: at most {MAX_NAME_LENGTH} characters ("" clears it)',
        )
    parser.add_argument(
        "--locale", metavar="TAG", help='a BCP 47 language tag such as en or en-GB ("" clears it)'
    )


def _claims(args: argparse.Namespace) -> UserClaims:
    return UserClaims(
        name=args.claim_name,
        given_name=args.claim_given_name,
        family_name=args.claim_family_name,
        email=args.email,
        email_verified=args.email_verified,
        locale=args.locale,
    )


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
        claims = _claims(args)
        claims.changes()  # a bad claim is refused before the password is asked for
        user = users.add(args.name, _new_password(args, settings), scopes, claims)
        if args.json:
            print_json(_user_fields(user))
        else:
            print(f"added {user.username} (sub {user.id}, scopes {' '.join(sorted(user.scopes))})")
    elif args.action == "list":
        listed = [_user_fields(user) for user in users.list()]
        if args.json:
            print_json(listed)
        else:
            print_rows(HEADER, [_cells(row) for row in listed])
    elif args.action == "update":
        return _update(args, users)
    else:
        return _change_user(args, settings, users, user_sessions(settings, engine), engine)
    return 0


def _update(args: argparse.Namespace, users: UserStore) -> int:
    claims = _claims(args)
    named = list(claims.changes())
    if not named:
        return fail(
            "nothing to update: name a claim (--email, --email-verified, --name, "
            "--given-name, --family-name, --locale)"
        )
    user = users.update(args.name, claims)
    if user is None:
        return fail(f"no user named {args.name!r}")
    if args.json:
        print_json(_user_fields(user))
    else:
        print(f"updated {user.username} ({', '.join(sorted(named))})")
    return 0


def _user_fields(user: User) -> dict[str, Any]:
    return {
        "username": user.username,
        "sub": user.id,
        "scopes": sorted(user.scopes),
        "name": user.name,
        "given_name": user.given_name,
        "family_name": user.family_name,
        "email": user.email,
        "email_verified": user.email_verified,
        "locale": user.locale,
        "updated_at": user.updated_at,
    }


def _cells(row: dict[str, Any]) -> list[str]:
    """Piped, the first three fields are what they always were; the claims come after."""
    return [
        row["username"],
        row["sub"],
        " ".join(row["scopes"]),
        row["email"] or "-",
        "verified" if row["email_verified"] else "-",
        row["name"] or "-",
    ]


def _new_password(args: argparse.Namespace, settings: IssuerSettings) -> str:
    password = _read_password(args.password_stdin)
    require_password_length(password, settings.min_password_length)
    return password


def _change_user(
    args: argparse.Namespace,
    settings: IssuerSettings,
    users: UserStore,
    sessions: UserSessions,
    engine: Engine,
) -> int:
    """passwd and remove: both end every session of the user (RFC 9700 §4.14.2). The new
    password comes with a new credential generation, which ends the user's sign-ins in every
    process at once; then the rows go. A removed user's consents go too."""
    found = users.find(args.name)
    if found is None:
        return fail(f"no user named {args.name!r}")
    if args.action == "passwd":
        users.set_password(args.name, _new_password(args, settings))
    else:
        users.remove(args.name)
        consents(engine).revoke(found.user.id)
    ended = sessions.end_all(found.user.id, time.time())
    verb = "password changed for" if args.action == "passwd" else "removed"
    print(f"{verb} {args.name}; {describe_ended(ended)}")
    return 0
