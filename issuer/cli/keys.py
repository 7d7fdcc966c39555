"""`python -m issuer keys …`: list, rotate, revoke signing keys, and rewrap them under a new
passphrase."""

import argparse
import math
import sys
import time
from datetime import UTC, datetime

from sqlalchemy import Engine

from issuer.cli.output import fail, print_json, print_rows
from issuer.config import IssuerSettings
from issuer.keys import schedule as sched
from issuer.wiring import key_lifecycle, open_database, unopened_key_store


def add_keys_commands(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
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


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return "-"
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _in(timestamp: float, now: float) -> str:
    return f" (in {math.ceil(timestamp - now)} s)" if timestamp > now else ""


def run_keys(args: argparse.Namespace, settings: IssuerSettings) -> int:
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
            return fail("not confirmed; nothing changed")
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


def _confirm(question: str) -> bool:
    if not sys.stdin.isatty():
        return False
    return input(question).strip().lower() in ("y", "yes")
