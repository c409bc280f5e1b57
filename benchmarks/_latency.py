"""Latency as a client sees it, shared by the benchmarks' latency cases: a model's calls timed
in-process one at a time, and the same requests sent to the registry server at a steady rate."""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["served_latency", "timed_calls"]


def timed_calls(call: Callable[[Any], object], requests: list[Any]) -> dict[str, float]:
    """p50 and p99 milliseconds of ``call(request)`` over ``requests``, after a warm-up."""
    for request in requests[:5]:
        call(request)
    seconds = []
    for request in requests:
        started = time.perf_counter()
        call(request)
        seconds.append(time.perf_counter() - started)
    ms = np.asarray(seconds) * 1000
    return {"p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99))}


def served_latency(
    model: Any,
    task: str,
    path: str,
    requests: list[dict[str, Any]],
    *,
    rps: float,
    seconds: float,
) -> dict[str, Any]:
    """Save ``model``, register it as ``task``'s champion, serve it with ``furima deploy``'s
    server and send ``requests`` to ``path`` open-loop at ``rps`` for ``seconds``."""
    from _load import run_load_in_process

    from furima.registry import ModelRegistry
    from furima.serve._deploy import deploy

    bodies = [json.dumps(request).encode() for request in requests]
    with tempfile.TemporaryDirectory(prefix=f"furima-{task}-latency-") as scratch:
        saved = model.save(Path(scratch) / task)
        registry = ModelRegistry(Path(scratch) / "registry")
        registry.log_model(saved, task=task, alias="champion")
        with deploy([task], registry=Path(scratch) / "registry") as server:
            url = server.url + path
            run_load_in_process(url, bodies[:20], rps=5, seconds=2.0)  # warm up
            result = run_load_in_process(url, bodies, rps=rps, seconds=seconds)
    return {
        "p50_ms": result.p50_ms,
        "p99_ms": result.p99_ms,
        "offered_rps": rps,
        "achieved_rps": result.achieved_rps,
        "errors": result.errors,
        "sent": result.sent,
    }
