"""A scorecard read back from its saved tables: scoring without optbinning or pickles.

optbinning keeps a fitted scorecard only as Python objects (it pickles), so
:meth:`Scorecard.save <furima.risk.Scorecard.save>` writes out what scoring needs: per feature
its bins (numeric split points, or groups of categories) and the points of every bin, plus the
intercept and the score scaling. :class:`LoadedScorecard` assigns bins the way optbinning does
(numbers: ``numpy.digitize(x, splits, right=False)``; categories: the group that holds them;
missing values: the Missing bin; unseen categories: the Missing bin too, as optbinning's
``metric="indices"`` gives them index -1), so its scores, probabilities of default and reasons
equal the fitted scorecard's.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from furima.exceptions import SchemaError
from furima.risk._reasons import (
    FeaturePoints,
    check_score_columns,
    default_probability,
    scored_frame,
    scores_and_gaps,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["BinRule", "LoadedScorecard"]

UNSEEN = -1
"""Bin index of a category not seen in training: the last bin (Missing), as in optbinning."""


@dataclass(frozen=True)
class BinRule:
    """How one feature's values fall into bins.

    Attributes:
        feature: The column name.
        splits: Numeric split points (bin ``i`` is ``[splits[i-1], splits[i])``), or ``None``
            for a categorical feature.
        groups: The categories of each bin of a categorical feature, or ``None``.
    """

    feature: str
    splits: tuple[float, ...] | None = None
    groups: tuple[tuple[object, ...], ...] | None = None

    @functools.cached_property
    def _group_of(self) -> dict[object, int]:
        """Category -> the index of its bin (a categorical feature)."""
        return {c: index for index, group in enumerate(self.groups or ()) for c in group}

    @property
    def n_bins(self) -> int:
        """The number of regular bins (Special and Missing follow them)."""
        if self.groups is not None:
            return len(self.groups)
        return len(self.splits or ()) + 1

    def indices(self, column: pd.Series) -> np.ndarray:
        """Each value's bin index: regular bins, then Special (never used), then Missing."""
        missing = column.isna().to_numpy()
        out = np.full(len(column), UNSEEN, dtype=int)
        if self.groups is not None:
            lookup = self._group_of
            categories = column.tolist()
            out = np.fromiter((lookup.get(v, UNSEEN) for v in categories), int, len(categories))
        else:
            numbers = column.to_numpy(dtype=np.float64, na_value=np.nan)
            out[~missing] = np.digitize(numbers[~missing], np.asarray(self.splits), right=False)
        out[missing] = self.n_bins + 1
        return out


class LoadedScorecard:
    """A fitted scorecard loaded from a folder: scores like the :class:`Scorecard` it was
    saved from, without refitting and without optbinning's objects.

    ``target`` and ``bad_value`` name the outcome column and its default value (``None`` for
    folders saved before the bad value was stored).

    It answers ``score``, ``probability_of_default``, ``information_values``, ``table`` and
    ``binning_table`` like the fitted scorecard; in ``table`` and ``binning_table`` the
    ``Bin`` column is text (a categorical bin is its categories as a JSON list), and
    ``binning_table`` has no ``Totals`` row.
    """

    def __init__(
        self,
        *,
        bins: Sequence[BinRule],
        points: Sequence[FeaturePoints],
        intercept: float,
        scaling: tuple[float, float, float],
        max_reasons: int,
        detailed: pd.DataFrame,
        information_values: pd.Series,
        outcome: tuple[str, object] = ("default", None),
    ) -> None:
        self.target, self.bad_value = outcome
        self.features_ = [rule.feature for rule in bins]
        self.bins_ = {rule.feature: rule for rule in bins}
        self.points_ = {p.feature: p for p in points}
        self.intercept_ = intercept
        self.pdo, self.base_score, self.base_odds = scaling
        self.max_reasons = max_reasons
        self._detailed = detailed
        self._information_values = information_values

    def score(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Score applicants: ``score``, ``probability_of_default`` and ``reasons`` columns on
        ``frame``'s index, exactly as :meth:`Scorecard.score`."""

        check_score_columns(frame, self.features_, "scorecard")
        indices = {f: self.bins_[f].indices(frame[f]) for f in self.features_}
        points = {f: self.points_[f] for f in self.features_}
        scaling = (self.pdo, self.base_score, self.base_odds)
        return scored_frame(frame, points, indices, self.intercept_, scaling, self.max_reasons)

    def point_losses(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Each applicant's score and, per feature, the points below its best bin."""
        check_score_columns(frame, self.features_, "scorecard")
        indices = {f: self.bins_[f].indices(frame[f]) for f in self.features_}
        points = {f: self.points_[f] for f in self.features_}
        return scores_and_gaps(points, indices, self.intercept_)

    def probability_of_default(self, score: np.ndarray) -> np.ndarray:
        """The probability of default the scaling assigns to a score (the model's own PD)."""
        return default_probability(
            score, pdo=self.pdo, base_score=self.base_score, base_odds=self.base_odds
        )

    def information_values(self) -> pd.Series:
        """Information value of every feature, highest first."""
        return self._information_values.copy()

    def table(self) -> pd.DataFrame:
        """The scorecard: every feature's bins with their points."""
        table: pd.DataFrame = self._detailed[["Variable", "Bin", "Points"]].copy()
        return table

    def binning_table(self, feature: str) -> pd.DataFrame:
        """The saved binning table of ``feature``: bins, counts, event rate, WoE, IV."""
        if feature not in self.bins_:
            raise SchemaError(f"{feature!r} is not a feature of this scorecard: {self.features_}.")
        rows = self._detailed[self._detailed["Variable"] == feature]
        columns = ["Bin", "Count", "Count (%)", "Non-event", "Event", "Event rate", "WoE", "IV"]
        table: pd.DataFrame = rows[[*columns, "JS"]].reset_index(drop=True)
        return table
