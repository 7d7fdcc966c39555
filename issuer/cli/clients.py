"""`python -m issuer clients …`: register, list, show, remove clients and rotate secrets."""

import argparse
import sys
from typing import Any

from issuer.cli.output import print_json, print_rows
from issuer.clients.registry import (
    CONFIDENTIAL_METHODS,
    Client,
    ClientError,
    ClientStore,
    registrable_grants,
)
from issuer.config import IssuerSettings
from issuer.wiring import client_store, open_database
from jwtkit import system_clock
from service_runtime.arguments import duration, jwk_set_file

# What `--grant` and `--auth-method` accept: the registry's own lists ("none": public clients).
GRANT_CHOICES = sorted(registrable_grants())
AUTH_METHOD_CHOICES = ["none", *sorted(CONFIDENTIAL_METHODS)]
CONSENT_CHOICES = ["required", "skip"]
HEADER = ("CLIENT_ID", "TYPE", "AUTH_METHOD", "GRANTS", "SCOPES", "AUDIENCES", "NATIVE")


def add_clients_commands(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    clients = commands.add_parser("clients", help="manage registered clients").add_subparsers(
        dest="action", required=True
    )
    add = clients.add_parser("add", help="register a client; a secret is printed once")
    add.add_argument("client_id", help="1 to 150 of A-Z a-z 0-9 . _ ~ @ + -")
    kind = add.add_mutually_exclusive_group()
    kind.add_argument("--public", action="store_true", help="no secret (browser, mobile app)")
    kind.add_argument("--confidential", action="store_true", help="a service (the default)")
    add.add_argument(
        "--grant",
        action="append",
        dest="grants",
        choices=GRANT_CHOICES,
        metavar="G",
        help="one of %(choices)s; repeatable (default: client_credentials, or password with "
        "--public)",
    )
    add.add_argument(
        "--scope",
        action="append",
        dest="scopes",
        metavar="S",
        help="one of ISSUER_SCOPES, repeatable (default: none)",
    )
    add.add_argument(
        "--audience",
        action="append",
        dest="audiences",
        metavar="A",
        help="an aud its tokens may carry, repeatable; the first is the default one (default: "
        "ISSUER_AUDIENCE)",
    )
    add.add_argument(
        "--auth-method",
        choices=AUTH_METHOD_CHOICES,
        metavar="METHOD",
        help="one of %(choices)s (default: client_secret_basic, or none with --public)",
    )
    add.add_argument(
        "--jwks-file",
        type=jwk_set_file,
        metavar="F",
        help="private_key_jwt: a JSON file of public keys (a JWK Set)",
    )
    add.add_argument(
        "--redirect-uri",
        action="append",
        dest="redirect_uris",
        metavar="URI",
        help="authorization_code: where codes may be sent (repeatable; matched exactly)",
    )
    add.add_argument(
        "--native",
        action="store_true",
        help="a native app (RFC 8252): the port of a loopback IP redirect URI may vary",
    )
    add.add_argument(
        "--consent",
        choices=CONSENT_CHOICES,
        default="skip",
        help="one of %(choices)s: required asks each user before a third-party app gets their "
        "scopes (OpenID Connect); skip is a first-party app",
    )
    add.add_argument(
        "--post-logout-redirect-uri",
        action="append",
        dest="post_logout_redirect_uris",
        metavar="URI",
        help="where /logout may send the browser back (RP-Initiated Logout; repeatable; "
        "matched exactly; https, or http on a loopback host)",
    )
    add.add_argument(
        "--backchannel-logout-uri",
        metavar="URI",
        help="where a logout token is POSTed when a sign-in ends (Back-Channel Logout; https, "
        "or http on a loopback host)",
    )
    add.add_argument(
        "--backchannel-logout-session-required",
        action="store_true",
        help="the client needs the sid in logout tokens (with --backchannel-logout-uri)",
    )
    add.add_argument("--json", action="store_true", help="print the client (and secret) as JSON")
    add.add_argument(
        "--exists-ok",
        action="store_true",
        help="succeed without change when the client exists (for start-up scripts)",
    )
    listing = clients.add_parser("list", help="list clients")
    listing.add_argument("--json", action="store_true", help="print JSON")
    show = clients.add_parser("show", help="show one client")
    show.add_argument("client_id", help="the client's id")
    show.add_argument("--json", action="store_true", help="print JSON")
    remove = clients.add_parser("remove", help="remove a client")
    remove.add_argument("client_id", help="the client's id")
    rotate = clients.add_parser("rotate-secret", help="a new secret, printed once")
    rotate.add_argument("client_id", help="the client's id")
    rotate.add_argument(
        "--keep-old-for",
        type=duration,
        default="0",
        metavar="DURATION",
        help="how long the old secret keeps working, in seconds or as 90s, 15m, 1h, 7d "
        "(default: %(default)s, it stops at once)",
    )
    rotate.add_argument("--json", action="store_true", help="print the new secret as JSON")


def _cells(client: Client) -> list[str]:
    info = client.describe()
    return (
        [info["client_id"], info["type"], info["auth_method"]]
        + [" ".join(info[field]) or "-" for field in ("grants", "scopes", "audiences")]
        + ["native" if client.native else "-"]
    )


def _line(client: Client) -> str:
    return "\t".join(_cells(client))


def _print(value: dict[str, Any] | list[dict[str, Any]]) -> None:
    print_json(value)


def run_clients(args: argparse.Namespace, settings: IssuerSettings) -> int:
    store = client_store(open_database(settings), system_clock)
    if args.action == "add":
        return _add(args, settings, store)
    if args.action == "list":
        clients = store.list()
        if args.json:
            _print([client.describe() for client in clients])
        else:
            print_rows(HEADER, [_cells(client) for client in clients])
        return 0
    if args.action == "rotate-secret":
        secret = store.rotate_secret(args.client_id, args.keep_old_for)
        if args.json:
            _print({"client_id": args.client_id, "client_secret": secret})
        else:
            print(f"new secret for {args.client_id} (shown once): {secret}")
        return 0
    if args.action == "remove":
        if not store.remove(args.client_id):
            raise ClientError(f"no client {args.client_id!r}")
        print(f"removed {args.client_id}")
        return 0
    found = store.get(args.client_id)
    if found is None:
        raise ClientError(f"no client {args.client_id!r}")
    if args.json:
        _print(found.describe())
    else:
        print_rows(HEADER, [_cells(found)])
    return 0


def _add(args: argparse.Namespace, settings: IssuerSettings, store: ClientStore) -> int:
    public = bool(args.public)
    auth_method = args.auth_method or ("none" if public else "client_secret_basic")
    grants = frozenset(args.grants or (["password"] if public else ["client_credentials"]))
    scopes = frozenset(args.scopes or ())
    unknown = scopes - set(settings.scopes)
    if unknown:
        raise ClientError(f"unknown scope {' '.join(sorted(unknown))} (see ISSUER_SCOPES)")
    jwks = args.jwks_file
    existing = store.get(args.client_id) if args.exists_ok else None
    if existing is not None:
        print(f"exists {_line(existing)}")
        return 0
    try:
        client, secret = store.add(
            args.client_id,
            public=public,
            grants=grants,
            scopes=scopes,
            audiences=tuple(args.audiences or ()),
            auth_method=auth_method,
            jwks=jwks,
            redirect_uris=tuple(args.redirect_uris or ()),
            native=args.native,
            consent_required=args.consent == "required",
            post_logout_redirect_uris=tuple(args.post_logout_redirect_uris or ()),
            backchannel_logout_uri=args.backchannel_logout_uri,
            backchannel_logout_session_required=args.backchannel_logout_session_required,
        )
    except ClientError:
        raced = store.get(args.client_id) if args.exists_ok else None
        if raced is None:
            raise
        print(f"exists {_line(raced)}")  # another process added it just now
        return 0
    if args.json:
        _print({**client.describe(), "client_secret": secret})
    else:
        print(f"added {_line(client)}")
        if secret is not None:
            print(f"client secret (shown once, store it now): {secret}")
    if secret is not None:
        print("only a hash of the secret is kept: it cannot be shown again", file=sys.stderr)
    return 0
