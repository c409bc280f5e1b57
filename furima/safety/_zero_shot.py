"""Zero-shot scoring of a policy that has no labels yet, in the multilingual sentence space.

The policy's texts (its description, its examples and any listings known to break it) are
averaged into a centroid; a listing's raw score is its sentence vector's projection on the
direction from the catalog's centroid (the ``background``) to the policy's centroid. What is
common to every listing cancels out and what sets the policy apart remains; this ranks
violations far better than similarity to the description alone.

The raw score is then placed against the background: a listing more policy-like than a share
``1 - rate`` of the catalog's listings scores 0.5, higher ones rise towards 1 (log-odds of the
percentile, extended past the most extreme background listing, so the order is kept). The
score is rank-preserving, not a calibrated probability: labels make one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["ZeroShotModel", "fit_zero_shot"]

_TOP_SPAN = 0.95  # the extrapolation slope is measured over the background's top 5%


@dataclass
class ZeroShotModel:
    """A policy direction and the background's raw scores at chosen percentiles.

    Attributes:
        direction: Policy centroid minus background centroid, in sentence space.
        values: Background raw scores at ``levels`` (increasing).
        levels: Percentiles in (0, 1), increasing.
        rate: Share of the background taken to break the policy (where the score is 0.5).
    """

    direction: np.ndarray
    values: np.ndarray
    levels: np.ndarray
    rate: float

    def raw(self, embeddings: np.ndarray) -> np.ndarray:
        return np.asarray(embeddings @ self.direction, dtype=np.float64)

    def scores(self, embeddings: np.ndarray) -> np.ndarray:
        """Scores in (0, 1), 0.5 at the background's ``1 - rate`` percentile."""
        raw = self.raw(embeddings)
        log_odds = _logit(self.levels)
        position = np.interp(raw, self.values, log_odds)
        above = raw > self.values[-1]
        position[above] = log_odds[-1] + self._slope() * (raw[above] - self.values[-1])
        return _sigmoid(position - _logit(np.array([1.0 - self.rate]))[0])

    def _slope(self) -> float:
        if len(self.levels) < 2:
            return 1e3
        log_odds = _logit(self.levels)
        start = int(np.searchsorted(self.levels, _TOP_SPAN))
        start = min(start, len(self.levels) - 2)
        rise = float(log_odds[-1] - log_odds[start])
        run = float(self.values[-1] - self.values[start])
        return rise / run if run > 1e-9 else 1e3

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"direction": self.direction, "values": self.values, "levels": self.levels}

    @classmethod
    def from_arrays(
        cls, meta: Mapping[str, Any], arrays: Mapping[str, np.ndarray]
    ) -> ZeroShotModel:
        return cls(arrays["direction"], arrays["values"], arrays["levels"], float(meta["rate"]))


def fit_zero_shot(policy: np.ndarray, background: np.ndarray, *, rate: float) -> ZeroShotModel:
    """The model of one policy from its texts' and the background's sentence vectors."""
    direction = (policy.mean(axis=0) - background.mean(axis=0)).astype(np.float32)
    raw = np.asarray(background @ direction, dtype=np.float64)
    n = len(raw)
    tail = 1.0 - np.geomspace(1e-2, 0.5 / n, 40) if n > 50 else np.array([])
    levels = np.unique(
        np.clip(np.concatenate([np.linspace(0, 0.99, 100), tail]), 0.5 / n, 1 - 0.5 / n)
    )
    values = np.quantile(raw, levels)
    keep = np.concatenate([np.diff(values) > 1e-12, [True]])  # equal values: the top level
    return ZeroShotModel(direction, values[keep], levels[keep], rate)


def _logit(p: np.ndarray) -> np.ndarray:
    return np.asarray(np.log(p) - np.log1p(-p))


def _sigmoid(values: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(values, -50, 50))))
