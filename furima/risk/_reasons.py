"""Reason codes for a points scorecard: the features that cost an applicant the most points.

A scorecard gives every bin of every feature a number of points; an applicant's score is the
sum over their bins. A feature lowered the score by how far the applicant's bin sits below the
feature's best bin, so the reasons are the features with the largest such gaps, written with
the applicant's own bin and the best bin in plain words. A missing field always gets a reason,
because the applicant can fix it by providing the value; so does a category not seen in
training (scored in the Missing bin), stated as such rather than as missing.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from furima.exceptions import SchemaError

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class FeaturePoints:
    """The points of one feature's bins, in bin-index order (regular bins, Special, Missing).

    Attributes:
        feature: The column name.
        labels: The bin descriptions in words, one per bin.
        points: The points of each bin.
        best: The highest points among bins seen in training (the missing bin counts only if
            it held training rows).
        best_label: The words of the best bin.
    """

    feature: str
    labels: tuple[str, ...]
    points: np.ndarray
    best: float
    best_label: str


def humanise(feature: str) -> str:
    """Turn a column name into words: ``"credit_amount"`` -> ``"Credit amount"``."""
    words = feature.replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def _number(value: float) -> str:
    """A split point without trailing zeros: 12.0 -> "12", 12.5 -> "12.5"."""
    return f"{value:.4g}"


def numeric_bin_labels(splits: Sequence[float]) -> list[str]:
    """Words for the bins that ``splits`` cut a number line into, e.g. ``"12 to under 24"``."""
    if len(splits) == 0:
        return ["any value"]
    labels = [f"under {_number(splits[0])}"]
    labels += [f"{_number(lo)} to under {_number(hi)}" for lo, hi in itertools.pairwise(splits)]
    labels.append(f"{_number(splits[-1])} or more")
    return labels


def categorical_bin_label(categories: Sequence[object]) -> str:
    """Words for a categorical bin: its categories quoted, joined with "or"."""
    return " or ".join(f"'{category}'" for category in categories)


def feature_reasons(
    points: FeaturePoints, bin_index: np.ndarray, missing: np.ndarray, values: pd.Series
) -> list[tuple[float, str]]:
    """Per applicant, how many points this feature cost and the sentence that says so.

    Args:
        points: The feature's bins and points.
        bin_index: Each applicant's bin index (optbinning ``metric="indices"``; -1 or the
            Missing bin's index for a category not seen in training).
        missing: True where the applicant's value is missing.
        values: The applicants' values (named in the sentence of an unseen category).

    Returns:
        One ``(gap, sentence)`` per applicant; a gap of 0 means the applicant got the best bin.
    """
    name = humanise(points.feature)
    unseen = unseen_values(points, bin_index, missing)
    out: list[tuple[float, str]] = []
    for row, index in enumerate(bin_index.tolist()):
        gap = float(points.best - points.points[index])
        below = f"scored {gap:.0f} points below the best ({points.best_label})"
        if missing[row]:
            sentence = (
                f"{name}: missing value (not provided), {below}; provide it to be scored on it"
            )
            out.append((max(gap, 0.0), sentence))
        elif unseen[row]:
            value = values.iloc[row]
            sentence = f"{name}: '{value}' is a value not seen in training, {below}"
            out.append((max(gap, 0.0), sentence))
        else:
            sentence = f"{name}: {points.labels[index]} {below.replace('scored', 'scores', 1)}"
            out.append((gap, sentence))
    return out


def unseen_values(points: FeaturePoints, bin_index: np.ndarray, missing: np.ndarray) -> np.ndarray:
    """True where a present value fell in the Missing bin: a category not seen in training."""
    missing_bin = len(points.points) - 1
    unseen: np.ndarray = ~missing & ((bin_index == missing_bin) | (bin_index == -1))
    return unseen


def top_reasons(
    per_feature: Sequence[list[tuple[float, str]]],
    missing: np.ndarray,
    limit: int,
) -> list[list[str]]:
    """Each applicant's reasons: every missing field, then the largest point gaps.

    Args:
        per_feature: ``feature_reasons`` of each feature, in feature order.
        missing: Boolean matrix (applicants x features), True where a value is missing or
            was not seen in training: those are always stated.
        limit: How many point-gap reasons to give at most (stated fields come on top).

    Returns:
        One list of sentences per applicant, largest gap first; gaps under half a point are
        not reasons.
    """
    reasons: list[list[str]] = []
    for row in range(missing.shape[0]):
        stated = [per_feature[col][row][1] for col in np.flatnonzero(missing[row]).tolist()]
        gaps = [
            per_feature[col][row]
            for col in range(len(per_feature))
            if not missing[row, col] and per_feature[col][row][0] >= 0.5
        ]
        gaps.sort(key=lambda pair: -pair[0])
        reasons.append(stated + [sentence for _, sentence in gaps[:limit]])
    return reasons


def default_probability(
    score: np.ndarray, *, pdo: float, base_score: float, base_odds: float
) -> np.ndarray:
    """The probability of default a points scaling assigns to a score: odds of ``base_odds``
    (good to bad) at ``base_score``, doubling every ``pdo`` points."""
    factor = pdo / math.log(2)
    offset = base_score - factor * math.log(base_odds)
    return 1.0 / (1.0 + np.exp((np.asarray(score, dtype=float) - offset) / factor))


def scored_frame(
    frame: pd.DataFrame,
    points: dict[str, FeaturePoints],
    indices: dict[str, np.ndarray],
    intercept: float,
    scaling: tuple[float, float, float],
    max_reasons: int,
) -> pd.DataFrame:
    """Score, probability of default and reasons per row, from each feature's bin index."""
    import pandas as pd

    features = list(points)
    missing = frame[features].isna().to_numpy()
    per_feature = [
        feature_reasons(points[f], indices[f], missing[:, i], frame[f])
        for i, f in enumerate(features)
    ]
    stated = np.column_stack(
        [unseen_values(points[f], indices[f], missing[:, i]) for i, f in enumerate(features)]
    )
    total = sum(points[f].points[indices[f]] for f in features)
    score = np.asarray(total, dtype=float) + float(intercept)
    pdo, base_score, base_odds = scaling
    return pd.DataFrame(
        {
            "score": score,
            "probability_of_default": default_probability(
                score, pdo=pdo, base_score=base_score, base_odds=base_odds
            ),
            "reasons": top_reasons(per_feature, missing | stated, max_reasons),
        },
        index=frame.index,
    )


