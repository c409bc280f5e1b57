"""Summary statistics of one metric in one arm, the inputs of every test.

A test never needs the raw per-unit values: a count, a sum and a sum of squares (and sums
of products for ratio and covariate-adjusted metrics) carry everything the Welch,
sequential and Bayesian tests use, so the same maths runs on a data frame or on totals an
SQL query returned. The formulas are those of GrowthBook's stats engine (``gbstats``,
``gbstats/models/statistics.py``), so results agree with it number for number:

- sample variances divide by ``n - 1``, except for a proportion (``p * (1 - p)``);
- a ratio metric's variance is the delta-method variance of ``mean(num) / mean(den)``;
- the CUPED slope ``theta`` is fitted once on both arms pooled (``with_pooled_theta``) and
  the same ``theta`` adjusts each arm.

The properties follow ``gbstats`` on degenerate input (a variance of ``0`` when ``n < 2``);
the tests' gate (``_frequentist.require_testable``) turns that into an
``ExperimentDataError``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, TypeAlias

import numpy as np

from furima.exceptions import ExperimentDataError

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

__all__ = [
    "AdjustedRatioStats",
    "AdjustedStats",
    "MeanStats",
    "ProportionStats",
    "RatioStats",
    "Stats",
    "variance_of_ratio",
]


def _as_values(values: ArrayLike, what: str) -> np.ndarray:
    array = np.asarray(values, dtype=float).ravel()
    if array.size == 0:
        raise ExperimentDataError(f"{what} has no values: the group is empty; check the filter.")
    if not np.all(np.isfinite(array)):
        bad = int(np.sum(~np.isfinite(array)))
        raise ExperimentDataError(
            f"{what} has {bad} missing or infinite values; fill or drop them before the test."
        )
    return array


def _as_pair(
    first: ArrayLike, second: ArrayLike, names: tuple[str, str]
) -> tuple[np.ndarray, np.ndarray]:
    a = _as_values(first, names[0])
    b = _as_values(second, names[1])
    if a.size != b.size:
        raise ExperimentDataError(
            f"{names[0]} has {a.size} values but {names[1]} has {b.size}: they must hold one "
            "value per unit, in the same order."
        )
    return a, b


@dataclass(frozen=True)
class MeanStats:
    """A metric summed over units: ``n`` units, the sum and the sum of squares."""

    n: int
    sum: float
    sum_squares: float

    @classmethod
    def from_values(cls, values: ArrayLike) -> MeanStats:
        array = _as_values(values, "the metric")
        return cls(n=int(array.size), sum=float(array.sum()), sum_squares=float(array @ array))

    @property
    def mean(self) -> float:
        return self.sum / self.n if self.n else 0.0

    @property
    def variance(self) -> float:
        """Sample variance (divides by ``n - 1``); ``0`` below two units."""
        if self.n <= 1:
            return 0.0
        return (self.sum_squares - self.sum**2 / self.n) / (self.n - 1)

    @property
    def unadjusted_mean(self) -> float:
        return self.mean

    def __add__(self, other: MeanStats | ProportionStats) -> MeanStats:
        """Pool two groups of units (for example two periods or two segments)."""
        return _pool_means(self, other)


@dataclass(frozen=True)
class ProportionStats:
    """A 0/1 metric (converted or not): ``n`` units of which ``sum`` converted."""

    n: int
    sum: float

    @classmethod
    def from_values(cls, values: ArrayLike) -> ProportionStats:
        array = _as_values(values, "the conversion metric")
        if not np.all((array == 0) | (array == 1)):
            raise ExperimentDataError(
                "a proportion metric must hold only 0 and 1; use MeanStats for other values."
            )
        return cls(n=int(array.size), sum=float(array.sum()))

    @property
    def sum_squares(self) -> float:
        return self.sum

    @property
    def mean(self) -> float:
        return self.sum / self.n if self.n else 0.0

    @property
    def variance(self) -> float:
        """Bernoulli variance ``p * (1 - p)``, as gbstats uses it."""
        return self.mean * (1 - self.mean)

    @property
    def unadjusted_mean(self) -> float:
        return self.mean

    def __add__(self, other: MeanStats | ProportionStats) -> MeanStats:
        """Pool two groups; like gbstats, the pooled result is a ``MeanStats``."""
        return _pool_means(self, other)


Moments: TypeAlias = MeanStats | ProportionStats


def _pool_means(a: Moments, b: Moments) -> MeanStats:
    if not isinstance(b, MeanStats | ProportionStats):
        raise TypeError(f"cannot pool {type(a).__name__} with {type(b).__name__}")
    return MeanStats(n=a.n + b.n, sum=a.sum + b.sum, sum_squares=a.sum_squares + b.sum_squares)


def _covariance(n: int, a: Moments, b: Moments, sum_of_products: float) -> float:
    """Covariance of two per-unit quantities from their sums (gbstats ``compute_covariance``)."""
    if n <= 1:
        return 0.0
    if isinstance(a, ProportionStats) and isinstance(b, ProportionStats):
        return sum_of_products / n - a.sum * b.sum / n**2
    return (sum_of_products - a.sum * b.sum / n) / (n - 1)


def variance_of_ratio(
    mean_m: float, var_m: float, mean_d: float, var_d: float, cov: float
) -> float:
    """Delta-method variance of ``M / D``; ``0`` when the denominator's mean is ``0``."""
    if mean_d == 0:
        return 0.0
    return var_m / mean_d**2 + var_d * mean_m**2 / mean_d**4 - 2 * cov * mean_m / mean_d**3


