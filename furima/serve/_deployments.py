"""What serves each task, and the watcher that keeps it in step with the registry.

A :class:`TaskSlot` holds one immutable :class:`Live` record: the loaded champion, the loaded
challenger and the traffic policy. Requests read the record once and keep using the versions
it names until they are answered; the watcher replaces the whole record in one assignment
after a new version has loaded and passed its smoke check. So a swap never fails a request:
requests in flight finish on the old version, new ones meet the new version, and a version
that fails to load or to answer its smoke requests never takes traffic at all.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from furima.exceptions import FurimaError
from furima.registry._traffic import Route, TrafficPolicy
from furima.serve._tasks import ServingTask

if TYPE_CHECKING:
    from furima.registry import ModelRegistry, VersionRef
    from furima.serve._metrics import ServerMetrics

__all__ = ["Live", "LoadedVersion", "ModelWatcher", "TaskSlot", "load_checked"]

logger = logging.getLogger("furima.serve")

Alias = Literal["champion", "challenger"]


@dataclass(frozen=True, eq=False)
class LoadedVersion:
    """A model version in memory, checked and warm."""

    task: str
    version: int
    model: Any
    path: Path
    loaded_at: float = field(default_factory=time.time)


@dataclass(frozen=True)
class Live:
    """What answers a task's requests right now."""

    champion: LoadedVersion | None = None
    challenger: LoadedVersion | None = None
    traffic: TrafficPolicy = field(default_factory=TrafficPolicy)

    def pick(self, key: str | None) -> tuple[LoadedVersion, Route] | None:
        """The version for a request with sticky ``key``; ``None`` when nothing is loaded."""
        if self.champion is None:
            return None
        if self.challenger is not None and self.traffic.route(key) == "challenger":
            return self.challenger, "challenger"
        return self.champion, "champion"

    def version(self, number: int) -> tuple[LoadedVersion, Route] | None:
        """A loaded version by number (a request pinned with ``X-Model-Version``)."""
        if self.champion is not None and self.champion.version == number:
            return self.champion, "champion"
        if self.challenger is not None and self.challenger.version == number:
            return self.challenger, "challenger"
        return None


class TaskSlot:
    """One served task: its spec, what is live, and what went wrong lately."""

    def __init__(self, task: ServingTask) -> None:
        self.task = task
        self.live = Live()
        self.problems: dict[str, str] = {}
        self.failed: set[tuple[int, Path]] = set()

    def serving(self, starting: str) -> tuple[Any, int]:
        """The live champion's model and version, for GET routes that read it; a 503 that
        says ``starting`` (what is starting up) while no version is loaded."""
        champion = self.live.champion
        if champion is None:
            from furima.serve._errors import RequestProblem

            raise RequestProblem(
                503,
                "not_ready",
                f"{starting} still starting up. Please try again in a few seconds.",
                "; ".join(sorted(self.problems.values())) or None,
                headers={"Retry-After": "2"},
            )
        return champion.model, champion.version

    def describe(self) -> dict[str, Any]:
        live = self.live
        return {
            "task": self.task.name,
            "path": self.task.path,
            "champion": None if live.champion is None else live.champion.version,
            "challenger": None if live.challenger is None else live.challenger.version,
            "traffic": {
                "canary_percent": live.traffic.canary_percent,
                "shadow": live.traffic.shadow,
                "sticky": live.traffic.sticky,
            },
            "problems": sorted(self.problems.values()),
        }


def load_checked(task: ServingTask, ref: VersionRef, *, rounds: int = 2) -> LoadedVersion:
    """Load a version and answer the task's smoke requests (twice: the first warms it up).

    Raises whatever loading raised, or ``ValueError`` when an answer is malformed or fails
    the task's check.
    """
    model = task.load(ref.path)
    requests = task.smoke(model)
    for _ in range(rounds):
        answers = task.predict(model, requests)
        if len(answers) != len(requests):
            raise ValueError(f"{len(answers)} answers to {len(requests)} smoke requests")
        for answer in answers:
            task.response.model_validate(answer)
            if task.check is not None:
                task.check(answer)
    return LoadedVersion(task=task.name, version=ref.version, model=model, path=ref.path)


class ModelWatcher:
    """Polls the registry and swaps new champions and challengers in, checked and warm."""

    def __init__(
        self,
        registry: ModelRegistry,
        slots: dict[str, TaskSlot],
        metrics: ServerMetrics,
        *,
        poll_seconds: float = 2.0,
        before_poll: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.registry = registry
        self.slots = slots
        self.metrics = metrics
        self.poll_seconds = poll_seconds
        self.before_poll = before_poll
        self.polls = 0

    async def run(self) -> None:
        """Refresh forever (the app's lifespan cancels it)."""
        while True:
            await self.refresh()
            await asyncio.sleep(self.poll_seconds)

    async def refresh(self) -> None:
        """One poll: read every task's deployment and bring what serves up to date."""
        if self.before_poll is not None:
            await self.before_poll()
        for name, slot in list(self.slots.items()):
            try:
                deployment = await asyncio.to_thread(self.registry.deployment, name)
            except FurimaError as error:
                self.metrics.registry_errors.inc()
                if "registry" not in slot.problems:
                    logger.error("registry poll for %s failed: %s", name, error)
                slot.problems["registry"] = (
                    f"registry unreachable, serving what was loaded: {error}"
                )
                continue
            slot.problems.pop("registry", None)
            live = slot.live
            champion = await self._updated(slot, "champion", live, deployment.champion)
            challenger = await self._updated(slot, "challenger", live, deployment.challenger)
            slot.live = Live(champion, challenger, deployment.traffic)
            for alias, loaded in (("champion", champion), ("challenger", challenger)):
                self.metrics.model_version.labels(name, alias).set(loaded.version if loaded else 0)
        self.polls += 1

    async def _updated(
        self, slot: TaskSlot, alias: Alias, live: Live, ref: VersionRef | None
    ) -> LoadedVersion | None:
        current = live.champion if alias == "champion" else live.challenger
        if ref is None:  # a champion whose alias was removed keeps serving until replaced
            return current if alias == "champion" else None
        if current is not None and current.version == ref.version:
            return current
        for loaded in (live.champion, live.challenger):  # a promoted challenger: no reload
            if loaded is not None and loaded.version == ref.version:
                return self._swapped(slot, alias, loaded)
        if (ref.version, ref.path) in slot.failed:
            return current
        try:
            loaded = await asyncio.to_thread(load_checked, slot.task, ref)
        except Exception as error:
            slot.failed.add((ref.version, ref.path))
            self.metrics.load_failures.labels(slot.task.name).inc()
            serving = f"serving version {current.version}" if current else "nothing to serve"
            slot.problems[f"v{ref.version}"] = (
                f"{slot.task.name} version {ref.version} ({alias}) was not swapped in, "
                f"{serving}: {type(error).__name__}: {error}"
            )
            logger.error("%s", slot.problems[f"v{ref.version}"])
            return current
        return self._swapped(slot, alias, loaded)

    def _swapped(self, slot: TaskSlot, alias: Alias, loaded: LoadedVersion) -> LoadedVersion:
        slot.problems.pop(f"v{loaded.version}", None)
        self.metrics.swaps.labels(slot.task.name, alias).inc()
        logger.info("%s version %s now serves as %s", slot.task.name, loaded.version, alias)
        return loaded
