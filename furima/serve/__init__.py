"""furima's HTTP server: registered models, the listing assistant and the seller's page.

:func:`create_app` builds a FastAPI app from one :class:`ServeSettings`: an endpoint per task
in the model registry (each described by a :class:`ServingTask`; ``register_task`` adds new
kinds), kept in step with the registry's champion and challenger, plus the listing assistant
and its page. ``furima serve`` / ``furima deploy`` run it under uvicorn, :func:`serve_on_ray`
under Ray Serve. FastAPI is imported only when an app is created, so ``import furima.serve``
stays light.
"""

from __future__ import annotations

from furima.serve._app import create_app
from furima.serve._assistant import ListingAssistantLike
from furima.serve._background import running_server
from furima.serve._ray import RayScaling, serve_on_ray, shutdown_ray
from furima.serve._settings import ServeSettings
from furima.serve._tasks import ServingTask, TaskEndpoint, known_tasks, register_task

__all__ = [
    "ListingAssistantLike",
    "RayScaling",
    "ServeSettings",
    "ServingTask",
    "TaskEndpoint",
    "create_app",
    "known_tasks",
    "register_task",
    "running_server",
    "serve_on_ray",
    "shutdown_ray",
]
