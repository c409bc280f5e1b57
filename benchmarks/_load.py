"""An open-loop HTTP/1.1 load generator on raw asyncio streams, cheap on CPU.

Request ``i`` is due at ``t0 + i / rps`` whatever happened to the earlier ones, and its latency
runs from that due time to the last byte of the response, so a slow server cannot slow the
offered load down and hide its own queueing (no coordinated omission). Requests go out over at
most ``connections`` keep-alive connections; when all are busy a due request waits for one, and
the wait counts in its latency.

Every request has a deadline, ``timeout_s`` after its due time. A request still waiting for a
connection at its deadline is never sent; it, and one whose answer comes too late, count as
``"timeout"``. Refused, reset or garbled connections count as ``"connection"``.

:func:`run_load` runs in the calling thread; :func:`run_load_in_process` runs the same in a
spawned process so the generator does not share a GIL with the caller (e.g. an in-process
server).
"""

from __future__ import annotations

import asyncio
import math
import multiprocessing
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

__all__ = ["LoadResult", "run_load", "run_load_in_process"]

_TICK_S = 0.1
_T = TypeVar("_T")


@dataclass(frozen=True)
class LoadResult:
    """What one load run offered and what came back.

    Every due request ends up in exactly one of ``ok`` or ``errors``; ``sent`` counts those
    that reached a connection (not dropped at their deadline while waiting for one). The
    percentiles cover every answered request, 2xx or not; they are NaN when none was answered.
    """

    offered_rps: float
    seconds: float
    sent: int
    ok: int
    errors: int
    status_counts: dict[str, int]
    achieved_rps: float
    p50_ms: float
    p99_ms: float
    max_ms: float

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready copy."""
        return asdict(self)


class _ProtocolError(Exception):
    """The server's bytes are not an HTTP/1.x response we can read."""


@dataclass(frozen=True)
class _Target:
    host: str
    port: int
    path: str


@dataclass
class _Plan:
    """The schedule: which request is next, when it is due and what it sends."""

    payloads: list[bytes]
    rps: float
    total: int
    timeout_s: float
    t0: float = 0.0
    next_index: int = 0

    def take(self) -> tuple[int, float] | None:
        """The next request's index and due time (``perf_counter`` clock), or None when done."""
        index = self.next_index
        if index >= self.total:
            return None
        self.next_index += 1
        return index, self.t0 + index / self.rps


@dataclass
class _Recorder:
    """Counts outcomes and keeps the latencies of answered requests, in seconds."""

    sent: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)

    def answer(self, status: int, latency: float) -> None:
        self.outcomes[str(status)] += 1
        self.latencies.append(latency)

    def error(self, kind: str) -> None:
        self.outcomes[kind] += 1


# ------------------------------------------------------------------------------ HTTP/1.1
def _parse_url(url: str) -> _Target:
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"`url` must be a plain http:// URL with a host, but got {url!r}.")
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return _Target(parts.hostname, parts.port or 80, path)


def _build_payloads(
    target: _Target, bodies: Sequence[bytes], headers: Mapping[str, str] | None
) -> list[bytes]:
    """One ready-to-write POST per body: request line, headers and body in one buffer."""
    base = {"Host": f"{target.host}:{target.port}", "Content-Type": "application/json"}
    merged = {k.lower(): (k, v) for k, v in {**base, **(headers or {})}.items()}
    merged.pop("content-length", None)
    head = "".join(f"{k}: {v}\r\n" for k, v in merged.values())
    return [
        f"POST {target.path} HTTP/1.1\r\n{head}Content-Length: {len(b)}\r\n\r\n".encode("latin-1")
        + b
        for b in bodies
    ]


def _parse_head(head: bytes) -> tuple[int, dict[str, str], bool]:
    """Status, lower-cased header fields, and whether the connection stays open."""
    lines = head.decode("latin-1").split("\r\n")
    version, _, rest = lines[0].partition(" ")
    code = rest[:3]
    if not version.startswith("HTTP/1.") or not code.isdigit():
        raise _ProtocolError(f"Not an HTTP/1.x status line: {lines[0]!r}")
    fields: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            fields[name.strip().lower()] = value.strip()
    connection = fields.get("connection", "").lower()
    keep_alive = connection != "close" and (version != "HTTP/1.0" or connection == "keep-alive")
    return int(code), fields, keep_alive


