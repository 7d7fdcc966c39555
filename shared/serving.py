"""Running a service's app factory under uvicorn, the same way for both services."""

import argparse

import uvicorn


def add_serve_command(
    commands: "argparse._SubParsersAction[argparse.ArgumentParser]", *, port: int, what: str
) -> None:
    """The `serve [--host H] [--port P] [--workers N]` subcommand, the same for both services."""
    serve_command = commands.add_parser("serve", help=f"run {what} over HTTP")
    serve_command.add_argument("--host", default="127.0.0.1")
    serve_command.add_argument("--port", type=int, default=port)
    serve_command.add_argument("--workers", type=int, default=1)


def serve(factory: str, *, host: str, port: int, workers: int) -> None:
    uvicorn.run(
        factory,
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
        # proxies to trust itself (ISSUER_TRUSTED_PROXIES, issuer/client_address.py).
        proxy_headers=False,
    )
