"""`python -m issuer sessions …`: list and end logins: refresh-token families (an app's
login) and sign-in sessions (a browser's sign-in at the login page); forget consents."""

import argparse
import time
from datetime import UTC, datetime

from issuer.accounts.users import UserError
from issuer.cli.output import print_json, print_rows
from issuer.config import IssuerSettings
from issuer.sessions.user_sessions import Ended, Live
from issuer.wiring import consents, open_database, user_sessions, user_store

REFRESH, SIGN_IN = "refresh", "sign-in"
# A row's first field is its family's or its sign-in's id, by kind.
HEADER = ("ID", "USER", "CLIENT", "STARTED", "LAST_REFRESH", "EXPIRES", "KIND")


def add_sessions_commands(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    sessions = commands.add_parser("sessions", help="list and revoke sessions")
    actions = sessions.add_subparsers(dest="action", required=True)
    listing = actions.add_parser(
        "list", help="live sessions: refresh-token families and sign-in sessions (last column)"
    )
    listing.add_argument("--user", metavar="NAME", help="only this user's (default: everyone's)")
    listing.add_argument("--json", action="store_true", help="print JSON")
    revoke = actions.add_parser("revoke", help="end sessions at once")
    target = revoke.add_mutually_exclusive_group(required=True)
    target.add_argument("--user", metavar="NAME", help="all of the user's sessions of both kinds")
    target.add_argument("--family", metavar="ID", help="one refresh-token family")
    target.add_argument("--sign-in", metavar="ID", dest="sign_in", help="one sign-in session")
    revoke.add_argument(
        "--consent",
        action="store_true",
        help="with --user: forget what the user allowed third-party clients instead (they ask "
        "again at the next sign-in); sessions are left as they are",
    )
    revoke.add_argument(
        "--client",
        metavar="ID",
        help="with --consent: only this client's (default: every client's)",
    )


def _when(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def describe_ended(ended: Ended) -> str:
    plural = "" if ended.sign_ins == 1 else "s"
    return (
        f"{ended.refresh_tokens} refresh tokens revoked, "
        f"{ended.sign_ins} sign-in session{plural} ended"
    )


def run_sessions(args: argparse.Namespace, settings: IssuerSettings) -> int:
    engine = open_database(settings)
    sessions = user_sessions(settings, engine)
    users = user_store(settings, engine, clock=time.time)
    now = time.time()
    if args.action == "revoke" and (args.consent or args.client is not None):
        if not args.consent:
            raise ValueError("--client goes with --consent")
        if args.user is None:
            raise ValueError("--consent goes with --user NAME")
    user_id = None
    if args.user is not None:
        found = users.find(args.user)
        if found is None:
            raise UserError(f"no user named {args.user!r}")
        user_id = found.user.id
    if args.action == "list":
        names = {user.id: user.username for user in users.list()}
        _print_rows(_rows(sessions.live(now, user_id), names), as_json=args.json)
    elif args.consent and user_id is not None:
        revoked = consents(engine).revoke(user_id, args.client)
        print(f"{revoked} consent{'' if revoked == 1 else 's'} revoked")
    elif user_id is not None:
        # A new credential generation: the user's sign-ins end in every process at once.
        users.new_credential_generation(user_id)
        print(describe_ended(sessions.end_all(user_id, now)))
    elif args.sign_in is not None:
        if not sessions.sign_ins.end_one(args.sign_in):
            raise UserError(f"no sign-in session {args.sign_in!r}")
        print("1 sign-in session ended")
    else:
        print(f"{sessions.refresh_tokens.revoke_family(args.family, now)} refresh tokens revoked")
    return 0


def _rows(live: Live, names: dict[str, str]) -> list[dict[str, str | None]]:
    """Families as before, then sign-ins; every row says its kind. A sign-in belongs to no
    client and is never refreshed: those fields are empty (null, or `-` in text)."""
    families: list[dict[str, str | None]] = [
        {
            "family": family.family_id,
            "user": names.get(family.user_id, family.user_id),
            "client": family.client_id,
            "started": _when(family.started_at),
            "last_refresh": _when(family.last_used_at),
            "expires": _when(family.expires_at),
            "kind": REFRESH,
        }
        for family in live.families
    ]
    sign_ins: list[dict[str, str | None]] = [
        {
            "sign_in": sign_in.session_id,
            "user": names.get(sign_in.user_id, sign_in.user_id),
            "client": None,
            "started": _when(sign_in.started_at),
            "last_refresh": None,
            "expires": _when(sign_in.expires_at),
            "kind": SIGN_IN,
        }
        for sign_in in live.sign_ins
    ]
    return families + sign_ins


def _print_rows(rows: list[dict[str, str | None]], *, as_json: bool) -> None:
    if as_json:
        print_json(rows)
        return
    print_rows(HEADER, [[value or "-" for value in row.values()] for row in rows])
