"""Training the multi-task networks: batches of whole requests, per-head binary
cross-entropy on the (possibly view-conditional) probabilities, an optional listwise softmax
term per request, and early stopping on a validation score with the best weights kept.

This module imports torch at import time; import it lazily.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from furima._training import TrainLog, train_epochs
from furima.ranking._mtl_networks import MultiTaskNetwork

__all__ = ["TrainData", "TrainSettings", "predict_log_proba", "train"]


@dataclass(frozen=True)
class TrainData:
    """Transformed inputs, labels ``[N, n_events]`` and request boundaries (row ``starts``
    and ``sizes`` per request, rows of a request adjacent)."""

    numeric: np.ndarray
    categorical: np.ndarray
    labels: np.ndarray
    starts: np.ndarray
    sizes: np.ndarray


@dataclass(frozen=True)
class TrainSettings:
    """What :func:`train` needs besides the network and the data."""

    epochs: int
    batch_rows: int
    lr: float
    weight_decay: float
    head_weights: tuple[float, ...]
    listwise_weight: float
    patience: int
    seed: int


def _log1mexp(log_p: torch.Tensor) -> torch.Tensor:
    """``log(1 - exp(log_p))`` for ``log_p < 0``, stable at both ends."""
    log_p = log_p.clamp(max=-1e-7)
    return torch.where(
        log_p > -0.6931, torch.log(-torch.expm1(log_p)), torch.log1p(-torch.exp(log_p))
    )


def _pointwise(log_p: torch.Tensor, labels: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy per head on the log-probabilities, summed with head weights."""
    per_head = -(labels * log_p + (1 - labels) * _log1mexp(log_p)).mean(dim=0)
    return (per_head * weights).sum()


def _listwise(
    log_p: torch.Tensor, labels: torch.Tensor, slots: torch.Tensor, weights: torch.Tensor
) -> torch.Tensor:
    """Softmax cross-entropy per request and head (ListNet with the labels as targets) on
    the heads' log-odds, averaged per head over the requests with a positive and summed with
    the head weights; ``slots`` ``[R, L]`` holds each request's rows (-1: padding)."""
    log_odds = log_p - _log1mexp(log_p)
    padding = slots < 0
    index = slots.clamp(min=0)
    scores = log_odds[index].masked_fill(padding.unsqueeze(-1), float("-inf"))  # [R, L, E]
    targets = labels[index].masked_fill(padding.unsqueeze(-1), 0.0)
    positives = targets.sum(dim=1)  # [R, E]
    log_softmax = torch.log_softmax(scores, dim=1).masked_fill(padding.unsqueeze(-1), 0.0)
    per_request = -(targets * log_softmax).sum(dim=1) / positives.clamp(min=1.0)
    useful = (positives > 0).float()
    per_head = (per_request * useful).sum(dim=0) / useful.sum(dim=0).clamp(min=1.0)
    return (per_head * weights).sum()


def _batches(data: TrainData, batch_rows: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Whole requests in random order, grouped into batches of about ``batch_rows`` rows."""
    order = rng.permutation(len(data.starts))
    cut = np.cumsum(data.sizes[order]) // max(batch_rows, 1)
    for batch in np.split(order, np.flatnonzero(np.diff(cut)) + 1):
        if len(batch):
            yield batch


def _slots(data: TrainData, requests: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows of ``requests`` (concatenated) and their ``[R, L]`` positions in it."""
    sizes = data.sizes[requests]
    rows = np.concatenate(
        [np.arange(s, s + n) for s, n in zip(data.starts[requests], sizes, strict=True)]
    )
    slots = np.full((len(requests), int(sizes.max())), -1, np.int64)
    offsets = np.r_[0, np.cumsum(sizes)[:-1]]
    for r, (offset, size) in enumerate(zip(offsets, sizes, strict=True)):
        slots[r, :size] = np.arange(offset, offset + size)
    return rows, slots


def train(
    net: MultiTaskNetwork,
    data: TrainData,
    settings: TrainSettings,
    validate: Callable[[], float] | None = None,
) -> TrainLog:
    """Adam over batches of whole requests; with ``validate`` (higher is better), stop after
    ``patience`` epochs without improvement and keep the best weights."""
    torch.manual_seed(settings.seed)
    rng = np.random.default_rng(settings.seed)
    optimizer = torch.optim.Adam(
        net.parameters(), lr=settings.lr, weight_decay=settings.weight_decay, fused=True
    )
    weights = torch.tensor(settings.head_weights, dtype=torch.float32)
    tensors = [torch.from_numpy(a) for a in (data.numeric, data.categorical, data.labels)]

    def epoch(_number: int) -> float:
        losses = [
            _step(net, optimizer, tensors, _slots(data, batch), weights, settings)
            for batch in _batches(data, settings.batch_rows, rng)
        ]
        return float(np.mean(losses))

    return train_epochs(
        net, epoch, epochs=settings.epochs, patience=settings.patience, validate=validate
    )


def _step(
    net: MultiTaskNetwork,
    optimizer: Any,
    tensors: list[torch.Tensor],
    batch: tuple[np.ndarray, np.ndarray],
    weights: torch.Tensor,
    settings: TrainSettings,
) -> float:
    rows, slots = (torch.from_numpy(a) for a in batch)
    numeric, categorical, labels = (t[rows] for t in tensors)
    log_p = net(numeric, categorical)
    loss = _pointwise(log_p, labels, weights)
    if settings.listwise_weight > 0:
        loss = loss + settings.listwise_weight * _listwise(log_p, labels, slots, weights)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return float(loss.detach())


def predict_log_proba(
    net: MultiTaskNetwork, numeric: np.ndarray, categorical: np.ndarray
) -> np.ndarray:
    """Log-probabilities ``[N, n_events]`` through torch (used while training)."""
    was_training = net.training
    net.eval()
    with torch.no_grad():
        out = net(torch.from_numpy(numeric), torch.from_numpy(categorical)).numpy()
    net.train(was_training)
    return np.asarray(out, np.float32)
