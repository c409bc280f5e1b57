"""``furima serve`` and ``furima deploy``: the HTTP server under uvicorn (or Ray Serve)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from furima.cli._errors import reported_errors
from furima.cli._models import ArtifactRootOption
from furima.exceptions import ModelFormatError

if TYPE_CHECKING:
    pass

__all__ = ["deploy", "serve"]

TaskOption = Annotated[
    list[str] | None,
    typer.Option("--task", help="Serve only this registered task (repeatable; default: all)."),
]
HostOption = Annotated[str, typer.Option(help="Address to listen on.")]
WorkersOption = Annotated[int, typer.Option(min=1, help="uvicorn worker processes.")]


def serve(
    registry: Annotated[
        str | None,
        typer.Option(
            "--registry",
            envvar="FURIMA_REGISTRY",
            help="Serve the registry's models: folder or database URL.",
        ),
    ] = None,
    artifact_root: ArtifactRootOption = None,
    task: TaskOption = None,
    listing_assistant: Annotated[
        Path | None,
        typer.Option(help="Folder saved by ListingAssistant.save (the seller's page)."),
    ] = None,
    review_queue: Annotated[
        Path | None,
        typer.Option(
            "--review-queue",
            help="A review queue file (furima safety queue fills it): the reviewer's page at "
            "/review.",
        ),
    ] = None,
    experiment_log: Annotated[
        Path | None,
        typer.Option(
            "--experiment-log",
            help="An experiment log file (SQLite, created when missing): a canary sticky by "
            "user is recorded as an experiment; results at /experiments.",
        ),
    ] = None,
    host: HostOption = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on.")] = 8000,
    workers: WorkersOption = 1,
    ray: Annotated[bool, typer.Option(help="Serve with Ray Serve, autoscaling replicas.")] = False,
    max_replicas: Annotated[int, typer.Option(min=1, help="Ray Serve: most replicas.")] = 4,
    poll_seconds: Annotated[float, typer.Option(min=0.05, help="Registry poll interval.")] = 2.0,
    max_batch_size: Annotated[int, typer.Option(min=1, help="Requests per model call.")] = 32,
    max_batch_wait_ms: Annotated[float, typer.Option(min=0, help="Wait for a batch.")] = 2.0,
    max_queue: Annotated[int, typer.Option(min=1, help="Waiting requests before 429.")] = 256,
    max_upload_mb: Annotated[
        float, typer.Option(min=0.001, help="Photos over this many MB get 413.")
    ] = 10.0,
    max_text_chars: Annotated[int, typer.Option(min=1, help="Longer draft words get 422.")] = 2000,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Serve the registry's models (one endpoint per task), the listing assistant and the
    seller's page at http://HOST:PORT/ (the reviewer's at /review with --review-queue, the
    experiments' at /experiments with --experiment-log),
    with /metrics, /healthz and /readyz."""
    from furima.serve import ServeSettings
    from furima.serve._workers import run_server

    with reported_errors():
        if listing_assistant is not None and not listing_assistant.is_dir():
            raise ModelFormatError(
                f"--listing-assistant {str(listing_assistant)!r} is not a folder; pass the "
                "folder written by ListingAssistant.save."
            )
        if review_queue is not None:  # a file that is not a queue is refused before serving
            from furima.safety._queue import ReviewQueue

            ReviewQueue(review_queue).close()
        if experiment_log is not None:  # so is a file that is not an experiment log
            from furima.experiments._exposure import ExposureLog

            ExposureLog(experiment_log).close()
        settings = ServeSettings(
            listing_assistant=listing_assistant,
            registry=registry,
            artifact_root=artifact_root,
            tasks=tuple(task) if task else None,
            poll_seconds=poll_seconds,
            max_batch_size=max_batch_size,
            max_batch_wait_ms=max_batch_wait_ms,
            max_queue=max_queue,
            max_upload_bytes=int(max_upload_mb * 1024 * 1024),
            max_text_chars=max_text_chars,
            review_queue=review_queue,
            experiment_log=experiment_log,
        )
        if ray:
            _serve_on_ray(settings, host, port, max_replicas)
            return
    run_server(settings, host=host, port=port, workers=workers, log_level=log_level)


def _serve_on_ray(settings: object, host: str, port: int, max_replicas: int) -> None:
    from furima.serve import RayScaling, ServeSettings, serve_on_ray, shutdown_ray

    assert isinstance(settings, ServeSettings)
    url = serve_on_ray(
        settings, scaling=RayScaling(max_replicas=max_replicas), host=host, port=port
    )
    print(json.dumps({"url": url, "ray": True, "max_replicas": max_replicas}), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        shutdown_ray()


def deploy(
    task: Annotated[
        list[str] | None, typer.Argument(help="Registered tasks to serve (default: all).")
    ] = None,
    registry: Annotated[
        str, typer.Option("--registry", envvar="FURIMA_REGISTRY", help="Folder or database URL.")
    ] = "furima-registry",
    artifact_root: ArtifactRootOption = None,
    host: HostOption = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port (0: any free one).")] = 8000,
    workers: WorkersOption = 1,
    detach: Annotated[bool, typer.Option(help="Leave the server running and return.")] = False,
) -> None:
    """From registered models to a running server: start it, wait until every champion is
    loaded and answering, print where it is."""
    from furima.serve._deploy import deploy as start

    with reported_errors():
        try:
            deployment = start(
                task or (),
                registry=registry,
                artifact_root=artifact_root,
                host=host,
                port=port,
                workers=workers,
                detach=detach,
            )
        except RuntimeError as error:
            raise ValueError(str(error)) from None
    summary = {
        "url": deployment.url,
        "versions": deployment.versions,
        "seconds_to_ready": round(deployment.seconds_to_ready, 2),
        "pid": deployment.process.pid,
        "log": str(deployment.log),
    }
    print(json.dumps(summary), flush=True)
    if detach:
        return
    try:
        deployment.process.wait()
    except KeyboardInterrupt:
        deployment.stop()
