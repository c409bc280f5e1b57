"""Sample-ratio mismatch: did the arms receive the traffic shares they were meant to?

A split that drifts from its design (a redirect that drops users, a bot filter that hits
one arm, a cache that serves the old page) biases every metric, so the check runs before
any result is shown. It is Pearson's chi-square goodness-of-fit test of the observed unit
counts against the expected shares, computed as GrowthBook's ``check_srm``
(``gbstats/utils.py``): arms with a zero weight are left out of the statistic, the degrees
of freedom are ``arms - 1``, and no units at all gives a p-value of ``1``. A very small
threshold (``0.001`` by default) is used because the check runs on every experiment and
every look.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from furima.exceptions import ExperimentConfigError, ExperimentDataError

__all__ = ["SrmCheck", "srm_check"]


@dataclass(frozen=True)
class SrmCheck:
    """The outcome of a sample-ratio-mismatch check.

    Attributes:
        p_value: Chi-square p-value of the observed split under the expected one.
        chi2: The chi-square statistic.
        observed: Units per arm.
        expected: Units per arm the weights predict for the same total.
        ok: ``False`` when ``p_value`` is below the threshold or an arm with zero weight
            received units: the results should not be trusted.
        message: One sentence saying what was found.
    """

    p_value: float
    chi2: float
    observed: list[int]
    expected: list[float]
    ok: bool
    message: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def srm_check(
    observed: Sequence[int],
    weights: Sequence[float] | None = None,
    *,
    threshold: float = 0.001,
) -> SrmCheck:
    """Chi-square test of the units per arm against the design's ``weights``.

    Args:
        observed: Units assigned to each arm, control first.
        weights: Intended traffic share of each arm (any positive scale); equal shares when
            ``None``.
        threshold: A p-value below it flags a mismatch.

    Raises:
        ExperimentDataError: negative counts, or counts and weights of different lengths.
        ExperimentConfigError: fewer than two arms, negative weights or no positive weight.
    """
    counts = _counts(observed)
    shares = _weights(weights, len(counts))
    total = sum(counts)
    total_weight = sum(shares)
    expected = [share / total_weight * total for share in shares]
    if total == 0:
        return SrmCheck(1.0, 0.0, counts, expected, True, "no units observed yet.")
    chi2 = sum((o - e) ** 2 / e for o, e in zip(counts, expected, strict=True) if e > 0)
    p_value = _chi2_sf(chi2, len(counts) - 1)
    stray = [i for i, (o, w) in enumerate(zip(counts, shares, strict=True)) if w == 0 and o > 0]
    ok = p_value >= threshold and not stray
    return SrmCheck(p_value, chi2, counts, expected, ok, _message(p_value, threshold, stray))


def _chi2_sf(statistic: float, dof: int) -> float:
    from scipy.stats import chi2

    return float(chi2.sf(statistic, dof))


def _counts(observed: Sequence[int]) -> list[int]:
    counts = [int(count) for count in observed]
    if len(counts) < 2:
        raise ExperimentConfigError(
            f"a sample-ratio check needs at least two arms, got {len(counts)}."
        )
    if any(
        count < 0 or count != original for count, original in zip(counts, observed, strict=True)
    ):
        raise ExperimentDataError(
            f"unit counts must be non-negative whole numbers, got {list(observed)}."
        )
    return counts


def _weights(weights: Sequence[float] | None, arms: int) -> list[float]:
    if weights is None:
        return [1.0] * arms
    shares = [float(weight) for weight in weights]
    if len(shares) != arms:
        raise ExperimentDataError(
            f"{arms} arms were observed but {len(shares)} weights were given; pass one "
            "weight per arm, in the same order."
        )
    if any(not math.isfinite(w) or w < 0 for w in shares) or sum(shares) <= 0:
        raise ExperimentConfigError(f"weights must be non-negative and not all zero, got {shares}.")
    return shares


def _message(p_value: float, threshold: float, stray: list[int]) -> str:
    if stray:
        return (
            f"arm(s) {stray} have zero weight but received units: the assignment is broken; "
            "do not trust the results."
        )
    if p_value < threshold:
        return (
            f"sample-ratio mismatch (p = {p_value:.3g} < {threshold}): the split differs from "
            "the design; find the cause before trusting any result."
        )
    return f"no sample-ratio mismatch (p = {p_value:.3g})."
