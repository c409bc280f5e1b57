"""The contract every ranker keeps, and the ranking examples they learn from.

A ranking example is one candidate listing shown (or to be shown) for one *request* (a user's
feed at a moment, a search query): its features, computed only from what was known before the
request, and one 0/1 label per event type that followed (viewed, carted, liked, bought).
Rankers take a request's candidates and return one score per candidate, higher first; the
multi-task ranker also returns a calibrated probability per event type.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Self

import numpy as np
import pandas as pd

from furima.exceptions import DataError, SchemaError

__all__ = ["LABEL_PREFIX", "REQUEST_COLUMNS", "Ranker", "RankingExamples", "label_column"]

LABEL_PREFIX = "label_"
REQUEST_COLUMNS = ("request", "user", "item", "timestamp")
"""Every examples frame has these: the request id (int), the user and item (external ids,
str) and the request's moment (int64 Unix seconds)."""


def label_column(event: str) -> str:
    """The frame column holding the 0/1 label of ``event``."""
    return f"{LABEL_PREFIX}{event}"


@dataclass
class RankingExamples:
    """Candidate lists per request with per-event labels and point-in-time features.

    Attributes:
        frame: One row per (request, candidate), rows of a request adjacent and requests in
            time order; columns :data:`REQUEST_COLUMNS`, the ``features`` and one
            ``label_<event>`` (0/1) per event type (absent when the outcome is unknown, as
            at serving time).
        features: The feature columns, in the order models read them (float32-able).
        events: The event types, e.g. ``("view", "cart", "like", "buy")``.
        categorical: Feature columns that hold category codes (ints >= 0; -1: unknown)
            rather than quantities.
    """

    frame: pd.DataFrame
    features: tuple[str, ...]
    events: tuple[str, ...] = ()
    categorical: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        wanted = [*REQUEST_COLUMNS, *self.features]
        missing = [c for c in wanted if c not in self.frame.columns]
        if missing:
            raise SchemaError(f"ranking examples lack the columns {missing}.")
        strange = [c for c in self.categorical if c not in self.features]
        if strange:
            raise SchemaError(f"categorical columns {strange} are not among the features.")
        request = self.frame["request"].to_numpy()
        if len(request) and (np.diff(request) != 0).sum() + 1 != len(np.unique(request)):
            raise DataError("the rows of each request must be adjacent in ranking examples.")

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def has_labels(self) -> bool:
        return bool(self.events) and all(label_column(e) in self.frame.columns for e in self.events)

    def matrix(self) -> np.ndarray:
        """The features as float32 ``[rows, features]`` (NaN where a value is unknown)."""
        return self.frame[list(self.features)].to_numpy(np.float32, na_value=np.nan)

    def labels(self, event: str) -> np.ndarray:
        """0/1 labels of ``event`` per row (float32)."""
        column = label_column(event)
        if column not in self.frame.columns:
            raise DataError(f"these examples have no {event!r} labels (events: {self.events}).")
        labels: np.ndarray = self.frame[column].to_numpy(np.float32)
        return labels

    def relevance(self, gains: Mapping[str, float]) -> np.ndarray:
        """Graded relevance per row: the largest gain among the events that happened."""
        grades = np.zeros(len(self), np.float32)
        for event, gain in gains.items():
            grades = np.maximum(grades, self.labels(event) * np.float32(gain))
        return grades

    def group_sizes(self) -> np.ndarray:
        """Rows per request, in frame order (LightGBM's ``group``)."""
        request = self.frame["request"].to_numpy()
        if not len(request):
            return np.zeros(0, np.int64)
        starts = np.flatnonzero(np.r_[True, request[1:] != request[:-1]])
        sizes: np.ndarray = np.diff(np.r_[starts, len(request)]).astype(np.int64)
        return sizes

    def subset(self, mask: np.ndarray | Sequence[bool]) -> RankingExamples:
        """The rows where ``mask`` holds (whole requests should be kept together)."""
        frame = self.frame.loc[np.asarray(mask, bool)].reset_index(drop=True)
        return RankingExamples(frame, self.features, self.events, self.categorical)


class Ranker(ABC):
    """Scores a request's candidates: higher first.

    Subclasses keep settings in ``__init__``, learn in :meth:`fit` (state in attributes ending
    in ``_``), and save to / load from a folder (atomic, with a manifest).
    """

    name: ClassVar[str]

    @abstractmethod
    def fit(self, train: RankingExamples, valid: RankingExamples | None = None) -> Self:
        """Learn from labelled examples (``valid``: early stopping, calibration); returns
        self."""

    @abstractmethod
    def score(self, examples: RankingExamples) -> np.ndarray:
        """One float per row, comparable within a request; higher is better."""

    def event_probabilities(self, examples: RankingExamples) -> dict[str, np.ndarray]:
        """Calibrated P(event) per row and event type, for rankers that model events."""
        raise NotImplementedError(f"the {self.name} ranker gives no per-event probabilities.")

    @abstractmethod
    def save(self, path: str | Path) -> Path:
        """Save atomically to the folder ``path``; returns it."""

    @classmethod
    @abstractmethod
    def load(cls, path: str | Path) -> Self:
        """A fitted ranker saved by :meth:`save`."""
