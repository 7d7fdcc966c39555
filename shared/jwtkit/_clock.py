"""Time as an explicit dependency.

Everything that reads time takes a `Clock`, so that tests pass a fixed or stepping clock
instead of sleeping.
"""

import time
from collections.abc import Callable

Clock = Callable[[], float]
"""Returns the current time as seconds since the Unix epoch."""


def system_clock() -> float:
    return time.time()


class FakeClock:
    """A clock that moves only when told to. For tests and simulations."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
