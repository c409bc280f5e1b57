"""Serving tasks: how the server answers one registered task, whatever its model version.

A :class:`ServingTask` says where a task is served, what one request and one answer look like,
how a saved version is loaded, how a batch of requests is scored and how a fresh version is
checked before it takes traffic. The server builds one endpoint per registered task from these
specs, with the same batching, routing, metrics and errors for all of them; a new kind of model
(safety, recommendations) is served by registering its spec, not by writing routes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

if TYPE_CHECKING:
    from fastapi import APIRouter

__all__ = [
    "ServingTask",
    "TaskEndpoint",
    "known_tasks",
    "listing_overlap",
    "register_format",
    "register_task",
    "serving_task",
]

Predict = Callable[..., list[dict[str, Any]]]
"""``(model, requests) -> answers``: one answer dict per request, in order. An endpoint that
``uses`` other tasks is also given ``companions={task: champion model or None}``."""


@dataclass(frozen=True)
class TaskEndpoint:
    """One POST endpoint of a task; every endpoint of a task is answered by the same loaded
    version (one registration, one swap), each with its own micro-batcher and metrics.

    Attributes:
        path: The endpoint, e.g. ``/v1/similar-items``.
        summary: One line for the API docs.
        request: Pydantic model of one request body.
        response: Pydantic model of one answer (the server adds ``model``).
        predict: Scores a batch of requests with one loaded model, one answer dict each.
        listing_key: The request's listing id, for sticky routing by listing.
        compare: How far a shadow answer is from the served one (logged).
        uses: Other tasks whose live champions the answers draw on (the feed is re-ranked by
            the ``rank`` task's model when one is served); ``predict`` gets them as
            ``companions``, ``None`` for a task with no version loaded.
    """

    path: str
    summary: str
    request: type[BaseModel]
    response: type[BaseModel]
    predict: Predict
    listing_key: Callable[[Any], str | None] | None = None
    compare: Callable[[dict[str, Any], dict[str, Any]], float] | None = None
    uses: tuple[str, ...] = ()


@dataclass(frozen=True)
class ServingTask:
    """How one registered task is served.

    Attributes:
        name: The registered model's name (``price``).
        path: The endpoint, e.g. ``/v1/price:suggest``.
        summary: One line for the API docs.
        request: Pydantic model of one request body.
        response: Pydantic model of one answer (the server adds ``model``).
        load: Loads a saved version's folder.
        predict: Scores a batch of requests with one loaded model, one answer dict each.
        smoke: Requests a fresh version (the loaded model is passed in) must answer before
            it takes traffic.
        check: Raises ``ValueError`` when a smoke answer is unacceptable (not finite, ...).
        listing_key: The request's listing id, for sticky routing by listing.
        compare: A number saying how far a shadow answer is from the served one (logged).
        own_routes: The task's endpoints are written by hand (the listing assistant's
            multipart upload and page); the server loads, checks and swaps its versions but
            adds no generic endpoint for it.
        endpoints: More POST endpoints beside the main one (``path``), answered by the same
            loaded version: ``recommend`` serves ``/v1/recommend`` and ``/v1/similar-items``.
        routes: Builds extra hand-written routes (GET photos, samples) from the task's
            :class:`~furima.serve._deployments.TaskSlot`; they read whatever version is live.
        photo_in_body: Requests carry a base64 photo in their JSON, so their bodies may be as
            large as the server's photo upload limit allows, not only its JSON limit.
        uses: Other tasks whose live champions the main endpoint's answers draw on (see
            :class:`TaskEndpoint`).
        json_bytes: The most bytes of JSON a request may carry when that is more than the
            server's JSON limit (a list of 1,000 candidate ids), so that an oversized list is
            refused by the request model with its own message rather than by size.
    """

    name: str
    path: str
    summary: str
    request: type[BaseModel]
    response: type[BaseModel]
    load: Callable[[Path], Any]
    predict: Predict
    smoke: Callable[[Any], list[Any]]
    check: Callable[[dict[str, Any]], None] | None = None
    listing_key: Callable[[Any], str | None] | None = None
    compare: Callable[[dict[str, Any], dict[str, Any]], float] | None = None
    own_routes: bool = False
    endpoints: tuple[TaskEndpoint, ...] = ()
    routes: Callable[[Any], APIRouter] | None = None
    photo_in_body: bool = False
    uses: tuple[str, ...] = ()
    json_bytes: int | None = None

    def all_endpoints(self) -> tuple[TaskEndpoint, ...]:
        """The main endpoint, then the task's other endpoints."""
        main = TaskEndpoint(
            self.path,
            self.summary,
            self.request,
            self.response,
            self.predict,
            self.listing_key,
            self.compare,
            self.uses,
        )
        return (main, *self.endpoints)


def listing_overlap(field: str) -> Callable[[dict[str, Any], dict[str, Any]], float]:
    """A shadow comparison for answers listing ``field`` (items, results): 1 - the overlap
    (Jaccard) of the two answers' listing ids (0: the same listings)."""

    def compare(served: dict[str, Any], shadow: dict[str, Any]) -> float:
        mine = {item["id"] for item in served[field]}
        theirs = {item["id"] for item in shadow[field]}
        return 1.0 - len(mine & theirs) / max(1, len(mine | theirs))

    return compare


_TASKS: dict[str, ServingTask] = {}
_FORMATS: dict[str, Callable[[str], ServingTask]] = {}


def register_task(task: ServingTask) -> ServingTask:
    """Make ``task`` servable (replacing a spec of the same name); returns it."""
    _TASKS[task.name] = task
    return task


def register_format(form: str, spec_for: Callable[[str], ServingTask]) -> None:
    """Serve every registered task saved in format ``form`` (whatever its name) with the spec
    ``spec_for(name)`` builds; AutoML models, named by their users, are served this way."""
    _FORMATS[form] = spec_for


def serving_task(name: str, form: str | None = None) -> ServingTask | None:
    """The spec for a registered task: by its name, else by its saved format; ``None`` when
    furima cannot serve it."""
    _builtin()
    if name not in _TASKS and form in _FORMATS:
        register_task(_FORMATS[form](name))
    return _TASKS.get(name)


def known_tasks() -> list[str]:
    """Names of the tasks this furima can serve."""
    _builtin()
    return sorted(_TASKS)


def _builtin() -> None:
    if "price" not in _TASKS:
        from furima.serve._task_credit import CREDIT_TASK
        from furima.serve._task_fraud import FRAUD_TASK
        from furima.serve._task_listing import LISTING_TASK
        from furima.serve._task_price import PRICE_TASK
        from furima.serve._task_rank import RANK_TASK
        from furima.serve._task_recommend import RECOMMEND_TASK
        from furima.serve._task_safety import SAFETY_TASK
        from furima.serve._task_search import SEARCH_TASK
        from furima.serve._task_sell_chance import SELL_CHANCE_TASK
        from furima.serve._task_similar import SIMILAR_TASK

        for task in (
            PRICE_TASK,
            SIMILAR_TASK,
            LISTING_TASK,
            RECOMMEND_TASK,
            SAFETY_TASK,
            SEARCH_TASK,
            RANK_TASK,
            FRAUD_TASK,
            CREDIT_TASK,
            SELL_CHANCE_TASK,
        ):
            _TASKS.setdefault(task.name, task)
    if "furima.automl_model" not in _FORMATS:
        from furima.serve._task_automl import automl_task

        _FORMATS["furima.automl_model"] = automl_task
