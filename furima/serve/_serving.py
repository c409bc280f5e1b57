"""The registry-backed half of the server: a slot, a batcher and a route per served task,
and the watcher that keeps them in step with the registry.

Unless the settings name the tasks, the server serves every registered task it has a spec for,
and keeps looking: a task registered after the server started gets its endpoint on the next
poll (and in the OpenAPI document), so a new model needs no new server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from furima.exceptions import RegistryError
from furima.serve._batching import BatchStats, MicroBatcher
from furima.serve._deployments import LoadedVersion, ModelWatcher, TaskSlot
from furima.serve._settings import ServeSettings
from furima.serve._tasks import TaskEndpoint, known_tasks, serving_task

if TYPE_CHECKING:
    from fastapi import FastAPI

    from furima.registry import ModelRegistry
    from furima.serve._metrics import ServerMetrics

__all__ = ["ModelServing"]

logger = logging.getLogger("furima.serve")


class ModelServing:
    """Everything the server serves from the registry."""

    def __init__(
        self, settings: ServeSettings, registry: ModelRegistry, metrics: ServerMetrics
    ) -> None:
        self.settings = settings
        self.registry = registry
        self.metrics = metrics
        self.problems: dict[str, str] = {}
        self.slots: dict[str, TaskSlot] = {}
        self.batchers: dict[str, dict[str, MicroBatcher]] = {}
        """Per task, a micro-batcher per endpoint path."""
        self.body_limits: dict[str, int] = {}
        """The generic JSON endpoints and their body size limits (kept up to date)."""
        self._app: FastAPI | None = None
        self._watching: asyncio.Task[None] | None = None
        if settings.tasks is None:
            registered = self._registered()
        else:
            registered = self._formats_of(settings.tasks)
        for name, form in _servable(registered, strict=settings.tasks is not None).items():
            self._add(name, form)
        self.watcher = ModelWatcher(
            registry,
            self.slots,
            metrics,
            poll_seconds=settings.poll_seconds,
            before_poll=self.discover if settings.tasks is None else None,
        )

    def _registered(self) -> dict[str, str | None]:
        """Registered task names and their saved formats."""
        try:
            formats = self.registry.formats()
        except RegistryError as error:
            if "registry" not in self.problems:
                logger.error("%s", error)
            self.problems["registry"] = str(error)
            return {}
        self.problems.pop("registry", None)
        return formats

    def _formats_of(self, names: Sequence[str]) -> dict[str, str | None]:
        """Named tasks with their saved formats; the built-in ones need no registry to tell."""
        try:
            formats = self.registry.formats()
        except RegistryError:
            if any(name not in known_tasks() for name in names):
                raise  # an AutoML model's spec depends on what is registered
            formats = {}
        return {name: formats.get(name) for name in names}

    async def discover(self) -> None:
        """Serve tasks registered since the last look."""
        registered = await asyncio.to_thread(self._registered)
        for name, form in _servable(registered, strict=False).items():
            if name not in self.slots:
                self._add(name, form)
                logger.info("now serving newly registered task %s", name)

    def _add(self, name: str, form: str | None) -> None:
        task = serving_task(name, form)
        assert task is not None
        slot = self.slots[name] = TaskSlot(task)
        self.batchers[name] = {
            endpoint.path: MicroBatcher(
                self._batch_call(endpoint),
                max_batch_size=self.settings.max_batch_size,
                max_wait=self.settings.max_batch_wait_ms / 1000,
                max_queue=self.settings.max_queue,
                on_batch=self._batch_observer(name, endpoint.path),
            )
            for endpoint in task.all_endpoints()
        }
        if self._app is not None:
            self._route(slot)

    def _batch_call(self, endpoint: TaskEndpoint) -> Any:
        """How the endpoint's micro-batcher calls the model: with the live champions of the
        tasks it uses, read at each batch (so their swaps take effect at once)."""

        def call(loaded: LoadedVersion, requests: Sequence[Any]) -> list[dict[str, Any]]:
            if not endpoint.uses:
                return endpoint.predict(loaded.model, requests)
            companions = {name: self.champion(name) for name in endpoint.uses}
            return endpoint.predict(loaded.model, requests, companions=companions)

        return call

    def _route(self, slot: TaskSlot) -> None:
        from furima.serve._model_routes import task_router

        if slot.task.own_routes or self._app is None:
            return
        name = slot.task.name
        self._app.include_router(task_router(slot, self.batchers[name], self.metrics))
        self._app.openapi_schema = None  # rebuilt with the new endpoint on the next request
        limit = max(self.settings.max_json_bytes, slot.task.json_bytes or 0)
        if slot.task.photo_in_body:  # a base64 photo is a third larger than its bytes
            limit += self.settings.max_upload_bytes * 4 // 3
        self.body_limits.update(dict.fromkeys(self.batchers[name], limit))

    def _batch_observer(self, name: str, path: str) -> Any:
        def observe(stats: BatchStats) -> None:
            self.metrics.batch_size.labels(name, path).observe(stats.size)

        return observe

    def install(self, app: FastAPI) -> None:
        """Add the task endpoints and ``/v1/models``."""
        from furima.serve._model_routes import models_router

        self._app = app
        for slot in self.slots.values():
            self._route(slot)
        app.include_router(models_router(self.slots))

    def champion(self, task: str) -> Any:
        """The model of ``task``'s loaded champion, or ``None``."""
        slot = self.slots.get(task)
        champion = None if slot is None else slot.live.champion
        return None if champion is None else champion.model

    async def start(self) -> None:
        """Start watching the registry in the background (the first load included)."""
        self._watching = asyncio.create_task(self.watcher.run())

    async def stop(self) -> None:
        """Stop watching, then finish every queued request (graceful shutdown)."""
        if self._watching is not None:
            self._watching.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watching
        batchers = [b for endpoints in self.batchers.values() for b in endpoints.values()]
        await asyncio.gather(*(batcher.drain() for batcher in batchers))

    def readiness(self) -> tuple[bool, list[str]]:
        """Ready when every served task has a champion; the problems in words either way."""
        problems = list(self.problems.values())
        if not self.slots:
            return False, problems or [
                "no servable model is registered yet; log one (furima price fit ... --registry)"
            ]
        ready = True
        for name, slot in self.slots.items():
            if slot.live.champion is None:
                ready = False
                problems.append(f"{name}: no version loaded yet")
            problems.extend(f"{name}: {problem}" for problem in sorted(slot.problems.values()))
        return ready, problems

    def observe_queues(self) -> None:
        for name, endpoints in self.batchers.items():
            for path, batcher in endpoints.items():
                self.metrics.queue_depth.labels(name, path).set(batcher.depth)


def _servable(registered: dict[str, str | None], *, strict: bool) -> dict[str, str | None]:
    """The tasks furima has a serving spec for (by name or saved format); with ``strict``, an
    unknown name is an error."""
    unknown = [name for name, form in registered.items() if serving_task(name, form) is None]
    if unknown and strict:
        raise ValueError(
            f"furima cannot serve task(s) {', '.join(map(repr, unknown))}; servable "
            f"tasks: {', '.join(known_tasks())}, and any registered AutoML model."
        )
    return {name: form for name, form in registered.items() if name not in unknown}