def scores_and_gaps(
    points: dict[str, FeaturePoints], indices: dict[str, np.ndarray], intercept: float
) -> tuple[np.ndarray, np.ndarray]:
    """Each applicant's score and, per feature, the points below that feature's best bin
    (applicants x features): the score is the best bins' total minus the row of gaps."""
    features = list(points)
    chosen = [points[f].points[indices[f]] for f in features]
    score = np.asarray(sum(chosen), dtype=float) + float(intercept)
    gaps = np.column_stack([points[f].best - chosen[i] for i, f in enumerate(features)])
    return score, gaps


def value_words(value: object) -> str:
    """An applicant's value in a sentence: a number plainly, a category quoted."""
    if isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
        return f"{float(value):.4g}"
    return f"'{value}'"


def ranked_reasons(
    values: pd.DataFrame, lost: np.ndarray, unseen: np.ndarray, limit: int
) -> list[list[str]]:
    """Reasons from per-feature point losses (applicants x features), for models whose
    score is a reference minus those losses: every missing field and unseen category first,
    then the ``limit`` largest losses of at least half a point, with the applicant's value."""
    missing = values.isna().to_numpy()
    names = [humanise(str(f)) for f in values.columns]
    out: list[list[str]] = []
    for row, record in enumerate(values.itertuples(index=False)):
        stated, ranked = [], []
        for col, value in enumerate(record):
            effect = f"lowered the score by {max(lost[row, col], 0.0):.0f} points"
            if missing[row, col]:
                stated.append(
                    f"{names[col]}: missing value (not provided), {effect}; provide it to be "
                    "scored on it"
                )
            elif unseen[row, col]:
                words = "is a value not seen in training, scored as missing"
                stated.append(f"{names[col]}: {value_words(value)} {words}; {effect}")
            elif lost[row, col] >= 0.5:
                ranked.append((lost[row, col], f"{names[col]}: {value_words(value)} {effect}"))
        ranked.sort(key=lambda pair: -pair[0])
        out.append(stated + [sentence for _, sentence in ranked[:limit]])
    return out


def check_score_columns(frame: pd.DataFrame, features: Sequence[str], fitted: str) -> None:
    """Refuse a table to score that lacks a feature column ``fitted`` (the scorecard, the
    model) was fitted on, naming them."""
    absent = [f for f in features if f not in frame.columns]
    if absent:
        raise SchemaError(
            f"the table to score lacks the feature column(s) {absent} the {fitted} was "
            "fitted on; add them (missing values are allowed)."
        )
