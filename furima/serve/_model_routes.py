"""The endpoints of each served task, built from its :class:`ServingTask` spec.

A task has one POST endpoint, or several answered by the same loaded version (``recommend``:
a feed and "more like this"), each with its own micro-batcher. Every task endpoint works the
same way: validate the JSON body against the endpoint's request model, pick the version
(traffic policy, sticky key, or a pin in ``X-Model-Version``), queue the request for the next
micro-batch, answer with the model's output plus which version answered, and, under a shadow
policy, score the challenger too without making the caller wait. With an experiment log, a
user's request answered under a canary split notes their exposure (see _experiment_routes).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import math
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from furima.exceptions import FurimaError
from furima.serve._batching import MicroBatcher, Overloaded
from furima.serve._deployments import Live, LoadedVersion, TaskSlot
from furima.serve._errors import RequestProblem
from furima.serve._schemas import ErrorResponse, error_responses
from furima.serve._tasks import TaskEndpoint

if TYPE_CHECKING:
    from furima.serve._metrics import ServerMetrics

__all__ = ["models_router", "task_router"]

logger = logging.getLogger("furima.serve")

VERSION_HEADER = "X-Model-Version"
USER_HEADER = "X-User-Id"

_TASK_ERRORS = error_responses(
    (404, "The pinned model version is not being served."),
    (413, "The request body is over the size limit."),
    (422, "The body is not valid JSON, or fields are missing or of the wrong type."),
    (429, "Too many requests are waiting; retry after the Retry-After seconds."),
    (503, "No version of this task is loaded yet."),
)


def task_router(
    slot: TaskSlot, batchers: Mapping[str, MicroBatcher], metrics: ServerMetrics
) -> APIRouter:
    """The POST endpoints of one task (its main one and any others), each fed by the
    micro-batcher of its path, plus the task's own routes."""
    router = APIRouter(tags=[slot.task.name])
    for endpoint in slot.task.all_endpoints():
        _add_endpoint(router, slot, endpoint, batchers[endpoint.path], metrics)
    if slot.task.routes is not None:
        router.include_router(slot.task.routes(slot))
    return router


def _add_endpoint(
    router: APIRouter,
    slot: TaskSlot,
    spec: TaskEndpoint,
    batcher: MicroBatcher,
    metrics: ServerMetrics,
) -> None:
    task = slot.task
    background: set[asyncio.Task[None]] = set()

    async def endpoint(request: Request, body: Any) -> Response:
        started = time.perf_counter()
        chosen_from = slot.live  # what _choose reads: no await in between
        loaded, route = _choose(slot, request, body, spec.listing_key)
        try:
            answer = await batcher.submit(loaded, body)
        except Overloaded as overloaded:
            metrics.errors.labels(task.name, "overloaded").inc()
            raise _too_many(task.name, overloaded) from None
        except FurimaError as error:
            metrics.errors.labels(task.name, type(error).__name__).inc()
            raise
        live = slot.live
        if route == "champion" and live.traffic.shadow and live.challenger is not None:
            shadow = asyncio.create_task(
                _shadow(slot, spec, batcher, metrics, live.challenger, body, answer)
            )
            background.add(shadow)
            shadow.add_done_callback(background.discard)
        _expose(request, task.name, chosen_from, route)
        seconds = time.perf_counter() - started
        version = str(loaded.version)
        metrics.latency.labels(task.name, version).observe(seconds)
        metrics.requests.labels(task.name, version, route, "200").inc()
        metrics.endpoint_latency.labels(task.name, spec.path).observe(seconds)
        metrics.endpoint_requests.labels(task.name, spec.path, "200").inc()
        payload = {
            **answer,
            "model": {"task": task.name, "version": loaded.version, "route": route},
        }
        return JSONResponse(payload, headers={VERSION_HEADER: version})

    endpoint.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter(
                "request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request
            ),
            inspect.Parameter(
                "body", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=spec.request
            ),
        ],
        return_annotation=Response,
    )
    router.add_api_route(
        spec.path,
        endpoint,
        methods=["POST"],
        summary=spec.summary,
        response_model=None,
        responses={200: {"model": spec.response, "description": "The answer."}, **_TASK_ERRORS},
    )


