"""PyTorch training loop of :class:`~furima.listing.AttributeClassifier` (imported only to fit).

One shared hidden layer over [photo, text, has_photo, has_text] feeds a softmax head per
field. Each row is shown with its photo only, its text only, or both (modality dropout), so one
network answers a photo alone, draft words alone, or the two together.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from furima._training import torch_threads

if TYPE_CHECKING:
    from furima.listing._classifier import AttributeClassifier

__all__ = ["train_heads"]

# Share of rows (that have both) shown as photo only / photo and text / text only.
_PHOTO_ONLY, _BOTH = 0.5, 0.35


class _Network(nn.Module):  # type: ignore[misc]
    def __init__(self, cfg: AttributeClassifier, inputs: int, outputs: int) -> None:
        super().__init__()
        self.hidden = nn.Linear(inputs, cfg.hidden)
        self.dropout = nn.Dropout(cfg.dropout)
        self.heads = nn.Linear(cfg.hidden, outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.heads(self.dropout(F.gelu(self.hidden(x), approximate="tanh")))


def train_heads(
    cfg: AttributeClassifier,
    seed: int,
    photos: np.ndarray,
    texts: np.ndarray,
    present: np.ndarray,
    labels: np.ndarray,
    classes: list[int],
    on_epoch: Callable[[float], None],
) -> dict[str, np.ndarray]:
    """Train on rows (photo, text, present ``[n, 2]`` bools, labels ``[n, fields]``, -1 unknown).

    Returns the weights as numpy arrays: ``w1 [inputs, hidden]``, ``b1``, ``w2 [hidden,
    sum(classes)]``, ``b2``.
    """
    with torch_threads(cfg.threads or 1):
        torch.manual_seed(seed)
        rng = np.random.default_rng(seed)
        inputs = photos.shape[1] + texts.shape[1] + 2
        network = _Network(cfg, inputs, sum(classes))
        optimiser = torch.optim.AdamW(
            network.parameters(), lr=cfg.learning_rate, weight_decay=cfg.weight_decay
        )
        batch_size = min(cfg.batch_size, max(32, len(photos) // 8))
        steps = max(1, math.ceil(len(photos) / batch_size))
        schedule = torch.optim.lr_scheduler.OneCycleLR(
            optimiser, max_lr=cfg.learning_rate, total_steps=cfg.epochs * steps
        )
        data = [torch.from_numpy(a) for a in (photos, texts, present, labels)]
        offsets = np.concatenate([[0], np.cumsum(classes)])
        for epoch in range(cfg.epochs):
            network.train()
            for batch in torch.from_numpy(rng.permutation(len(photos))).split(batch_size):
                x = _inputs(cfg, *(d[batch] for d in data[:3]))
                loss = _loss(network(x), data[3][batch], offsets, cfg.label_smoothing)
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                schedule.step()
            on_epoch(epoch + 1)
        return _export(network)


def _inputs(
    cfg: AttributeClassifier, photos: torch.Tensor, texts: torch.Tensor, present: torch.Tensor
) -> torch.Tensor:
    """Rows with a random modality dropped, photo features noised by input dropout."""
    draw = torch.rand(len(photos))
    both = present[:, 0] & present[:, 1]
    use_photo = present[:, 0] & ~(both & (draw >= _PHOTO_ONLY + _BOTH))
    use_text = present[:, 1] & ~(both & (draw < _PHOTO_ONLY))
    photo_part = F.dropout(photos, cfg.input_dropout, training=True) * use_photo[:, None]
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
