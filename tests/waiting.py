"""Waiting in tests for what another thread or task does: never without bound. Each wait
also watches the tasks that could end without the awaited thing happening, and fails at once,
saying so, when one does (a login refused before it reached its check), or after `within`
seconds."""

import asyncio
import time
from collections.abc import Callable
from typing import Any

POLL = 0.001  # seconds: how often a thread's progress is looked at, not time made to pass


async def until(
    condition: Callable[[], bool], *watched: "asyncio.Future[Any]", within: float = 30
) -> None:
    """Returns once `condition()` holds; raises AssertionError if a watched task ends first
    or `within` seconds (real time: threads take it) pass."""
    deadline = time.monotonic() + within
    while not condition():
        for task in watched:
            if task.done():
                raise AssertionError(f"{task!r} ended before the awaited condition held")
        if time.monotonic() > deadline:
            raise AssertionError(f"the awaited condition did not hold within {within} s")
        await asyncio.sleep(POLL)
