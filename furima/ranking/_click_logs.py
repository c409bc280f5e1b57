"""Logged impressions: which item was shown at which position, and whether it was clicked.

A click log is the raw material of position-bias estimation: one row per impression (an item
shown at a 1-based position), its 0/1 click, and optionally the logging policy's probability
of having shown that item there (``propensity``), the request and the user. Every estimator
reads a :class:`ClickLog`, so bad input (a missing column, a click of 2, a position of 0, a
propensity of zero) is refused once, here, with the row that holds it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from furima.exceptions import DataError, EmptyDataError, SchemaError

__all__ = ["CLICK_LOG_COLUMNS", "ClickLog"]

CLICK_LOG_COLUMNS = ("item", "position", "click")
"""The columns every click log has; ``propensity``, ``request`` and ``user`` are optional."""
_OPTIONAL = ("propensity", "request", "user")


@dataclass(frozen=True)
class ClickLog:
    """Validated impressions from one logging policy.

    Attributes:
        frame: One row per impression with columns ``item`` (str), ``position`` (int64,
            1-based), ``click`` (int8, 0/1), and where given ``propensity`` (float64 in
            (0, 1]), ``request``, ``user`` and the numeric ``features``.
        policy: A name for the policy that logged it (e.g. ``"random"``), for reports.
        features: Numeric context columns kept for relevance models (regression EM).
    """

    frame: pd.DataFrame
    policy: str = "logged"
    features: tuple[str, ...] = ()

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        *,
        columns: Mapping[str, str] | None = None,
        policy: str = "logged",
        features: Sequence[str] = (),
    ) -> ClickLog:
        """Read impressions from a frame, checking every row.

        Args:
            frame: The impressions.
            columns: Our column name -> the frame's, for the columns named differently, e.g.
                ``{"item": "item_id", "propensity": "propensity_score"}``.
            policy: A name for the logging policy.
            features: Numeric frame columns to keep as context for relevance models.

        Raises:
            SchemaError: A required column (or a named feature) is missing.
            EmptyDataError: The frame has no rows.
            DataError: A row has a missing item, a click other than 0/1, a position that is
                not an integer >= 1, or a propensity outside (0, 1].
        """
        renamed = _renamed(frame, dict(columns or {}))
        missing = [c for c in (*CLICK_LOG_COLUMNS, *features) if c not in renamed.columns]
        if missing:
            raise SchemaError(
                f"the click log lacks the columns {missing} (it has {list(frame.columns)}); "
                "name yours with columns={'item': ..., 'position': ..., 'click': ...}."
            )
        if renamed.empty:
            raise EmptyDataError("the click log has no rows; pass at least one impression.")
        kept = [c for c in (*CLICK_LOG_COLUMNS, *_OPTIONAL) if c in renamed.columns]
        clean = pd.DataFrame(
            {
                "item": _items(renamed["item"]),
                "position": _positions(renamed["position"]),
                "click": _clicks(renamed["click"]),
            }
        )
        if "propensity" in kept:
            clean["propensity"] = _propensities(renamed["propensity"])
        for column in ("request", "user"):
            if column in kept:
                clean[column] = renamed[column].to_numpy()
        for column in features:
            clean[column] = _numeric_feature(renamed[column], column)
        return cls(clean, policy, tuple(features))

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def positions(self) -> tuple[int, ...]:
        """The positions that occur, ascending."""
        return tuple(int(p) for p in np.unique(self.frame["position"].to_numpy()))

    @property
    def clicks(self) -> int:
        return int(self.frame["click"].sum())

    @property
    def has_propensity(self) -> bool:
        return "propensity" in self.frame.columns

    def take(self, rows: np.ndarray) -> ClickLog:
        """The impressions at ``rows`` (integer positions, repeats allowed: a bootstrap)."""
        frame = self.frame.iloc[np.asarray(rows, np.int64)].reset_index(drop=True)
        return ClickLog(frame, self.policy, self.features)

    def resample(self, rng: np.random.Generator) -> ClickLog:
        """A bootstrap replicate: as many impressions, drawn with replacement."""
        return self.take(rng.integers(0, len(self), len(self)))

    def policy_weights(self, clip: float | None = None) -> np.ndarray:
        """1 / the logging policy's propensity per impression, capped at ``clip``.

        Weighting clicks by this (self-normalised) gives what a uniform policy would have seen.
        """
        if not self.has_propensity:
            raise SchemaError(
                f"the {self.policy!r} click log has no 'propensity' column; pass the logging "
                "policy's probability of each impression (columns={'propensity': ...})."
            )
        weights: np.ndarray = 1.0 / self.frame["propensity"].to_numpy(np.float64)
        if clip is not None:
            if not clip > 0:
                raise DataError(f"clip must be a weight > 0, but got {clip}.")
            weights = np.minimum(weights, clip)
        return weights


def _renamed(frame: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    unknown = {ours: theirs for ours, theirs in columns.items() if theirs not in frame.columns}
    if unknown:
        raise SchemaError(
            f"columns= names frame columns that do not exist: {unknown} "
            f"(the frame has {list(frame.columns)})."
        )
    strange = [c for c in columns if c not in (*CLICK_LOG_COLUMNS, *_OPTIONAL)]
    if strange:
        raise SchemaError(
            f"columns= maps unknown click-log fields {strange}; the fields are "
            f"{[*CLICK_LOG_COLUMNS, *_OPTIONAL]}."
        )
    return frame.rename(columns={theirs: ours for ours, theirs in columns.items()})


def _first_bad(bad: np.ndarray) -> int:
    """The 1-based row number of the first True in ``bad``."""
    return int(np.flatnonzero(bad)[0]) + 1


def _value_at(values: pd.Series, bad: np.ndarray) -> str:
    """The first bad value as a person would write it (no numpy type names)."""
    value = values.iloc[_first_bad(bad) - 1]
    return repr(value.item() if isinstance(value, np.generic) else value)


def _items(values: pd.Series) -> np.ndarray:
    missing = values.isna().to_numpy()
    if missing.any():
        raise DataError(
            f"{int(missing.sum())} impressions have no item; drop them or fill the item id.",
            row=_first_bad(missing),
            column="item",
        )
    return values.astype(str).to_numpy(object)


def _positions(values: pd.Series) -> np.ndarray:
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(np.float64)
    bad = ~np.isfinite(numbers) | (numbers < 1) | (numbers != np.round(numbers))
    if bad.any():
        raise DataError(
            f"position {_value_at(values, bad)} is not an integer >= 1; positions "
            "are 1-based slots (1 = first shown), fix or drop those rows.",
            row=_first_bad(bad),
            column="position",
        )
    return numbers.astype(np.int64)


def _clicks(values: pd.Series) -> np.ndarray:
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(np.float64)
    bad = ~np.isin(numbers, (0.0, 1.0))
    if bad.any():
        raise DataError(
            f"click {_value_at(values, bad)} is not 0 or 1; clicks are 0/1 per "
            "impression (count repeated clicks once).",
            row=_first_bad(bad),
            column="click",
        )
    return numbers.astype(np.int8)


def _propensities(values: pd.Series) -> np.ndarray:
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(np.float64)
    bad = ~np.isfinite(numbers) | (numbers <= 0) | (numbers > 1)
    if bad.any():
        raise DataError(
            f"propensity {_value_at(values, bad)} is not in (0, 1]: it must be "
            "the logging policy's probability of showing that item there; an impression the "
            "policy could not have made cannot be reweighted, so fix or drop those rows.",
            row=_first_bad(bad),
            column="propensity",
        )
    return numbers


def _numeric_feature(values: pd.Series, column: str) -> np.ndarray:
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(np.float64)
    bad = ~np.isfinite(numbers)
    if bad.any():
        raise DataError(
            f"feature {column!r} holds {_value_at(values, bad)}, not a finite "
            "number; encode it numerically or leave it out of features.",
            row=_first_bad(bad),
            column=column,
        )
    return numbers
