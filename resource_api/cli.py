"""`python -m resource_api serve`: run the resource API over HTTP."""

from collections.abc import Sequence

from resource_api.config import ResourceApiSettings
from service_runtime.arguments import OneLineParser, add_commands, add_env_file_option
from service_runtime.logs import configure_logging
from service_runtime.serving import add_serve_command, serve
from service_runtime.settings import InvalidSettings
from service_runtime.settings_loading import export_env_file, load_settings, warn_unknown_variables


def main(argv: Sequence[str] | None = None) -> int:
    parser = OneLineParser(prog="python -m resource_api", description=__doc__)
    add_env_file_option(parser, "RESOURCE_API_ENV_FILE")
    commands = add_commands(parser)
    add_serve_command(commands, port=8001, what="the resource API")
    args = parser.parse_args(argv)
    try:
        settings = load_settings(ResourceApiSettings, args.env_file)
    except InvalidSettings as error:
        return error.report()
    configure_logging(settings.log_level)
    warn_unknown_variables(ResourceApiSettings, args.env_file)
    export_env_file(ResourceApiSettings, args.env_file)
    serve(
        "resource_api.app:app_from_env",
        host=args.host,
        port=args.port,
        workers=args.workers,
        limits=settings.http_limits(),
    )
    return 0
