"""Running a service's app factory under uvicorn, the same way for both services."""

import argparse
import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

from service_runtime.http_limits import HttpLimits
from service_runtime.http_protocol import LimitedConfig
from service_runtime.metrics import MULTIPROCESS_DIR


def add_serve_command(
    commands: "argparse._SubParsersAction[argparse.ArgumentParser]", *, port: int, what: str
) -> None:
    """The `serve [--host H] [--port P] [--workers N]` subcommand, the same for both services."""
    serve_command = commands.add_parser("serve", help=f"run {what} over HTTP")
    serve_command.add_argument(
        "--host", default="127.0.0.1", help="the address to listen on (default: %(default)s)"
    )
    serve_command.add_argument(
        "--port", type=int, default=port, help="the TCP port (default: %(default)s)"
    )
    serve_command.add_argument(
        "--workers", type=int, default=1, help="worker processes (default: %(default)s)"
    )


@contextlib.contextmanager
def multiprocess_metrics(workers: int) -> Iterator[None]:
    """With several workers, each writes its metrics to files in a directory they share, so
    that a scrape answered by any one of them counts them all (prometheus-client's
    multiprocess mode). Set before the workers start: they read it when they import it."""
    if workers <= 1 or os.environ.get(MULTIPROCESS_DIR):
        yield
        return
    with tempfile.TemporaryDirectory(prefix="metrics-") as directory:
        os.environ[MULTIPROCESS_DIR] = directory
        try:
            yield
        finally:
            del os.environ[MULTIPROCESS_DIR]


def serve(factory: str, *, host: str, port: int, workers: int, limits: HttpLimits) -> None:
    with multiprocess_metrics(workers):
        _run(factory, host=host, port=port, workers=workers, limits=limits)


def _run(factory: str, *, host: str, port: int, workers: int, limits: HttpLimits) -> None:
    """What `uvicorn.run` does, with our Config: it carries the limits to every worker."""
    config = LimitedConfig(
        factory,
        limits=limits,
        factory=True,  # settings are read when the app is built, in each worker
        host=host,
        port=port,
        workers=workers,
        log_config=None,  # our JSON logging, configured by the caller
        # Off: our services log what matters themselves, and an access log would record
        # any token a client puts in a query string.
        access_log=False,
        server_header=False,
        # Off: uvicorn would believe X-Forwarded-For from 127.0.0.1; the issuer decides which
        # proxies to trust itself (ISSUER_TRUSTED_PROXIES, issuer/sign_in/client_address.py).
        proxy_headers=False,
    )
    server = uvicorn.Server(config)
    with contextlib.suppress(KeyboardInterrupt):
        if workers > 1:
            Multiprocess(config, sockets=[config.bind_socket()]).run()
        else:
            server.run()
    if workers == 1 and not server.started:
        sys.exit(STARTUP_FAILURE)