async def _read_chunked(reader: asyncio.StreamReader) -> None:
    while True:
        size_line = await reader.readuntil(b"\r\n")
        size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
        if size == 0:
            break
        await reader.readexactly(size + 2)
    while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers, then the empty line
        pass


async def _read_body(reader: asyncio.StreamReader, status: int, fields: dict[str, str]) -> bool:
    """Read (and drop) the body; False when it ran to end of stream."""
    if status < 200 or status in (204, 304):
        return True
    if "chunked" in fields.get("transfer-encoding", "").lower():
        await _read_chunked(reader)
        return True
    if "content-length" in fields:
        await reader.readexactly(int(fields["content-length"]))
        return True
    await reader.read()
    return False


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """The final response's status and whether the connection can be reused."""
    while True:
        status, fields, keep_alive = _parse_head(await reader.readuntil(b"\r\n\r\n"))
        delimited = await _read_body(reader, status, fields)
        if status >= 200 or status == 101:
            return status, keep_alive and delimited


class _Connection:
    """One keep-alive connection, opened lazily and reopened after a close."""

    def __init__(self, target: _Target) -> None:
        self._target = target
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None

    async def exchange(self, payload: bytes) -> int:
        """Send one request and read its response; retry once if a reused connection was stale."""
        reused = self._reader is not None and not self._reader.at_eof()
        if not reused:
            self.close()
        try:
            return await self._round_trip(payload)
        except (asyncio.IncompleteReadError, ConnectionResetError, BrokenPipeError) as exc:
            partial = isinstance(exc, asyncio.IncompleteReadError) and bool(exc.partial)
            if not reused or partial:
                raise
            self.close()
            return await self._round_trip(payload)

    async def _round_trip(self, payload: bytes) -> int:
        if self._reader is None or self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(
                self._target.host, self._target.port
            )
        self._writer.write(payload)
        await self._writer.drain()
        status, keep_alive = await _read_response(self._reader)
        if not keep_alive:
            self.close()
        return status


# ------------------------------------------------------------------------------ the loop
async def _send_one(
    conn: _Connection, plan: _Plan, recorder: _Recorder, index: int, due: float
) -> None:
    remaining = due + plan.timeout_s - time.perf_counter()
    if remaining <= 0:
        recorder.error("timeout")
        return
    recorder.sent += 1
    try:
        async with asyncio.timeout(remaining):
            status = await conn.exchange(plan.payloads[index % len(plan.payloads)])
    except TimeoutError:
        conn.close()
        recorder.error("timeout")
    except (OSError, EOFError, asyncio.LimitOverrunError, _ProtocolError, ValueError):
        conn.close()
        recorder.error("connection")
    else:
        recorder.answer(status, time.perf_counter() - due)


async def _worker(target: _Target, plan: _Plan, recorder: _Recorder) -> None:
    """Owns one connection; takes the next due request whenever it is free."""
    conn = _Connection(target)
    try:
        while (job := plan.take()) is not None:
            index, due = job
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            await _send_one(conn, plan, recorder, index, due)
    finally:
        conn.close()


async def _ticker(on_tick: Callable[[float], None], t0: float, seconds: float) -> None:
    """Call ``on_tick`` about every 100 ms while requests are being scheduled, off the loop."""
    while (elapsed := time.perf_counter() - t0) < seconds:
        await asyncio.to_thread(on_tick, elapsed)
        await asyncio.sleep(_TICK_S)


async def _drive(
    target: _Target,
    plan: _Plan,
    connections: int,
    seconds: float,
    on_tick: Callable[[float], None] | None,
) -> tuple[_Recorder, float]:
    recorder = _Recorder()
    plan.t0 = time.perf_counter()
    async with asyncio.TaskGroup() as group:
        for _ in range(min(connections, plan.total)):
            group.create_task(_worker(target, plan, recorder))
        if on_tick is not None:
            group.create_task(_ticker(on_tick, plan.t0, seconds))
    return recorder, time.perf_counter() - plan.t0


