"""HTTP abuse against one issuer process pinned to one core (issue 19: HTTP limits).

At once, from 127.0.0.1:
- one client sends a 64 MiB header, in 64 KiB writes, as fast as the server reads;
- 50 slowloris connections send a request line and then one more header line a second,
  never ending their headers;
- 3 clients trickle a 6 MiB header, 1 KiB a millisecond (httptools joins a header's pieces
  as they come: the cost is quadratic in their number);
while a prober asks /healthz 20 times a second from 127.0.0.2 on one kept-alive connection.

Goals: /healthz p99 <= 100 ms; no attacking connection still open HTTP_HEADER_TIMEOUT (10 s)
plus MARGIN after it opened. Every connection's end is recorded: the server closing it (a
408 or 431 first, or not), or, for a request that the server accepted whole, its answer.

The clients run in two processes of their own pinned to the other core, so that the
prober's timings are not delayed by the attackers' event loop. Everything ends at SECONDS.
"""

import asyncio
import multiprocessing
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from benchmarks import servers
from benchmarks.machine import percentile, pin
from service_runtime.http_limits import HttpLimits

SECONDS = 15.0
MARGIN = 2.0
ISSUER_CORE = 0
CLIENT_CORE = 1
SLOWLORIS = 50
TRICKLERS = 3
GOAL_P99_MS = 100
HEADER_TIMEOUT = HttpLimits().header_timeout


class Ended(Exception):
    """The server closed the connection (or answered: `answer` is its status line)."""

    def __init__(self, answer: str) -> None:
        self.answer = answer


async def _answer(reader: asyncio.StreamReader, wait: float) -> str:
    """Waits up to `wait` for the server to speak or close; raises Ended if it did."""
    try:
        data = await asyncio.wait_for(reader.read(4096), wait)
    except TimeoutError:
        return ""
    except ConnectionError:
        raise Ended("closed") from None
    raise Ended(data.split(b"\r\n", 1)[0].decode("latin-1") or "closed")


async def _write(writer: asyncio.StreamWriter, data: bytes) -> None:
    try:
        writer.write(data)
        await writer.drain()
    except ConnectionError:
        raise Ended("closed") from None


async def _big_header(port: int, total: int, piece: int, pause: float = 0.0) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        await _write(writer, b"GET /healthz HTTP/1.1\r\nHost: bench\r\nX-Big: ")
        for _ in range(total // piece):
            await _write(writer, b"a" * piece)
            if reader.at_eof() or writer.is_closing():
                raise Ended("closed")
            if pause:
                await asyncio.sleep(pause)
        await _write(writer, b"\r\n\r\n")
        while True:
            await _answer(reader, 1.0)
    finally:
        writer.close()


async def _slowloris(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        await _write(writer, b"GET /healthz HTTP/1.1\r\nHost: bench\r\n")
        line = 0
        while True:
            await _answer(reader, 1.0)
            line += 1
            await _write(writer, b"X-Slow-%d: 1\r\n" % line)
    finally:
        writer.close()


async def _attack(port: int, seconds: float) -> dict[str, Any]:
    kinds = [("64 MiB header", _big_header(port, 64 << 20, 64 << 10))]
    kinds += [("slowloris", _slowloris(port)) for _ in range(SLOWLORIS)]
    kinds += [
        ("6 MiB trickle", _big_header(port, 6 << 20, 1 << 10, 0.001)) for _ in range(TRICKLERS)
    ]
    started = time.monotonic()
    ends: list[dict[str, Any]] = []

    async def one(kind: str, attack: Any) -> None:
        try:
            await asyncio.wait_for(attack, seconds)
        except Ended as ended:
            ends.append({"kind": kind, "answer": ended.answer, "at": time.monotonic() - started})
        except TimeoutError:
            ends.append({"kind": kind, "answer": "still open", "at": None})

    await asyncio.gather(*(one(kind, attack) for kind, attack in kinds))
    return {"ends": ends}


def attack(port: int, seconds: float, out: "multiprocessing.Queue[Any]") -> None:
    pin(CLIENT_CORE)
    out.put(("attack", asyncio.run(_attack(port, seconds))))


def observe(base: str, seconds: float, out: "multiprocessing.Queue[Any]") -> None:
    """/healthz 20 times a second on one kept-alive connection, from 127.0.0.2."""
    pin(CLIENT_CORE)
    transport = httpx.HTTPTransport(local_address="127.0.0.2")
    latencies: list[float] = []
    with httpx.Client(base_url=base, transport=transport, timeout=30) as prober:
        started = time.monotonic()
        tick = 0
        while time.monotonic() - started < seconds:
            begun = time.monotonic()
            try:
                ok = prober.get("/healthz").status_code == 200
            except httpx.HTTPError:
                ok = False
            latencies.append(time.monotonic() - begun if ok else float("inf"))
            tick += 1
            time.sleep(max(0.0, started + tick * 0.05 - time.monotonic()))
    out.put(("observe", {"latencies": latencies}))


def measure(seconds: float = SECONDS) -> dict[str, Any]:
    """One run: the prober's latencies and every attacking connection's end."""
    context = multiprocessing.get_context("spawn")
    with (
        tempfile.TemporaryDirectory() as data,
        servers.issuer(Path(data), cpus=str(ISSUER_CORE)) as (base, _pid),
    ):
        port = int(base.rsplit(":", 1)[1])
        out: multiprocessing.Queue[Any] = context.Queue()
        workers = [
            context.Process(target=attack, args=(port, seconds, out)),
            context.Process(target=observe, args=(base, seconds, out)),
        ]
        for worker in workers:
            worker.start()
        results = dict(out.get(timeout=seconds + 120) for _ in workers)
        for worker in workers:
            worker.join(timeout=30)
    return {**results["attack"], **results["observe"]}


def run(seconds: float = SECONDS) -> list[tuple[str, bool]]:
    figures = measure(seconds)
    latencies: list[float] = figures["latencies"]
    ends: list[dict[str, Any]] = figures["ends"]
    p99 = percentile(latencies, 0.99) * 1000
    cutoff = HEADER_TIMEOUT + MARGIN
    late = [end for end in ends if end["at"] is None or end["at"] > cutoff]
    answers = Counter(f"{end['kind']}: {end['answer']}" for end in ends)
    print(f"abuse: connection ends {dict(sorted(answers.items()))}")
    slowest = max((end["at"] for end in ends if end["at"] is not None), default=float("nan"))
    print(
        f"abuse: /healthz median {percentile(latencies, 0.5) * 1000:.1f} ms, max "
        f"{max(latencies) * 1000:.1f} ms over {len(latencies)}; last attacker ended at "
        f"{slowest:.1f} s"
    )
    return [
        (
            f"abuse: /healthz p99 {p99:.1f} ms under a 64 MiB header, {SLOWLORIS} slowloris and "
            f"{TRICKLERS} trickled 6 MiB headers (goal <= {GOAL_P99_MS} ms)",
            p99 <= GOAL_P99_MS,
        ),
        (
            f"abuse: {len(late)} of {len(ends)} attacking connections still open "
            f"{cutoff:g} s after they opened (header timeout + {MARGIN:g} s; goal 0)",
            not late,
        ),
    ]


if __name__ == "__main__":
    results = run()
    for line, met in results:
        print(("ok   " if met else "MISS ") + line)
    sys.exit(0 if all(met for _, met in results) else 1)
