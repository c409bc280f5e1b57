"""Prometheus metrics of one server: requests, latency, errors and what version serves.

Each app gets its own collector registry, so several apps in one process (tests, notebooks)
never clash. Under several worker processes (``PROMETHEUS_MULTIPROC_DIR`` set, as
``furima serve --workers N`` does) values live in shared files and ``/metrics`` adds up all
workers.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["HttpMetrics", "ServerMetrics"]

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
_BATCH_BUCKETS = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0)
_SHADOW_BUCKETS = (0.01, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0)


_HELP = {
    "furima_experiment_exposures": (
        "Exposures to a running experiment, by outcome (recorded, failed, dropped)."
    ),
    "furima_requests": "Requests answered, by task, model version, route and HTTP status.",
    "furima_request_seconds": "Time from request to answer, by task and model version.",
    "furima_request_errors": "Requests refused or failed, by task and error type.",
    "furima_model_version": "The model version serving each task and alias (0: none).",
    "furima_model_swaps": "New model versions swapped in, by task and alias.",
    "furima_model_load_failures": "Versions that failed to load or failed their smoke check.",
    "furima_registry_errors": "Registry polls that failed (the served versions stay as they were).",
    "furima_endpoint_requests": (
        "Requests answered, by task, endpoint (a task may have several) and HTTP status."
    ),
    "furima_endpoint_request_seconds": "Time from request to answer, by task and endpoint.",
    "furima_batch_size": "Requests scored per model call, by task and endpoint.",
    "furima_queue_depth": "Requests waiting to be scored, by task and endpoint.",
    "furima_shadow_requests": "Requests also scored by the challenger in shadow, by outcome.",
    "furima_http_requests": "Every HTTP request, by route, method and status (refusals included).",
    "furima_http_request_seconds": "Time to answer every HTTP request, by route.",
    "furima_shadow_difference": (
        "How far shadow answers are from served ones (task-specific, e.g. |log ratio|)."
    ),
}
"""Each metric's help text, by metric name: the one place a metric's meaning is written."""


class _Maker:
    """Makes metrics on one registry, each with its help text from ``_HELP``."""

    def __init__(self, registry: CollectorRegistry, *, multiprocess: bool) -> None:
        self.registry = registry
        # a gauge's value across workers: the largest, from live workers only
        self.live: dict[str, Any] = {"multiprocess_mode": "livemax"} if multiprocess else {}

    def counter(self, name: str, *labels: str) -> Counter:
        from prometheus_client import Counter

        return Counter(name, _HELP[name], labels, registry=self.registry)

    def gauge(self, name: str, *labels: str) -> Gauge:
        from prometheus_client import Gauge

        return Gauge(name, _HELP[name], labels, registry=self.registry, **self.live)

    def histogram(
        self, name: str, *labels: str, buckets: tuple[float, ...] = _LATENCY_BUCKETS
    ) -> Histogram:
        from prometheus_client import Histogram

        return Histogram(name, _HELP[name], labels, buckets=buckets, registry=self.registry)


class ServerMetrics:
    """The server's metrics; ``render()`` is the ``/metrics`` body."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry

        self.multiprocess = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
        self._registry = CollectorRegistry()
        new = _Maker(self._registry, multiprocess=self.multiprocess)
        self.requests = new.counter("furima_requests", "task", "version", "route", "status")
        self.latency = new.histogram("furima_request_seconds", "task", "version")
        self.errors = new.counter("furima_request_errors", "task", "type")
        self.model_version = new.gauge("furima_model_version", "task", "alias")
        self.swaps = new.counter("furima_model_swaps", "task", "alias")
        self.load_failures = new.counter("furima_model_load_failures", "task")
        self.registry_errors = new.counter("furima_registry_errors")
        self.endpoint_requests = new.counter(
            "furima_endpoint_requests", "task", "endpoint", "status"
        )
        self.endpoint_latency = new.histogram("furima_endpoint_request_seconds", "task", "endpoint")
        self.batch_size = new.histogram(
            "furima_batch_size", "task", "endpoint", buckets=_BATCH_BUCKETS
        )
        self.queue_depth = new.gauge("furima_queue_depth", "task", "endpoint")
        self.shadow = new.counter("furima_shadow_requests", "task", "version", "outcome")
        self.http = new.counter("furima_http_requests", "route", "method", "status")
        self.http_latency = new.histogram("furima_http_request_seconds", "route")
        self.shadow_difference = new.histogram(
            "furima_shadow_difference", "task", buckets=_SHADOW_BUCKETS
        )
        self.experiment_exposures = new.counter("furima_experiment_exposures", "outcome")

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
