"""What the serving benchmarks share: a baseline server in a child process, and rate sweeps.

``benchmarks/serve.py`` (prices) and ``benchmarks/recommend_serve.py`` (feeds) both measure
furima's server against a naive one the same way: start the baseline in its own process, wait
until ``/healthz`` answers, offer open-loop load at rising rates (see :mod:`_load`) until the
server falls behind twice in a row, and report the highest rate that passed a check.
"""

from __future__ import annotations

import contextlib
import http.client
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence

from _load import LoadResult, run_load_in_process

__all__ = ["best", "keeps_up", "server_process", "sustained", "sweep"]

_START_TIMEOUT_S = 120.0


@contextlib.contextmanager
def server_process(command: Sequence[str], port: int) -> Iterator[str]:
    """Run ``command`` (a server on ``127.0.0.1:port``) until the block ends; yields its URL.

    Waits until ``GET /healthz`` answers 200, and raises RuntimeError when the process exits
    first or does not answer within two minutes.
    """
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + _START_TIMEOUT_S
        while not _healthy(url):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{' '.join(command)!r} exited, or never answered 200 at {url}")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(30)


def _healthy(url: str) -> bool:
    healthz = f"{url}/healthz"
    with (
        contextlib.suppress(OSError, http.client.HTTPException),
        urllib.request.urlopen(healthz, timeout=5) as response,
    ):
        return bool(response.status == 200)
    return False


def keeps_up(result: LoadResult) -> bool:
    """No errors, and at least 95% of the offered rate answered, whatever the latency."""
    return result.errors == 0 and result.achieved_rps >= 0.95 * result.offered_rps


def sustained(result: LoadResult, p99_target_ms: float) -> bool:
    """Keeps up with p99 under the target."""
    return keeps_up(result) and result.p99_ms < p99_target_ms


def sweep(
    url: str,
    payloads: list[bytes],
    *,
    rates: Sequence[int],
    seconds: float,
    passes: Callable[[LoadResult], bool],
) -> dict[int, LoadResult]:
    """Load at each offered rate upwards (after a 1 s warm-up), until two misses in a row."""
    results: dict[int, LoadResult] = {}
    misses = 0
    for rate in rates:
        run_load_in_process(url, payloads, rps=rate, seconds=1.0)  # warm-up
        results[rate] = run_load_in_process(url, payloads, rps=rate, seconds=seconds)
        misses = 0 if passes(results[rate]) else misses + 1
        if misses == 2:
            break
    return results


def best(
    results: dict[int, LoadResult], passes: Callable[[LoadResult], bool]
) -> tuple[int, LoadResult | None]:
    """The highest offered rate whose result passes, and that result; ``(0, None)`` if none."""
    good = [rate for rate, result in results.items() if passes(result)]
    return (max(good), results[max(good)]) if good else (0, None)
