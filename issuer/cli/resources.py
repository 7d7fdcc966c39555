"""`python -m issuer resources …`: the APIs tokens can be asked for (RFC 8707)."""

import argparse
from typing import Any

from issuer.cli.output import print_json, print_rows
from issuer.clients.resources import Resource, ResourceError
from issuer.config import IssuerSettings
from issuer.wiring import open_database, resource_store


def add_resources_commands(
    commands: "argparse._SubParsersAction[argparse.ArgumentParser]",
) -> None:
    resources = commands.add_parser("resources", help="manage resources (RFC 8707)")
    actions = resources.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="register a resource URI")
    add.add_argument("uri", help="the resource indicator clients send (an absolute URI)")
    add.add_argument("--audience", metavar="NAME", help="the tokens' aud (default: the URI)")
    add.add_argument(
        "--scope",
        action="append",
        dest="scopes",
        metavar="S",
        help="one of ISSUER_SCOPES, repeatable (default: any)",
    )
    add.add_argument("--json", action="store_true", help="print the resource as JSON")
    actions.add_parser("list", help="list resources").add_argument(
        "--json", action="store_true", help="print JSON"
    )
    remove = actions.add_parser("remove", help="remove a resource")
    remove.add_argument("uri", help="the resource's URI")


def _fields(resource: Resource) -> dict[str, Any]:
    scopes = sorted(resource.scopes)
    return {"uri": resource.uri, "audience": resource.audience, "scopes": scopes}


def run_resources(args: argparse.Namespace, settings: IssuerSettings) -> int:
    store = resource_store(open_database(settings))
    if args.action == "add":
        scopes = frozenset(args.scopes or ())
        unknown = scopes - set(settings.scopes)
        if unknown:
            raise ResourceError(f"unknown scope {' '.join(sorted(unknown))} (see ISSUER_SCOPES)")
        resource = store.add(args.uri, args.audience, scopes)
        if args.json:
            print_json(_fields(resource))
        else:
            print(f"added {resource.uri} (audience {resource.audience})")
    elif args.action == "list":
        listed = [_fields(resource) for resource in store.list()]
        if args.json:
            print_json(listed)
        else:
            rows = [(row["uri"], row["audience"], " ".join(row["scopes"]) or "-") for row in listed]
            print_rows(("URI", "AUDIENCE", "SCOPES"), rows)
    elif not store.remove(args.uri):
        raise ResourceError(f"no resource {args.uri}")
    else:
        print(f"removed {args.uri}")
    return 0
