"""Micro-batching of model calls, with a bounded queue for backpressure.

Requests put one item each on a queue; a single consumer takes what has arrived (up to
``max_batch_size``, waiting at most ``max_wait`` for more once the first is in) and scores it
with one model call in a worker thread. Under load, batches grow by themselves while the
previous one is being scored, so throughput rises exactly when it is needed and an idle server
adds at most ``max_wait`` of latency. When ``max_queue`` items are already waiting, new ones are
refused at once with :class:`Overloaded` (the server answers 429 with ``Retry-After``), so
overload shows up as quick refusals instead of timeouts piling up.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["BatchStats", "MicroBatcher", "Overloaded"]

logger = logging.getLogger("furima.serve")

BatchCall = Callable[[Any, Sequence[Any]], Sequence[Any]]
"""``(model, items) -> answers``, one answer per item, in order; runs in a worker thread."""


class Overloaded(Exception):
    """The queue is full; the caller should retry after ``retry_after`` seconds."""

    def __init__(self, depth: int, retry_after: float) -> None:
        self.depth = depth
        self.retry_after = retry_after
        super().__init__(f"{depth} requests are already waiting")


@dataclass
class _Item:
    model: Any
    payload: Any
    future: asyncio.Future[Any]


@dataclass(frozen=True)
class BatchStats:
    """One scored batch, for metrics."""

    size: int
    seconds: float


class MicroBatcher:
    """Collects single requests into batched model calls.

    Args:
        call: Scores a batch for one model (items grouped by the model they were routed to).
        max_batch_size: Most items in one call.
        max_wait: Seconds to wait for more items once one is waiting (0: take what is there).
        max_queue: Items allowed to wait; beyond it :meth:`submit` raises :class:`Overloaded`.
        on_batch: Called after every model call (metrics).
    """

    def __init__(
        self,
        call: BatchCall,
        *,
        max_batch_size: int = 32,
        max_wait: float = 0.002,
        max_queue: int = 256,
        on_batch: Callable[[BatchStats], None] | None = None,
    ) -> None:
        if max_batch_size < 1 or max_queue < 1 or max_wait < 0:
            raise ValueError("max_batch_size and max_queue must be >= 1 and max_wait >= 0.")
        self.call = call
        self.max_batch_size = max_batch_size
        self.max_wait = max_wait
        self.max_queue = max_queue
        self.on_batch = on_batch
        self._queue: asyncio.Queue[_Item] = asyncio.Queue()
        self._consumer: asyncio.Task[None] | None = None
        self._seconds_per_item = 0.01

    @property
    def depth(self) -> int:
        """Items waiting to be scored."""
        return self._queue.qsize()

    def start(self) -> None:
        if self._consumer is None:
            self._consumer = asyncio.get_running_loop().create_task(self._consume())

    async def submit(self, model: Any, payload: Any) -> Any:
        """Score ``payload`` with ``model`` in the next batch; raise :class:`Overloaded` when
        the queue is full, or whatever scoring this item alone raised."""
        if self._queue.qsize() >= self.max_queue:
            raise Overloaded(self._queue.qsize(), self.retry_after())
        self.start()
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Item(model, payload, future))
        return await future

    def retry_after(self) -> float:
        """Seconds the current queue takes to clear, at the recent pace."""
        return max(0.05, self._queue.qsize() * self._seconds_per_item)

    async def drain(self, timeout: float = 30.0) -> None:
        """Finish what is queued (graceful shutdown), then stop the consumer."""
        deadline = time.monotonic() + timeout
        while self._queue.qsize() and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        if self._consumer is not None:
            self._consumer.cancel()
            await asyncio.gather(self._consumer, return_exceptions=True)
            self._consumer = None

    async def _consume(self) -> None:
        while True:
            batch = await self._collect()
            groups: dict[int, list[_Item]] = {}
            for item in batch:
                groups.setdefault(id(item.model), []).append(item)
            for items in groups.values():
                await self._score(items)

    async def _collect(self) -> list[_Item]:
        batch = [await self._queue.get()]
        deadline = time.monotonic() + self.max_wait
        while len(batch) < self.max_batch_size:
            if not self._queue.empty():
                batch.append(self._queue.get_nowait())
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                batch.append(await asyncio.wait_for(self._queue.get(), remaining))
            except TimeoutError:
                break
        return batch

    async def _score(self, items: list[_Item]) -> None:
        live = [item for item in items if not item.future.done()]  # callers that gave up
        if not live:
            return
        started = time.perf_counter()
        try:
            answers = await asyncio.to_thread(self.call, live[0].model, [i.payload for i in live])
        except Exception as error:
            if len(live) > 1:  # one bad item must not fail the others: score them one by one
                for item in live:
                    await self._score([item])
            elif not live[0].future.done():
                live[0].future.set_exception(error)
            return
        seconds = time.perf_counter() - started
        self._seconds_per_item = 0.8 * self._seconds_per_item + 0.2 * seconds / len(live)
        for item, answer in zip(live, answers, strict=True):
            if not item.future.done():
                item.future.set_result(answer)
        if self.on_batch is not None:
            self.on_batch(BatchStats(size=len(live), seconds=seconds))
