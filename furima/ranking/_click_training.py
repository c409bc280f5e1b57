"""Training a click model on logged clicks, corrected for where each item was shown.

A click needs the item to be examined (``theta[position]``) and found relevant, so a model
fitted to raw clicks learns relevance times the examination of the positions the logging
policy happened to use. Weighting each click by ``1 / theta[position]`` (and every non-click
by 1) makes the weighted positives count relevance instead: the fitted odds follow relevance
whatever positions an item was shown at. Weighting every impression by ``1 / theta`` would
not do this (it only swaps the mean examination of an item's positions for their harmonic
mean). Optionally every impression is also weighted by the logging policy's inverse
propensity (:meth:`ClickLog.policy_weights`), so the training mix of items and contexts is
what a uniform policy would have shown. The position itself is never a feature: the model
must not learn the bias back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, TypeVar

import numpy as np
import pandas as pd

from furima.exceptions import DataError
from furima.ranking._base import RankingExamples, label_column
from furima.ranking._click_logs import ClickLog
from furima.ranking._position_bias import PositionPropensities, ipw_weights

__all__ = ["CLICK_EVENT", "click_examples", "click_weights", "fit_click_ranker"]

CLICK_EVENT = "click"
"""The event type of click examples (their label column is ``label_click``)."""
_NOT_FEATURES = ("position", "click", "propensity", "request", "user", "item")

Propensities = PositionPropensities | Mapping[int, float]


class WeightedRanker(Protocol):
    """A ranker whose ``fit`` takes per-row weights (e.g. :class:`LightGBMRanker`)."""

    def fit(
        self,
        train: RankingExamples,
        valid: RankingExamples | None = None,
        *,
        weights: np.ndarray | None = None,
    ) -> Any: ...


R = TypeVar("R", bound=WeightedRanker)


def click_examples(
    log: ClickLog, features: Sequence[str] | None = None, categorical: Sequence[str] = ()
) -> RankingExamples:
    """The impressions of ``log`` as ranking examples with one event, ``"click"``.

    One request per impression, or per ``request`` when the log has that column (its rows
    must then be adjacent). The log has no time, so ``timestamp`` is the row number.

    Args:
        log: The impressions, read with their context ``features``
            (``ClickLog.from_frame(frame, features=[...])``).
        features: The feature columns to learn from (default: ``log.features``); never the
            position, the click or the logging propensity.
        categorical: Features holding category codes (ints >= 0) rather than quantities.

    Raises:
        DataError: No features, a feature the log lacks, or a column that is not a feature.
        SchemaError: A categorical column that is not among the features.
    """
    chosen = _checked_features(log, features)
    frame = log.frame
    request = (
        pd.factorize(frame["request"])[0] if "request" in frame.columns else np.arange(len(frame))
    )
    user = frame["user"].astype(str) if "user" in frame.columns else pd.Series("", frame.index)
    table = pd.DataFrame(
        {
            "request": request.astype(np.int64),
            "user": user.to_numpy(object),
            "item": frame["item"].to_numpy(object),
            "timestamp": np.arange(len(frame), dtype=np.int64),
            "position": frame["position"].to_numpy(np.int64),
            **{column: frame[column].to_numpy(np.float64) for column in chosen},
            label_column(CLICK_EVENT): frame["click"].to_numpy(np.int8),
        }
    )
    return RankingExamples(table, tuple(chosen), (CLICK_EVENT,), tuple(categorical))


def click_weights(
    log: ClickLog,
    propensities: Propensities | None,
    *,
    clip: float | None = 10.0,
    policy: bool = False,
    policy_clip: float | None = 100.0,
) -> np.ndarray:
    """Training weights per impression: ``1 / theta[position]`` for a click, 1 otherwise.

    Args:
        log: The impressions.
        propensities: Examination probability per position relative to the first (e.g.
            from :func:`estimate_from_randomized`); None: no position correction.
        clip: Cap on a click's position weight (bounds the variance rarely examined
            positions add, at the price of some bias); None: no cap.
        policy: Also weight every impression by ``1 / the logging propensity`` (the log's
            ``propensity`` column), capped at ``policy_clip``.

    Returns:
        float64 weights, one per impression, scaled to average 1 (self-normalised), so a
        loss keeps its magnitude.

    Raises:
        DataError: A propensity of zero (or not a number), a position without a
            propensity, a clip that is not > 0.
        SchemaError: ``policy=True`` on a log without logging propensities.
    """
    weights = np.ones(len(log), np.float64)
    if propensities is not None:
        position_weights = ipw_weights(log.frame["position"].to_numpy(), propensities, clip=clip)
        clicked = log.frame["click"].to_numpy(bool)
        weights = np.where(clicked, position_weights, 1.0)
    if policy:
        weights = weights * log.policy_weights(policy_clip)
    scaled: np.ndarray = weights / weights.mean()
    return scaled


def fit_click_ranker(
    log: ClickLog,
    propensities: Propensities | None,
    *,
    features: Sequence[str] | None = None,
    categorical: Sequence[str] = (),
    clip: float | None = 10.0,
    policy: bool = False,
    policy_clip: float | None = 100.0,
    ranker: R | None = None,
) -> R:
    """A click model learned from ``log`` with inverse-propensity weights.

    Builds :func:`click_examples`, weighs them with :func:`click_weights` and fits
    ``ranker`` (default: ``LightGBMRanker(label="click")``, a binary click model whose
    scores rank candidates by debiased click probability).

    Raises:
        DataError: As :func:`click_examples` and :func:`click_weights`, or a LightGBM ranker
            not in per-event mode for ``"click"``.
    """
    examples = click_examples(log, features, categorical)
    weights = click_weights(log, propensities, clip=clip, policy=policy, policy_clip=policy_clip)
    model = _default_ranker() if ranker is None else ranker
    _check_click_mode(model)
    model.fit(examples, weights=weights)
    return model  # type: ignore[return-value]


def _default_ranker() -> WeightedRanker:
    from furima.ranking._lightgbm import LightGBMRanker

    return LightGBMRanker(label=CLICK_EVENT, rounds=100)


def _check_click_mode(ranker: WeightedRanker) -> None:
    label = getattr(ranker, "label", CLICK_EVENT)
    if label != CLICK_EVENT:
        learns = "ranks whole requests" if label is None else f"learns {label!r}"
        raise DataError(
            f"the ranker {learns}, but click examples hold one impression per request and "
            "one event, 'click'; pass LightGBMRanker(label='click') (a binary click model)."
        )


def _checked_features(log: ClickLog, features: Sequence[str] | None) -> tuple[str, ...]:
    chosen = tuple(log.features if features is None else features)
    if not chosen:
        raise DataError(
            "the click log has no feature columns to learn from; read it with "
            "ClickLog.from_frame(frame, features=[...]) (item attributes, user features, "
            "user-item affinities; not the position) or pass features=."
        )
    forbidden = [c for c in chosen if c in _NOT_FEATURES]
    if forbidden:
        raise DataError(
            f"{forbidden} cannot be features of a click model: the position would teach it "
            "the bias back, the click is the label, and ids and propensities are not context; "
            "leave them out of features."
        )
    missing = [c for c in chosen if c not in log.frame.columns]
    if missing:
        raise DataError(
            f"the click log lacks the feature columns {missing} (it has {list(log.features)}); "
            "read it with ClickLog.from_frame(frame, features=[...]) naming them."
        )
    return chosen