def _choose(
    slot: TaskSlot,
    request: Request,
    body: Any,
    listing_key: Callable[[Any], str | None] | None,
) -> tuple[LoadedVersion, str]:
    """The version that answers: pinned by header, else by the task's traffic policy."""
    live = slot.live
    pinned = request.headers.get(VERSION_HEADER)
    if pinned is not None:
        found = live.version(int(pinned)) if pinned.strip().isdigit() else None
        if found is None:
            served = slot.describe()
            raise RequestProblem(
                404,
                "unknown_version",
                f"Version {pinned!r} of {slot.task.name!r} is not being served; this server "
                f"serves champion {served['champion']} and challenger {served['challenger']}.",
            )
        return found
    key = None
    if live.traffic.sticky == "user":
        key = request.headers.get(USER_HEADER)
    elif live.traffic.sticky == "listing" and listing_key is not None:
        key = listing_key(body)
    picked = live.pick(key)
    if picked is None:
        raise RequestProblem(
            503,
            "not_ready",
            f"No version of {slot.task.name!r} is loaded yet. Please try again in a few seconds.",
            "; ".join(sorted(slot.problems.values())) or None,
            headers={"Retry-After": "2"},
        )
    return picked


def _expose(request: Request, task: str, live: Live, route: str) -> None:
    """Note an exposure of the requesting user when the server keeps an experiment log and
    the version was chosen by the traffic policy (not pinned by the caller)."""
    recorder = getattr(request.app.state, "exposures", None)
    if recorder is not None and VERSION_HEADER not in request.headers:
        recorder.saw(task, live, request.headers.get(USER_HEADER), route)


def _too_many(task: str, overloaded: Overloaded) -> RequestProblem:
    seconds = max(1, math.ceil(overloaded.retry_after))
    return RequestProblem(
        429,
        "overloaded",
        f"The {task} service is busy ({overloaded.depth} requests are waiting). "
        f"Please retry in {seconds} s.",
        headers={"Retry-After": str(seconds)},
    )


async def _shadow(
    slot: TaskSlot,
    spec: TaskEndpoint,
    batcher: MicroBatcher,
    metrics: ServerMetrics,
    challenger: LoadedVersion,
    body: Any,
    served: dict[str, Any],
) -> None:
    """Score ``body`` with the challenger too; log and measure, never return it."""
    task, version = slot.task, str(challenger.version)
    try:
        answer = await batcher.submit(challenger, body)
    except Overloaded:
        metrics.shadow.labels(task.name, version, "dropped").inc()
        return
    except Exception as error:
        metrics.shadow.labels(task.name, version, "error").inc()
        logger.warning("shadow %s version %s failed: %s", task.name, version, error)
        return
    metrics.shadow.labels(task.name, version, "ok").inc()
    if spec.compare is not None:
        difference = spec.compare(served, answer)
        metrics.shadow_difference.labels(task.name).observe(difference)
        logger.info("shadow %s v%s difference %.4f", task.name, version, difference)


def models_router(slots: dict[str, TaskSlot]) -> APIRouter:
    """``GET /v1/models`` and ``GET /v1/models/{task}``: what serves each task."""
    router = APIRouter(tags=["models"])

    @router.get("/v1/models", summary="The served tasks and their versions")
    async def list_models() -> dict[str, Any]:
        return {"models": [slot.describe() for slot in slots.values()]}

    @router.get(
        "/v1/models/{task}",
        summary="What serves one task",
        responses={404: {"model": ErrorResponse, "description": "No such task here."}},
    )
    async def one_model(task: str) -> dict[str, Any]:
        if task not in slots:
            raise RequestProblem(
                404,
                "unknown_model",
                f"This server does not serve a model called {task!r}; it serves "
                f"{', '.join(sorted(slots)) or 'none'}.",
            )
        return slots[task].describe()

    return router