@dataclass(frozen=True)
class RatioStats:
    """A ratio metric such as revenue per visit: per-unit numerator and denominator sums."""

    n: int
    numerator: Moments
    denominator: Moments
    sum_of_products: float

    @classmethod
    def from_values(cls, numerator: ArrayLike, denominator: ArrayLike) -> RatioStats:
        num, den = _as_pair(numerator, denominator, ("the numerator", "the denominator"))
        return cls(
            n=int(num.size),
            numerator=MeanStats.from_values(num),
            denominator=MeanStats.from_values(den),
            sum_of_products=float(num @ den),
        )

    @property
    def mean(self) -> float:
        """``sum(numerator) / sum(denominator)``; ``0`` when the denominator sums to ``0``."""
        return self.numerator.sum / self.denominator.sum if self.denominator.sum else 0.0

    @property
    def covariance(self) -> float:
        return _covariance(self.n, self.numerator, self.denominator, self.sum_of_products)

    @property
    def variance(self) -> float:
        """Per-unit delta-method variance of the ratio."""
        if self.denominator.mean == 0 or self.n <= 1:
            return 0.0
        return variance_of_ratio(
            self.numerator.mean,
            self.numerator.variance,
            self.denominator.mean,
            self.denominator.variance,
            self.covariance,
        )

    @property
    def unadjusted_mean(self) -> float:
        return self.mean

    def __add__(self, other: RatioStats) -> RatioStats:
        return RatioStats(
            n=self.n + other.n,
            numerator=self.numerator + other.numerator,
            denominator=self.denominator + other.denominator,
            sum_of_products=self.sum_of_products + other.sum_of_products,
        )


