"""Load from wrk, on loopback, bounded in time: requests per second, refusing non-2xx."""

import re
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path


def wrk(
    url: str,
    seconds: int,
    *,
    connections: int = 32,
    headers: Mapping[str, str] | None = None,
    form_body: str | None = None,
    cpus: str | None = None,
) -> float:
    """Requests per second; a POST of `form_body` when given (through a wrk Lua script)."""
    args = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s"]
    for name, value in (headers or {}).items():
        args += ["-H", f"{name}: {value}"]
    pin = ["taskset", "-c", cpus] if cpus is not None else []
    with tempfile.TemporaryDirectory() as scratch:
        if form_body is not None:
            script = Path(scratch) / "post.lua"
            script.write_text(
                'wrk.method = "POST"\n'
                f'wrk.body = "{form_body}"\n'
                'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\n'
            )
            args += ["-s", str(script)]
        output = subprocess.run(
            [*pin, *args, url], capture_output=True, text=True, check=True, timeout=seconds + 60
        ).stdout
    if "Non-2xx" in output:
        raise RuntimeError(f"{url} answered errors under load:\n{output}")
    match = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if match is None:
        raise RuntimeError(f"cannot read wrk output:\n{output}")
    return float(match.group(1))
