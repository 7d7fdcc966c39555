"""Running a service's app factory under uvicorn, the same way for both services."""

import uvicorn


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
    )