@dataclass(frozen=True)
class AdjustedStats:
    """A metric with a pre-period covariate for CUPED (CUPAC: a model-predicted ``pre``).

    The adjusted mean is ``mean(post) - theta * mean(pre)``; ``theta`` is ``None`` until
    ``with_pooled_theta`` fits it on both arms together (``None`` acts as ``0``).
    """

    n: int
    post: Moments
    pre: Moments
    sum_of_products: float
    theta: float | None = None

    @classmethod
    def from_values(cls, post: ArrayLike, pre: ArrayLike) -> AdjustedStats:
        post_values, pre_values = _as_pair(post, pre, ("the metric", "the pre-period covariate"))
        return cls(
            n=int(post_values.size),
            post=MeanStats.from_values(post_values),
            pre=MeanStats.from_values(pre_values),
            sum_of_products=float(post_values @ pre_values),
        )

    @property
    def _theta(self) -> float:
        return self.theta if self.theta else 0.0

    @property
    def mean(self) -> float:
        return self.post.mean - self._theta * self.pre.mean

    @property
    def unadjusted_mean(self) -> float:
        return self.post.mean

    @property
    def covariance(self) -> float:
        return _covariance(self.n, self.post, self.pre, self.sum_of_products)

    @property
    def variance(self) -> float:
        """Per-unit variance of ``post - theta * pre``."""
        if self.n <= 1:
            return 0.0
        theta = self._theta
        return self.post.variance + theta**2 * self.pre.variance - 2 * theta * self.covariance

    def __add__(self, other: AdjustedStats) -> AdjustedStats:
        """Pool two groups; ``theta`` must be fitted again on the pooled arms."""
        return AdjustedStats(
            n=self.n + other.n,
            post=self.post + other.post,
            pre=self.pre + other.pre,
            sum_of_products=self.sum_of_products + other.sum_of_products,
        )

    @staticmethod
    def pooled_theta(control: AdjustedStats, treatment: AdjustedStats) -> float:
        """The CUPED slope ``cov(post, pre) / var(pre)`` on both arms pooled; ``0`` when
        either pooled variance is ``0`` (the covariate then cannot help)."""
        n = control.n + treatment.n
        post = _joint(control.post, treatment.post, n)
        pre = _joint(control.pre, treatment.pre, n)
        if pre.variance == 0 or post.variance == 0:
            return 0.0
        products = control.sum_of_products + treatment.sum_of_products
        return _covariance(n, post, pre, products) / pre.variance

    @staticmethod
    def with_pooled_theta(
        control: AdjustedStats, treatment: AdjustedStats
    ) -> tuple[AdjustedStats, AdjustedStats]:
        """Both arms with the pooled ``theta`` (kept as given when both already have one)."""
        if control.theta is not None and treatment.theta is not None:
            return control, treatment
        theta = AdjustedStats.pooled_theta(control, treatment)
        return replace(control, theta=theta), replace(treatment, theta=theta)


def _joint(a: Moments, b: Moments, n: int) -> Moments:
    if isinstance(a, ProportionStats) and isinstance(b, ProportionStats):
        return ProportionStats(n=n, sum=a.sum + b.sum)
    if isinstance(a, MeanStats) and isinstance(b, MeanStats):
        return MeanStats(n=n, sum=a.sum + b.sum, sum_squares=a.sum_squares + b.sum_squares)
    raise ExperimentDataError(
        "the two arms summarise the covariate differently (a proportion in one, a mean in "
        "the other); summarise both arms the same way."
    )


