"""PyTorch training loop of :class:`~furima.listing.AttributeClassifier` (imported only to fit).

One shared hidden layer over [photo, text, has_photo, has_text] feeds a softmax head per
field. Each row is shown with its photo only, its text only, or both (modality dropout), so one
network answers a photo alone, draft words alone, or the two together.

The members of the ensemble train side by side, one thread each. Every random draw of a member
comes from its own generator, so a member is the same whichever thread trains it, and when.
"""

from __future__ import annotations

import itertools
import math
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from furima._training import torch_threads

if TYPE_CHECKING:
    from furima.listing._classifier import AttributeClassifier

__all__ = ["train_members"]

# Share of rows (that have both) shown as photo only / photo and text / text only.
_PHOTO_ONLY, _BOTH = 0.5, 0.35


class _Network(nn.Module):  # type: ignore[misc]
    def __init__(self, cfg: AttributeClassifier, inputs: int, outputs: int, seed: int) -> None:
        super().__init__()
        self.random = torch.Generator().manual_seed(seed)
        self.hidden = nn.Linear(inputs, cfg.hidden)
        self.heads = nn.Linear(cfg.hidden, outputs)
        for layer in (self.hidden, self.heads):  # nn.Linear's own initialisation, seeded here
            bound = 1 / math.sqrt(layer.in_features)
            nn.init.uniform_(layer.weight, -bound, bound, generator=self.random)
            nn.init.uniform_(layer.bias, -bound, bound, generator=self.random)
        self.dropout = cfg.dropout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden = F.gelu(self.hidden(x), approximate="tanh")
        return self.heads(_dropout(hidden, self.dropout, self.random))


def train_members(
    cfg: AttributeClassifier,
    photos: np.ndarray,
    texts: np.ndarray,
    present: np.ndarray,
    labels: np.ndarray,
    classes: list[int],
    on_epoch: Callable[[int], None],
) -> list[dict[str, np.ndarray]]:
    """Train ``cfg.members`` networks, seeds ``cfg.seed``, ``cfg.seed + 1``, ..., side by side.

    Rows: photo, text, present ``[n, 2]`` bools, labels ``[n, fields]`` (-1: unknown).
    ``on_epoch`` gets the number of epochs done by all members together. Returns each member's
    weights as numpy arrays: ``w1 [inputs, hidden]``, ``b1``, ``w2 [hidden, sum(classes)]``,
    ``b2``.
    """
    epochs = _EpochCount(on_epoch)

    def train(member: int) -> dict[str, np.ndarray]:
        torch.set_num_threads(1)  # this thread's count; torch_threads restores the caller's
        return _train_network(
            cfg, cfg.seed + member, photos, texts, present, labels, classes, epochs.add
        )

    workers = min(cfg.members, cfg.threads or os.cpu_count() or 1)
    with torch_threads(1), ThreadPoolExecutor(workers, thread_name_prefix="furima-member") as pool:
        return list(pool.map(train, range(cfg.members)))


class _EpochCount:
    """Epochs finished by all members together, reported under a lock."""

    def __init__(self, report: Callable[[int], None]) -> None:
        self._report = report
        self._done = 0
        self._lock = threading.Lock()

    def add(self) -> None:
        with self._lock:
            self._done += 1
            self._report(self._done)


def _train_network(
    cfg: AttributeClassifier,
    seed: int,
    photos: np.ndarray,
    texts: np.ndarray,
    present: np.ndarray,
    labels: np.ndarray,
    classes: list[int],
    on_epoch: Callable[[], None],
) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    inputs = photos.shape[1] + texts.shape[1] + 2
    network = _Network(cfg, inputs, sum(classes), seed)
    optimiser = torch.optim.AdamW(
        network.parameters(), lr=cfg.learning_rate, weight_decay=cfg.weight_decay, fused=True
    )
    batch_size = min(cfg.batch_size, max(32, len(photos) // 8))
    steps = max(1, math.ceil(len(photos) / batch_size))
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, max_lr=cfg.learning_rate, total_steps=cfg.epochs * steps
    )
    data = [torch.from_numpy(a) for a in (photos, texts, present, labels)]
    offsets = np.concatenate([[0], np.cumsum(classes)])
    for _ in range(cfg.epochs):
        for batch in torch.from_numpy(rng.permutation(len(photos))).split(batch_size):
            x = _inputs(cfg, network.random, *(d[batch] for d in data[:3]))
            loss = _loss(network(x), data[3][batch], offsets, cfg.label_smoothing)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
        on_epoch()
    return _export(network)


def _dropout(x: torch.Tensor, share: float, random: torch.Generator) -> torch.Tensor:
    """Inverted dropout drawn from ``random`` (``F.dropout`` draws from the global generator)."""
    if share <= 0:
        return x
    keep = torch.rand(x.shape, generator=random) >= share
    return x * keep / (1 - share)


def _inputs(
    cfg: AttributeClassifier,
    random: torch.Generator,
    photos: torch.Tensor,
    texts: torch.Tensor,
    present: torch.Tensor,
) -> torch.Tensor:
    """Rows with a random modality dropped, photo features noised by input dropout."""
    draw = torch.rand(len(photos), generator=random)
    both = present[:, 0] & present[:, 1]
    use_photo = present[:, 0] & ~(both & (draw >= _PHOTO_ONLY + _BOTH))
    use_text = present[:, 1] & ~(both & (draw < _PHOTO_ONLY))
    photo_part = _dropout(photos, cfg.input_dropout, random) * use_photo[:, None]
    text_part = texts * use_text[:, None]
    flags = torch.stack([use_photo, use_text], dim=1).float()
    return torch.cat([photo_part, text_part, flags], dim=1)


def _loss(
    logits: torch.Tensor, labels: torch.Tensor, offsets: np.ndarray, smoothing: float
) -> torch.Tensor:
    total = logits.new_zeros(())
    for field, (start, stop) in enumerate(itertools.pairwise(offsets)):
        known = labels[:, field] >= 0
        if bool(known.any()):
            total = total + F.cross_entropy(
                logits[known, start:stop], labels[known, field], label_smoothing=smoothing
            )
    return total


def _export(network: _Network) -> dict[str, np.ndarray]:
    def array(tensor: torch.Tensor) -> np.ndarray:
        return np.ascontiguousarray(tensor.detach().numpy().astype(np.float32))

    return {
        "w1": array(network.hidden.weight.T),
        "b1": array(network.hidden.bias),
        "w2": array(network.heads.weight.T),
        "b2": array(network.heads.bias),
    }
