"""Run the server under uvicorn, in one process or several worker processes.

With ``workers > 1`` uvicorn starts each worker from :func:`app_from_environment`, which
rebuilds the settings from ``FURIMA_SERVE_SETTINGS``; Prometheus metrics are then kept in a
shared folder so ``/metrics`` adds up every worker. SIGTERM or Ctrl-C shuts down gracefully:
new connections are refused, requests in flight and queued ones are answered, then it exits.
"""

from __future__ import annotations

import os
import tempfile
from typing import TYPE_CHECKING

from furima.serve._settings import ServeSettings

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = ["SETTINGS_ENV", "app_from_environment", "run_server"]

SETTINGS_ENV = "FURIMA_SERVE_SETTINGS"
GRACE_SECONDS = 30


def app_from_environment() -> FastAPI:
    """The app of one worker process (uvicorn's factory)."""
    from furima.serve._app import create_app

    return create_app(ServeSettings.from_json(os.environ[SETTINGS_ENV]))


def run_server(
    settings: ServeSettings,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    log_level: str = "info",
) -> None:
    """Serve until SIGTERM / Ctrl-C (blocks)."""
    import uvicorn

    if workers < 1:
        raise ValueError(f"`workers` must be at least 1, but got {workers}.")
    if workers == 1:
        from furima.serve._app import create_app

        app = create_app(settings)
        uvicorn.run(
            app, host=host, port=port, log_level=log_level, timeout_graceful_shutdown=GRACE_SECONDS
        )
        return
    os.environ[SETTINGS_ENV] = settings.to_json()
    with tempfile.TemporaryDirectory(prefix="furima-metrics-") as shared:
        os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", shared)
        uvicorn.run(
            "furima.serve._workers:app_from_environment",
            factory=True,
            workers=workers,
            host=host,
            port=port,
            log_level=log_level,
            timeout_graceful_shutdown=GRACE_SECONDS,
        )
