"""Shared helpers for the small PyTorch training loops (imported only to fit)."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch

__all__ = ["TrainLog", "torch_threads", "train_epochs"]


@dataclass
class TrainLog:
    """Per-epoch record (mean loss, validation score when measured, seconds) and the best
    validated epoch."""

    epochs: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = 0
    best_score: float = float("-inf")


def train_epochs(
    net: torch.nn.Module,
    epoch: Callable[[int], float],
    *,
    epochs: int,
    patience: int,
    validate: Callable[[], float] | None = None,
    valid_key: str = "valid",
) -> TrainLog:
    """Run ``epoch(n)`` (one pass; its mean loss) up to ``epochs`` times. With ``validate``
    (a score, higher is better, run without gradients) stop after ``patience`` epochs without
    improvement and keep the best weights; the network is left in eval mode."""
    log, best_state, stale = TrainLog(), None, 0
    for number in range(1, epochs + 1):
        start = time.perf_counter()
        net.train()
        record: dict[str, float] = {"epoch": number, "loss": epoch(number)}
        if validate is not None:
            net.eval()
            with torch.no_grad():
                record[valid_key] = score = validate()
            if score > log.best_score:
                log.best_score, log.best_epoch, stale = score, number, 0
                best_state = copy.deepcopy(net.state_dict())
            else:
                stale += 1
        record["seconds"] = time.perf_counter() - start
        log.epochs.append(record)
        if validate is not None and stale >= patience:
            break
    if best_state is not None:
        net.load_state_dict(best_state)
    net.eval()
    return log


@contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """Run the block with ``count`` intra-op threads, restoring the previous count after."""
    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
