"""`python -m issuer`: serve, and manage users and signing keys in the issuer's database."""

import argparse
import sys
from collections.abc import Sequence

from issuer.accounts.users import (
    PasswordTooShort,
    UserError,
)
from issuer.cli.argv import identifiers_as_values
from issuer.cli.clients import add_clients_commands, run_clients
from issuer.cli.database import DatabaseMissing, describe_database, require_database
from issuer.cli.help import ArgumentParser, VersionAction
from issuer.cli.keys import add_keys_commands, run_keys
from issuer.cli.output import fail
from issuer.cli.resources import add_resources_commands, run_resources
from issuer.cli.sessions import add_sessions_commands, run_sessions
from issuer.cli.users import add_users_commands, run_users
from issuer.clients.registry import ClientError
from issuer.config import IssuerSettings
from issuer.keys.store import KeyDecryptionFailed, KeyNotFound
from issuer.startup_checks import settings_at_start
from issuer.store.schema import SchemaOutdated, current_revision, head_revision, upgrade
from issuer.wiring import database_engine, open_database, unopened_key_store
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

    add_users_commands(commands)
    add_keys_commands(commands)
    add_clients_commands(commands)
    add_resources_commands(commands)
    add_sessions_commands(commands)
    db = commands.add_parser("db", help="the database schema").add_subparsers(
        dest="action", required=True
    )
    db.add_parser("upgrade", help="apply pending migrations (adopting a pre-migration database)")
    db.add_parser("current", help="print the schema revision")
    return parser


def _db(args: argparse.Namespace, settings: IssuerSettings) -> int:
    engine = database_engine(settings)
    head = head_revision()
    if args.action == "upgrade":
        print(f"database at revision {upgrade(engine)} (head)")
        return 0
    current = current_revision(engine)
    print(f"{current or 'none'}{' (head)' if current == head else f' (head is {head})'}")
    return 0


def _serve(args: argparse.Namespace, settings: IssuerSettings) -> int:
    configure_logging(settings.log_level)
    warn_unknown_variables(IssuerSettings, args.env_file)
    _check_database_settings(settings)
    export_env_file(IssuerSettings, args.env_file)
    serve(
        "issuer.app:app_from_env",
        host=args.host,
        port=args.port,
        workers=args.workers,
        limits=settings.http_limits(),
    )
    return 0


def _check_database_settings(settings: IssuerSettings) -> None:
    """What only the database can judge, before any worker starts: ISSUER_DB_AUTO_UPGRADE=false
    on an old schema (SchemaOutdated) and a passphrase that cannot read the stored keys
    (KeyDecryptionFailed), so that they are one line and exit 2 as every bad setting is, not a
    traceback from each worker's start. The schema is made or upgraded here, once, as serve's
    start would."""
    engine = open_database(settings)
    try:
        unopened_key_store(settings, engine).open(upgrade=False)
    finally:
        engine.dispose()


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
        "users": run_users,
        "keys": run_keys,
        "db": _db,
        "clients": run_clients,
        "resources": run_resources,
        "sessions": run_sessions,
    }[args.command]
    try:
        _check_database(args, settings)
        return command(args, settings)
    # A bad setting (the passphrase, auto-upgrade off on an old schema) or argument: exit 2.
    except (DatabaseMissing, PasswordTooShort, KeyDecryptionFailed, SchemaOutdated) as error:
        return fail(str(error), status=2)
    except (UserError, ClientError, KeyNotFound, ValueError) as error:
        return fail(str(error) if not isinstance(error, KeyNotFound) else f"no key {error}")
    except KeyboardInterrupt:
        return 130
