"""The registry-backed half of the server: a slot, a batcher and a route per served task,
and the watcher that keeps them in step with the registry."""

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
from furima.serve._tasks import ServingTask, known_tasks, serving_task

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
        self.registry = registry
        self.metrics = metrics
        self.problems: list[str] = []
        self.slots = {name: TaskSlot(task) for name, task in self._tasks(settings).items()}
        self.batchers = {
            name: MicroBatcher(
                _batch_call(slot.task),
                max_batch_size=settings.max_batch_size,
                max_wait=settings.max_batch_wait_ms / 1000,
                max_queue=settings.max_queue,
                on_batch=self._batch_observer(name),
            )
            for name, slot in self.slots.items()
        }
        self.watcher = ModelWatcher(
            registry, self.slots, metrics, poll_seconds=settings.poll_seconds
        )
        self._watching: asyncio.Task[None] | None = None

    def _tasks(self, settings: ServeSettings) -> dict[str, ServingTask]:
        if settings.tasks is not None:
            names: Sequence[str] = settings.tasks
            unknown = [name for name in names if serving_task(name) is None]
            if unknown:
                raise ValueError(
                    f"furima cannot serve task(s) {', '.join(map(repr, unknown))}; servable "
                    f"tasks: {', '.join(known_tasks())}."
                )
        else:
            try:
                names = self.registry.tasks()
            except RegistryError as error:
                self.problems.append(str(error))
                logger.error("%s", error)
                names = []
            skipped = [name for name in names if serving_task(name) is None]
            if skipped:
                logger.info("not served here (no serving spec): %s", ", ".join(skipped))
        found = {name: serving_task(name) for name in names}
        return {name: task for name, task in found.items() if task is not None}

    def _batch_observer(self, name: str) -> Any:
        def observe(stats: BatchStats) -> None:
            self.metrics.batch_size.labels(name).observe(stats.size)

        return observe

    def install(self, app: FastAPI) -> None:
        """Add the task endpoints and ``/v1/models``."""
        from furima.serve._model_routes import models_router, task_router

        for name, slot in self.slots.items():
            if not slot.task.own_routes:
                app.include_router(task_router(slot, self.batchers[name], self.metrics))
        app.include_router(models_router(self.slots))

    @property
    def paths(self) -> frozenset[str]:
        """The generic JSON endpoints (their bodies are size-limited)."""
        return frozenset(s.task.path for s in self.slots.values() if not s.task.own_routes)

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
        await asyncio.gather(*(batcher.drain() for batcher in self.batchers.values()))

    def readiness(self) -> tuple[bool, list[str]]:
        """Ready when every served task has a champion; the problems in words either way."""
        problems = list(self.problems)
        ready = True
        for name, slot in self.slots.items():
            if slot.live.champion is None:
                ready = False
                problems.append(f"{name}: no version loaded yet")
            problems.extend(f"{name}: {problem}" for problem in sorted(slot.problems.values()))
        return ready, problems

    def observe_queues(self) -> None:
        for name, batcher in self.batchers.items():
            self.metrics.queue_depth.labels(name).set(batcher.depth)


def _batch_call(task: ServingTask) -> Any:
    def call(loaded: LoadedVersion, requests: Sequence[Any]) -> list[dict[str, Any]]:
        return task.predict(loaded.model, requests)

    return call
