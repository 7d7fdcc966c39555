"""`python -m issuer resources …`: the APIs tokens can be asked for (RFC 8707)."""

import argparse

from issuer.clients.resources import ResourceError
from issuer.config import IssuerSettings
from issuer.wiring import open_database, resource_store


def add_resources_commands(
    commands: "argparse._SubParsersAction[argparse.ArgumentParser]",
) -> None:
    resources = commands.add_parser("resources", help="manage resources (RFC 8707)")
    actions = resources.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="register a resource URI")
    add.add_argument("uri")
    add.add_argument("--audience", metavar="NAME", help="the tokens' aud (default: the URI)")
    add.add_argument("--scope", action="append", dest="scopes", metavar="S", help="repeatable")
    actions.add_parser("list", help="list resources")
    remove = actions.add_parser("remove", help="remove a resource")
    remove.add_argument("uri")


def run_resources(args: argparse.Namespace, settings: IssuerSettings) -> int:
    store = resource_store(open_database(settings))
    if args.action == "add":
        scopes = frozenset(args.scopes or ())
        unknown = scopes - set(settings.scopes)
        if unknown:
            raise ResourceError(f"unknown scope {' '.join(sorted(unknown))} (see ISSUER_SCOPES)")
        resource = store.add(args.uri, args.audience, scopes)
        print(f"added {resource.uri} (audience {resource.audience})")
    elif args.action == "list":
        for resource in store.list():
            print(
                f"{resource.uri}\t{resource.audience}\t{' '.join(sorted(resource.scopes)) or '-'}"
            )
    elif not store.remove(args.uri):
        raise ResourceError(f"no resource {args.uri}")
    else:
        print(f"removed {args.uri}")
    return 0
