"""PyTorch training loop of :class:`~furima.features.PhotoTextEmbedder` (imported only to fit)."""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from furima._training import torch_threads

if TYPE_CHECKING:
    from furima.features._joint_embedding import PhotoTextEmbedder

__all__ = ["train_towers"]


class _Model(nn.Module):  # type: ignore[misc]
    def __init__(self, cfg: PhotoTextEmbedder, photo_dim: int, text_dim: int, classes: int):
        super().__init__()
        self.photo = nn.Sequential(
            nn.Dropout(cfg.dropout),
            nn.Linear(photo_dim, cfg.hidden),
            nn.GELU(approximate="tanh"),
            nn.Dropout(cfg.dropout),
            nn.Linear(cfg.hidden, cfg.dim),
        )
        self.text = nn.Linear(text_dim, cfg.dim)
        if text_dim == cfg.dim:  # start from the text encoder's own space
            nn.init.eye_(self.text.weight)
            nn.init.zeros_(self.text.bias)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))
        self.centres = nn.Parameter(torch.randn(max(classes, 1), cfg.dim) * 0.02)

    def forward(self, photos: torch.Tensor, titles: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return F.normalize(self.photo(photos), dim=1), F.normalize(self.text(titles), dim=1)


def train_towers(
    cfg: PhotoTextEmbedder,
    photos: np.ndarray,
    titles: np.ndarray,
    labels: np.ndarray,
    n_classes: int,
    text_groups: np.ndarray,
    on_epoch: Callable[[float], None],
) -> tuple[dict[str, np.ndarray], list[float]]:
    """Train the two towers; return their weights as numpy arrays and the loss per epoch."""
    with torch_threads(cfg.threads or os.cpu_count() or 1):
        torch.manual_seed(cfg.seed)
        rng = np.random.default_rng(cfg.seed)
        model = _Model(cfg, photos.shape[1], titles.shape[1], n_classes)
        optimiser = torch.optim.AdamW(
            model.parameters(), lr=cfg.learning_rate, weight_decay=cfg.weight_decay, fused=True
        )
        batch_size = min(cfg.batch_size, max(32, len(photos) // 8))  # small catalogs: more steps
        steps_per_epoch = max(1, math.ceil(len(photos) / batch_size))
        schedule = torch.optim.lr_scheduler.OneCycleLR(
            optimiser, max_lr=cfg.learning_rate, total_steps=cfg.epochs * steps_per_epoch
        )
        data = _Tensors(photos, titles, labels, text_groups)
        history: list[float] = []
        for epoch in range(cfg.epochs):
            batches = torch.from_numpy(rng.permutation(len(photos))).split(batch_size)
            history.append(_epoch(model, cfg, optimiser, schedule, data, batches))
            on_epoch(epoch + 1)
        return _export(model), history


class _Tensors:
    """The training rows as tensors, sliced per batch."""

    def __init__(
        self, photos: np.ndarray, titles: np.ndarray, labels: np.ndarray, groups: np.ndarray
    ) -> None:
        self.photos, self.titles = torch.from_numpy(photos), torch.from_numpy(titles)
        self.labels, self.groups = torch.from_numpy(labels), torch.from_numpy(groups)

    def __len__(self) -> int:
        return len(self.photos)


def _epoch(
    model: _Model,
    cfg: PhotoTextEmbedder,
    optimiser: Any,
    schedule: Any,
    data: _Tensors,
    batches: tuple[torch.Tensor, ...],
) -> float:
    """One pass over the batches; returns the mean loss per row."""
    model.train()
    total = 0.0
    for batch in batches:
        if len(batch) < 2:
            continue
        loss = _loss(
            model, cfg, data.photos[batch], data.titles[batch], data.labels[batch],
            data.groups[batch],
        )  # fmt: skip
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
        total += float(loss.detach()) * len(batch)
    return total / len(data)


def _loss(
    model: _Model,
    cfg: PhotoTextEmbedder,
    photos: torch.Tensor,
    titles: torch.Tensor,
    labels: torch.Tensor,
    groups: torch.Tensor,
) -> torch.Tensor:
    photo_emb, text_emb = model(photos, titles)
    scale = model.logit_scale.clamp(max=math.log(100.0)).exp()
    logits = scale * photo_emb @ text_emb.T
    positives = (groups[:, None] == groups[None, :]).float()
    targets = positives / positives.sum(dim=1, keepdim=True)
    contrastive = (F.cross_entropy(logits, targets) + F.cross_entropy(logits.T, targets)) / 2
    known = labels >= 0
    if cfg.label_weight <= 0 or not bool(known.any()):
        return contrastive
    centres = F.normalize(model.centres, dim=1)
    label_logits = cfg.label_scale * photo_emb[known] @ centres.T
    return contrastive + cfg.label_weight * F.cross_entropy(label_logits, labels[known])


def _export(model: _Model) -> dict[str, np.ndarray]:
    def array(tensor: Any) -> np.ndarray:
        return np.ascontiguousarray(tensor.detach().numpy().astype(np.float32))

    first, second = model.photo[1], model.photo[4]
    return {
        "photo_w1": array(first.weight.T),
        "photo_b1": array(first.bias),
        "photo_w2": array(second.weight.T),
        "photo_b2": array(second.bias),
        "text_w": array(model.text.weight.T),
        "text_b": array(model.text.bias),
    }
