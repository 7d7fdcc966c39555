"""`python -m issuer sessions …`: list and end logins (refresh-token families)."""

import argparse
import json
import time
from datetime import UTC, datetime

from issuer.config import IssuerSettings
from issuer.users import UserError
from issuer.wiring import open_database, refresh_tokens, user_store


def add_sessions_commands(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    sessions = commands.add_parser("sessions", help="list and revoke sessions")
    actions = sessions.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="live sessions (refresh-token families)")
    listing.add_argument("--user", metavar="NAME")
    listing.add_argument("--json", action="store_true")
    revoke = actions.add_parser("revoke", help="end sessions at once")
    target = revoke.add_mutually_exclusive_group(required=True)
    target.add_argument("--user", metavar="NAME")
    target.add_argument("--family", metavar="ID")


def _when(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def run_sessions(args: argparse.Namespace, settings: IssuerSettings) -> int:
    engine = open_database(settings)
    tokens = refresh_tokens(settings, engine)
    users = user_store(settings, engine, time.time)
    now = time.time()
    user_id = None
    if args.user is not None:
        found = users.find(args.user)
        if found is None:
            raise UserError(f"no user named {args.user!r}")
        user_id = found.user.id
    if args.action == "revoke":
        ended = (
            tokens.revoke_user(user_id, now)
            if user_id is not None
            else tokens.revoke_family(args.family, now)
        )
        print(f"{ended} refresh tokens revoked")
        return 0
    names = {user.id: user.username for user in users.list()}
    rows = [
        {
            "family": family.family_id,
            "user": names.get(family.user_id, family.user_id),
            "client": family.client_id,
            "started": _when(family.started_at),
            "last_refresh": _when(family.last_used_at),
            "expires": _when(family.expires_at),
        }
        for family in tokens.families(now, user_id)
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
    for row in [] if args.json else rows:
        print("\t".join(row.values()))
    return 0
