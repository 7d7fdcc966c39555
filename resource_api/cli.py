"""`python -m resource_api serve`: run the resource API over HTTP."""

import argparse
import sys
from collections.abc import Sequence

from pydantic import ValidationError

from resource_api.config import ResourceApiSettings
from service_runtime.logs import configure_logging
from service_runtime.serving import add_serve_command, serve
from service_runtime.settings import describe_settings_error


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m resource_api", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    add_serve_command(commands, port=8001, what="the resource API")
    args = parser.parse_args(argv)
    try:
        settings = ResourceApiSettings()
    except ValidationError as error:
        print(describe_settings_error(error, "RESOURCE_API_"), file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    serve(
        "resource_api.app:app_from_env",
        host=args.host,
        port=args.port,
        workers=args.workers,
        limits=settings.http_limits(),
    )
    return 0
