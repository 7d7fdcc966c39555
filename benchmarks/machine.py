"""What machine a figure came from, printed beside it."""

import contextlib
import os
import platform
from pathlib import Path


def describe() -> str:
    model = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}"


def pin(core: int) -> None:
    """Runs this process on one core, so that a server and its load do not share one."""
    with contextlib.suppress(OSError):  # a machine with one core: share it
        os.sched_setaffinity(0, {core})


def percentile(values: list[float], fraction: float) -> float:
    """The value below which `fraction` of `values` fall (nan for none)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]
