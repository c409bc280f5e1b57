"""Prometheus metrics of one server: requests, latency, errors and what version serves.

Each app gets its own collector registry, so several apps in one process (tests, notebooks)
never clash. Under several worker processes (``PROMETHEUS_MULTIPROC_DIR`` set, as
``furima serve --workers N`` does) values live in shared files and ``/metrics`` adds up all
workers.
"""

from __future__ import annotations

import os
import time
from typing import Any

__all__ = ["HttpMetrics", "ServerMetrics"]

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)


class ServerMetrics:
    """The server's metrics; ``render()`` is the ``/metrics`` body."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.multiprocess = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
        registry = CollectorRegistry()
        self._registry = registry
        live: dict[str, Any] = {"multiprocess_mode": "livemax"} if self.multiprocess else {}
        self.requests = Counter(
            "furima_requests",
            "Requests answered, by task, model version, route and HTTP status.",
            ["task", "version", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "furima_request_seconds",
            "Time from request to answer, by task and model version.",
            ["task", "version"],
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.errors = Counter(
            "furima_request_errors",
            "Requests refused or failed, by task and error type.",
            ["task", "type"],
            registry=registry,
        )
        self.model_version = Gauge(
            "furima_model_version",
            "The model version serving each task and alias (0: none).",
            ["task", "alias"],
            registry=registry,
            **live,
        )
        self.swaps = Counter(
            "furima_model_swaps",
            "New model versions swapped in, by task and alias.",
            ["task", "alias"],
            registry=registry,
        )
        self.load_failures = Counter(
            "furima_model_load_failures",
            "Versions that failed to load or failed their smoke check.",
            ["task"],
            registry=registry,
        )
        self.registry_errors = Counter(
            "furima_registry_errors",
            "Registry polls that failed (the served versions stay as they were).",
            registry=registry,
        )
        self.endpoint_requests = Counter(
            "furima_endpoint_requests",
            "Requests answered, by task, endpoint (a task may have several) and HTTP status.",
            ["task", "endpoint", "status"],
            registry=registry,
        )
        self.endpoint_latency = Histogram(
            "furima_endpoint_request_seconds",
            "Time from request to answer, by task and endpoint.",
            ["task", "endpoint"],
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.batch_size = Histogram(
            "furima_batch_size",
            "Requests scored per model call, by task and endpoint.",
            ["task", "endpoint"],
            buckets=_BATCH_BUCKETS,
            registry=registry,
        )
        self.queue_depth = Gauge(
            "furima_queue_depth",
            "Requests waiting to be scored, by task and endpoint.",
            ["task", "endpoint"],
            registry=registry,
            **live,
        )
        self.shadow = Counter(
            "furima_shadow_requests",
            "Requests also scored by the challenger in shadow, by outcome.",
            ["task", "version", "outcome"],
            registry=registry,
        )
        self.http = Counter(
            "furima_http_requests",
            "Every HTTP request, by route, method and status (refusals included).",
            ["route", "method", "status"],
            registry=registry,
        )
        self.http_latency = Histogram(
            "furima_http_request_seconds",
            "Time to answer every HTTP request, by route.",
            ["route"],
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.shadow_difference = Histogram(
            "furima_shadow_difference",
            "How far shadow answers are from served ones (task-specific, e.g. |log ratio|).",
            ["task"],
            buckets=(0.01, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0),
            registry=registry,
        )

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type."""
        from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

        registry = self._registry
        if self.multiprocess:  # every worker's values, from the shared files
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST


class HttpMetrics:
    """ASGI middleware counting every request by route template and status, with latency."""

    def __init__(self, app: Any, *, metrics: ServerMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]

        async def sending(message: Any) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            self.metrics.http.labels(route, scope["method"], str(status[0])).inc()
            self.metrics.http_latency.labels(route).observe(time.perf_counter() - started)
