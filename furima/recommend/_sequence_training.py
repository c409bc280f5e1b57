"""Training of the next-item network: batches bucketed by length, full-softmax cross-entropy
at every real position (or sampled softmax with logQ correction), early stopping.

Full cross-entropy over the catalog is what makes SASRec-class models competitive (eSASRec,
gSASRec): the one-negative BCE of the original SASRec trains far weaker models. Logits are
computed only at real (non-padding) positions, which on short-history data such as Amazon
reviews is most of the saving. This module imports torch at import time; import it lazily.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from furima._progress import Tracker
from furima._training import TrainLog, train_epochs
from furima.recommend._transformer import NextItemNetwork

__all__ = ["TrainSettings", "pad_right", "train", "training_sequences"]


@dataclass(frozen=True)
class TrainSettings:
    """What :func:`train` needs besides the network and the data."""

    epochs: int
    batch_size: int
    lr: float
    weight_decay: float
    label_smoothing: float
    loss: str
    n_negatives: int
    patience: int
    seed: int


def training_sequences(histories: list[np.ndarray], max_len: int) -> list[np.ndarray]:
    """The last ``max_len + 1`` items of each history with at least two items (inputs are all
    but the last, targets all but the first)."""
    return [h[-(max_len + 1) :].astype(np.int64) for h in histories if len(h) >= 2]


def pad_right(sequences: list[np.ndarray], width: int | None = None) -> np.ndarray:
    """Item indices shifted by one and right-padded with ``0``: ``[len(sequences), width]``."""
    width = width or max((len(s) for s in sequences), default=1)
    out = np.zeros((len(sequences), max(width, 1)), dtype=np.int64)
    for row, seq in enumerate(sequences):
        out[row, : len(seq)] = seq + 1
    return out


MAX_LOGITS = 2**28
"""Most logits (target positions x catalog) one step computes, about 1 GiB of float32: a
length bucket that would exceed it is cut into smaller steps, so a large catalog cannot run
the machine out of memory (use ``loss="sampled"`` for catalogs far larger than that)."""


def _batches(
    lengths: np.ndarray, batch_size: int, rng: np.random.Generator, n_items: int
) -> Iterator[np.ndarray]:
    """Indices grouped by similar length (less padding), batches in random order."""
    order = np.lexsort((rng.random(len(lengths)), lengths))
    chunks = []
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        rows = max(1, MAX_LOGITS // max(1, int(lengths[chunk].max() - 1) * n_items))
        chunks += [chunk[i : i + rows] for i in range(0, len(chunk), rows)]
    for index in rng.permutation(len(chunks)):
        yield chunks[index]


def _loss(
    net: NextItemNetwork,
    padded: torch.Tensor,
    settings: TrainSettings,
    log_q: torch.Tensor | None,
) -> torch.Tensor:
    """Mean cross-entropy of the next item at every real position of a batch."""
    inputs, targets = padded[:, :-1], padded[:, 1:] - 1
    table = net.item_table()
    hidden = net.encode(inputs, table)
    real = targets >= 0
    states, answers = hidden[real], targets[real]
    if log_q is None:
        logits = states @ table[1:].T
        return F.cross_entropy(logits, answers, label_smoothing=settings.label_smoothing)
    return _sampled_loss(states, answers, table, log_q, settings.n_negatives)


def _sampled_loss(
    states: torch.Tensor,
    answers: torch.Tensor,
    table: torch.Tensor,
    log_q: torch.Tensor,
    n_negatives: int,
) -> torch.Tensor:
    """Softmax over the target and negatives shared by the batch, drawn by popularity, with
    logQ correction (each logit minus the log of its sampling probability) so the estimate
    approaches full softmax; a negative equal to the target is masked out."""
    negatives = torch.multinomial(log_q.exp(), n_negatives, replacement=True)
    positive = (states * table[answers + 1]).sum(-1, keepdim=True) - log_q[answers].unsqueeze(1)
    negative = states @ table[negatives + 1].T - log_q[negatives]
    negative = negative.masked_fill(negatives.unsqueeze(0) == answers.unsqueeze(1), -1e9)
    logits = torch.cat([positive, negative], dim=1)
    return F.cross_entropy(logits, torch.zeros(len(answers), dtype=torch.long))


def sampling_log_q(sequences: list[np.ndarray], n_items: int) -> torch.Tensor:
    """Log of each item's share of the training targets (smoothed so none is impossible)."""
    counts = np.bincount(np.concatenate([s[1:] for s in sequences]), minlength=n_items)
    q = (counts + 1.0) / (counts.sum() + n_items)
    return torch.from_numpy(np.log(q).astype(np.float32))


def train(
    net: NextItemNetwork,
    sequences: list[np.ndarray],
    settings: TrainSettings,
    *,
    validate: Callable[[], float] | None = None,
    progress: Tracker | None = None,
) -> TrainLog:
    """Adam over shuffled length buckets; with ``validate`` (a score, higher is better),
    stop after ``patience`` epochs without improvement and keep the best weights."""
    torch.manual_seed(settings.seed)
    rng = np.random.default_rng(settings.seed)
    optimizer = torch.optim.Adam(
        net.parameters(), lr=settings.lr, weight_decay=settings.weight_decay, fused=True
    )
    log_q = sampling_log_q(sequences, net.cfg.n_items) if settings.loss == "sampled" else None
    lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=len(sequences))

    def epoch(number: int) -> float:
        return _epoch(net, sequences, lengths, settings, optimizer, rng, log_q, progress, number)

    return train_epochs(
        net,
        epoch,
        epochs=settings.epochs,
        patience=settings.patience,
        validate=validate,
        valid_key="valid_ndcg@10",
    )


def _epoch(
    net: NextItemNetwork,
    sequences: list[np.ndarray],
    lengths: np.ndarray,
    settings: TrainSettings,
    optimizer: Any,
    rng: np.random.Generator,
    log_q: torch.Tensor | None,
    progress: Tracker | None,
    epoch: int,
) -> float:
    """One pass over the data; the mean batch loss."""
    net.train()
    batches = list(_batches(lengths, settings.batch_size, rng, net.cfg.n_items))
    if progress is not None:
        progress.start(f"epoch {epoch}", total=len(batches))
    total = 0.0
    for step, index in enumerate(batches, start=1):
        padded = torch.from_numpy(pad_right([sequences[i] for i in index]))
        loss = _loss(net, padded, settings, log_q)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total += float(loss.detach())
        if progress is not None:
            progress.update(step)
    return total / max(len(batches), 1)
