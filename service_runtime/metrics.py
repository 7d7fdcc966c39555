"""`GET /metrics` in Prometheus text format, the same for both services, right under
`--workers N`: each worker writes its samples to files in PROMETHEUS_MULTIPROC_DIR (set by
`serve` before the workers start) and a scrape, answered by any worker, sums them all.

Keep /metrics off the public listener: the compose proxy does not forward it.
"""

import os
from collections.abc import Callable

from fastapi import FastAPI
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"


def exposition() -> bytes:
    if os.environ.get(MULTIPROCESS_DIR):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def add_metrics_endpoint(app: FastAPI, on_scrape: Callable[[], None] | None = None) -> None:
    """`on_scrape` sets gauges read from state (keys by state) just before the answer."""

    @app.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
    async def metrics() -> Response:
        if on_scrape is not None:
            on_scrape()
        return Response(exposition(), media_type=CONTENT_TYPE_LATEST)