# ------------------------------------------------------------------------------ results
def _percentile(ordered: list[float], q: float) -> float:
    """Linear-interpolated percentile of sorted values, in ms; NaN when empty."""
    if not ordered:
        return math.nan
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return 1000 * (ordered[low] + (ordered[high] - ordered[low]) * (rank - low))


def _result(recorder: _Recorder, rps: float, wall: float) -> LoadResult:
    counts = {"timeout": 0, "connection": 0, **recorder.outcomes}
    ok = sum(n for key, n in counts.items() if key.isdigit() and 200 <= int(key) < 300)
    ordered = sorted(recorder.latencies)
    return LoadResult(
        offered_rps=rps,
        seconds=wall,
        sent=recorder.sent,
        ok=ok,
        errors=sum(counts.values()) - ok,
        status_counts=dict(sorted(counts.items())),
        achieved_rps=ok / wall if wall > 0 else 0.0,
        p50_ms=_percentile(ordered, 50),
        p99_ms=_percentile(ordered, 99),
        max_ms=_percentile(ordered, 100),
    )


def _check(bodies: Sequence[bytes], rps: float, seconds: float, connections: int, t: float) -> None:
    if not bodies:
        raise ValueError("`bodies` must hold at least one request body, but it is empty.")
    for name, value in (("rps", rps), ("seconds", seconds), ("timeout_s", t)):
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"`{name}` must be a finite number > 0, but got {value!r}.")
    if connections < 1:
        raise ValueError(f"`connections` must be an int >= 1, but got {connections!r}.")


def _event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop]:
    """uvloop's loop when it is installed (cheaper per request), else asyncio's own."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def _run_coroutine(coroutine: Coroutine[Any, Any, _T]) -> _T:
    with asyncio.Runner(loop_factory=_event_loop_factory()) as runner:
        return runner.run(coroutine)


# ------------------------------------------------------------------------------ public
def run_load(
    url: str,
    bodies: Sequence[bytes],
    *,
    rps: float,
    seconds: float,
    headers: Mapping[str, str] | None = None,
    connections: int = 64,
    timeout_s: float = 5.0,
    on_tick: Callable[[float], None] | None = None,
) -> LoadResult:
    """POST ``bodies`` round-robin to ``url`` at ``rps`` for ``seconds``, open loop.

    Blocks the calling thread (it runs its own event loop). After the last request is due,
    waits for the outstanding ones, each at most until its deadline.

    Args:
        url: Full ``http://host:port/path`` URL.
        bodies: JSON request bodies, sent in turn.
        rps: Offered request rate; ``floor(rps * seconds)`` requests in all (at least one).
        seconds: How long requests keep being scheduled.
        headers: Extra request headers (they override ``Content-Type``).
        connections: Most keep-alive connections open at once.
        timeout_s: Deadline per request, from its due time.
        on_tick: Called with the elapsed seconds about every 100 ms while requests are being
            scheduled, in a worker thread and never concurrently with itself, so a slow
            callback (say, an HTTP call that promotes a model) does not stall the load.
    """
    _check(bodies, rps, seconds, connections, timeout_s)
    target = _parse_url(url)
    total = max(1, math.floor(rps * seconds + 1e-9))
    plan = _Plan(_build_payloads(target, bodies, headers), rps, total, timeout_s)
    recorder, wall = _run_coroutine(_drive(target, plan, connections, seconds, on_tick))
    return _result(recorder, rps, wall)


def run_load_in_process(
    url: str,
    bodies: Sequence[bytes],
    *,
    rps: float,
    seconds: float,
    headers: Mapping[str, str] | None = None,
    connections: int = 64,
    timeout_s: float = 5.0,
) -> LoadResult:
    """:func:`run_load` in a freshly spawned process; blocks until it is done.

    The child's start-up (about a second) is not part of the run's ``seconds``. The caller's
    ``__main__`` must be import-safe (``if __name__ == "__main__":``), as for any spawn.
    """
    _check(bodies, rps, seconds, connections, timeout_s)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        future = pool.submit(
            run_load,
            url,
            list(bodies),
            rps=rps,
            seconds=seconds,
            headers=dict(headers or {}),
            connections=connections,
            timeout_s=timeout_s,
        )
        return future.result()