@dataclass(frozen=True)
class AdjustedRatioStats:
    """CUPED for a ratio metric: a ratio ``numerator / denominator`` adjusted by the same
    ratio in the pre-period, ``post_ratio - theta * pre_ratio``.

    ``sum_a_b`` fields are per-unit sums of products (``num``/``den`` post period,
    ``pre_num``/``pre_den`` pre-period). Its variance is the delta-method variance over all
    four quantities (gbstats ``RegressionAdjustedRatioStatistic``).
    """

    n: int
    numerator: Moments
    denominator: Moments
    pre_numerator: Moments
    pre_denominator: Moments
    sum_num_den: float
    sum_num_pre_num: float
    sum_num_pre_den: float
    sum_den_pre_num: float
    sum_den_pre_den: float
    sum_pre_num_pre_den: float
    theta: float | None = None

    @classmethod
    def from_values(
        cls, numerator: ArrayLike, denominator: ArrayLike, pre_numerator: ArrayLike,
        pre_denominator: ArrayLike,
    ) -> AdjustedRatioStats:  # fmt: skip
        num, den = _as_pair(numerator, denominator, ("the numerator", "the denominator"))
        pre_num, pre_den = _as_pair(
            pre_numerator,
            pre_denominator,
            ("the pre-period numerator", "the pre-period denominator"),
        )
        _as_pair(num, pre_num, ("the numerator", "the pre-period numerator"))
        return cls(
            n=int(num.size),
            numerator=MeanStats.from_values(num),
            denominator=MeanStats.from_values(den),
            pre_numerator=MeanStats.from_values(pre_num),
            pre_denominator=MeanStats.from_values(pre_den),
            sum_num_den=float(num @ den),
            sum_num_pre_num=float(num @ pre_num),
            sum_num_pre_den=float(num @ pre_den),
            sum_den_pre_num=float(den @ pre_num),
            sum_den_pre_den=float(den @ pre_den),
            sum_pre_num_pre_den=float(pre_num @ pre_den),
        )

    @property
    def post_ratio(self) -> RatioStats:
        """The unadjusted ratio metric (what CUPED falls back to when ``theta`` is 0)."""
        return RatioStats(self.n, self.numerator, self.denominator, self.sum_num_den)

    @property
    def mean(self) -> float:
        if self.denominator.sum == 0 or self.pre_denominator.sum == 0:
            return 0.0
        pre_ratio = self.pre_numerator.sum / self.pre_denominator.sum
        return self.post_ratio.mean - (self.theta or 0.0) * pre_ratio

    @property
    def unadjusted_mean(self) -> float:
        return self.post_ratio.mean

    @property
    def moments_covariance(self) -> np.ndarray:
        """4x4 per-unit covariance of (numerator, denominator, pre-numerator, pre-denominator)."""
        parts = (self.numerator, self.denominator, self.pre_numerator, self.pre_denominator)
        products = {
            (0, 1): self.sum_num_den, (0, 2): self.sum_num_pre_num, (0, 3): self.sum_num_pre_den,
            (1, 2): self.sum_den_pre_num, (1, 3): self.sum_den_pre_den,
            (2, 3): self.sum_pre_num_pre_den,
        }  # fmt: skip
        matrix = np.diag([part.variance for part in parts])
        for (i, j), total in products.items():
            matrix[i, j] = matrix[j, i] = _covariance(self.n, parts[i], parts[j], total)
        return matrix

    @property
    def gradient(self) -> np.ndarray:
        """Gradient of ``num/den - theta * pre_num/pre_den`` in the four means."""
        m, d = self.numerator.mean, self.denominator.mean
        pm, pd = self.pre_numerator.mean, self.pre_denominator.mean
        if d == 0 or pd == 0:
            return np.zeros(4)
        theta = self.theta or 0.0
        return np.array([1 / d, -m / d**2, -theta / pd, theta * pm / pd**2])

    @property
    def variance(self) -> float:
        gradient = self.gradient
        return float(gradient @ self.moments_covariance @ gradient)

    def _pre_terms(self) -> tuple[float, float]:
        """(variance of the pre-period part, its covariance with the post part), theta = 1."""
        gradient = replace(self, theta=1.0).gradient
        matrix = self.moments_covariance
        pre, post = gradient[2:], gradient[:2]
        return float(pre @ matrix[2:, 2:] @ pre), float(pre @ matrix[2:, :2] @ post)

    def __add__(self, other: AdjustedRatioStats) -> AdjustedRatioStats:
        """Pool two groups; ``theta`` must be fitted again on the pooled arms."""
        sums = {
            name: getattr(self, name) + getattr(other, name)
            for name in self.__dataclass_fields__
            if name != "theta"
        }
        return AdjustedRatioStats(**sums)

    @staticmethod
    def with_pooled_theta(
        control: AdjustedRatioStats, treatment: AdjustedRatioStats
    ) -> tuple[AdjustedRatioStats, AdjustedRatioStats]:
        """Both arms with the ``theta`` that minimises the pooled variance (gbstats
        ``compute_theta_regression_adjusted_ratio``; ``0`` below ``1e-8``)."""
        if control.theta is not None and treatment.theta is not None:
            return control, treatment
        (var_a, cov_a), (var_b, cov_b) = control._pre_terms(), treatment._pre_terms()
        theta = 0.0 if var_a + var_b == 0 else -(cov_a + cov_b) / (var_a + var_b)
        theta = 0.0 if abs(theta) < 1e-8 else theta
        return replace(control, theta=theta), replace(treatment, theta=theta)


Stats: TypeAlias = MeanStats | ProportionStats | RatioStats | AdjustedStats | AdjustedRatioStats
