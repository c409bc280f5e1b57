"""Progress reporting for long reads and writes: rich when asked for, silent otherwise."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

__all__ = ["Tracker", "tracker"]


class Tracker:
    """Receives progress of one step at a time; this base class shows nothing."""

    def start(self, description: str, total: float | None = None) -> None:
        """Begin a step of ``total`` units (``None``: unknown length)."""

    def update(self, completed: float) -> None:
        """Report ``completed`` units of the current step done."""


class _RichTracker(Tracker):
    def __init__(self, bar: Progress) -> None:
        self._bar = bar
        self._task: TaskID | None = None

    def start(self, description: str, total: float | None = None) -> None:
        self._finish()
        self._task = self._bar.add_task(description, total=total)

    def update(self, completed: float) -> None:
        if self._task is not None:
            self._bar.update(self._task, completed=completed)

    def _finish(self) -> None:
        if self._task is None:
            return
        task = next(task for task in self._bar.tasks if task.id == self._task)
        done = (task.total if task.total is not None else task.completed) or 1
        self._bar.update(self._task, total=done, completed=done)

    def close(self) -> None:
        self._finish()


@contextmanager
def tracker(enabled: bool) -> Iterator[Tracker]:
    """A rich progress bar on stderr when ``enabled``, else a silent tracker."""
    if not enabled:
        yield Tracker()
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True)) as bar:
        rich_tracker = _RichTracker(bar)
        yield rich_tracker
        rich_tracker.close()
