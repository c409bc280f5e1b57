"""A/A and power simulations on real users: does each test keep its promise on real metrics?

Real users are split into control and treatment at random (exactly half each, 1,000 splits,
seeded) and each split is analysed as an experiment would be:

- ``fpr_fixed``: furima's Welch test once, when every user has arrived;
- ``fpr_sequential``: furima's sequential test peeked after every 5% of users (20 looks),
  rejecting if any look rejects; valid under peeking, so at most alpha;
- ``fpr_naive_peeking``: the same Welch test peeked the same way, far above alpha;
- ``fpr_cuped`` and ``variance_reduction`` (Taobao only): the CUPED test with a pre-period
  covariate, and one minus the ratio of its variance to the plain test's (the squared standard
  errors the tests report, averaged over splits; ``variance_reduction_empirical``: the spread
  of the estimates across splits), against the squared correlation of metric and covariate
  (what CUPED removes in theory).

Populations: Taobao UserBehavior (814 users, timestamped, nine days, Beijing time): the metric is
a user's events in the last four days, the covariate their events in the first five, and users
arrive in the order of their first event in the last four days. Amazon Beauty and Sports (5-core
review sequences, no timestamps): the metric is a user's event count, heavy-tailed, and users
arrive in a random order drawn per split.

Power: the same splits (same seed, same draws) with a known effect injected into treated users:
each treated user's count ``c`` becomes ``c + Binomial(c, 0.02)``, i.e. each of their events is
duplicated with probability 2% (a 2% lift in expectation), after the split and before the tests.

Per split and per look the tests only need each arm's count, sum and sum of squares (and for
CUPED the covariate's sum, sum of squares and the sum of products): these come from cumulative
sums over the users in arrival order, vectorised over splits, and furima's tests run on them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from furima.experiments._frequentist import welch_test
from furima.experiments._results import Difference, Effect
from furima.experiments._sequential import sequential_test
from furima.experiments._statistics import AdjustedStats, MeanStats

__all__ = [
    "Population",
    "SplitSums",
    "amazon_population",
    "run_aa",
    "run_power",
    "simulate_splits",
    "taobao_population",
]

TAOBAO = Path("interactions") / "taobao_userbehavior_sample.parquet"
BEAUTY = Path("interactions") / "amazon_beauty.txt"
SPORTS = Path("interactions") / "amazon_sports_and_outdoors.txt"
EXPERIMENT_START = 1511971200
"""2017-11-30 00:00 Beijing time: Taobao's last four days (the experiment) start here."""
SPLITS = 1000
PEEKS = 20
ALPHA = 0.05
LIFT = 0.02
DIFFERENCE: Difference = "absolute"
"""Under the null the absolute and relative tests ask the same question; absolute is exact Welch."""
CHUNK = 50
"""Splits simulated at once: bounds memory at about 50 x users x 8 bytes per array."""


@dataclass(frozen=True)
class Population:
    """The users of one log: their metric (and pre-period covariate) in arrival order."""

    name: str
    path: Path
    metric: np.ndarray
    covariate: np.ndarray | None
    arrival_known: bool
    events: int


@dataclass(frozen=True)
class ArmSums:
    """One arm's running sums at each look; arrays of shape ``(splits, peeks)``."""

    n: np.ndarray
    total: np.ndarray
    squares: np.ndarray
    pre_total: np.ndarray | None = None
    pre_squares: np.ndarray | None = None
    products: np.ndarray | None = None

    def mean_stats(self, split: int, peek: int) -> MeanStats:
        """The arm's metric at one look of one split, as furima's summary statistics."""
        return MeanStats(
            n=int(self.n[split, peek]),
            sum=float(self.total[split, peek]),
            sum_squares=float(self.squares[split, peek]),
        )

    def adjusted_stats(self, split: int, peek: int) -> AdjustedStats:
        """The arm's metric and covariate at one look, for CUPED (theta pooled by the test)."""
        assert self.pre_total is not None and self.pre_squares is not None
        assert self.products is not None, "CUPED needs a population with a covariate"
        pre = MeanStats(
            n=int(self.n[split, peek]),
            sum=float(self.pre_total[split, peek]),
            sum_squares=float(self.pre_squares[split, peek]),
        )
        return AdjustedStats(
            n=int(self.n[split, peek]),
            post=self.mean_stats(split, peek),
            pre=pre,
            sum_of_products=float(self.products[split, peek]),
        )


@dataclass(frozen=True)
class SplitSums:
    """Both arms' running sums over all splits and looks."""

    control: ArmSums
    treatment: ArmSums

    @property
    def splits(self) -> int:
        return int(self.control.n.shape[0])

    @property
    def peeks(self) -> int:
        return int(self.control.n.shape[1])


def taobao_population(data: Path) -> Population:
    """Taobao users: events in the last four days (metric) and in the first five (covariate),
    ordered by their first event in the last four days (when they would enter the test)."""
    import pandas as pd

    log = pd.read_parquet(data / TAOBAO, columns=["user_id", "timestamp"])
    in_test = log["timestamp"] >= EXPERIMENT_START
    users = pd.Index(np.sort(log["user_id"].unique()))
    metric = log[in_test].groupby("user_id").size().reindex(users, fill_value=0)
    covariate = log[~in_test].groupby("user_id").size().reindex(users, fill_value=0)
    arrival = log[in_test].groupby("user_id")["timestamp"].min().reindex(users)
    order = np.argsort(arrival.fillna(np.inf).to_numpy(), kind="stable")
    return Population(
        name="taobao",
        path=TAOBAO,
        metric=metric.to_numpy(np.float64)[order],
        covariate=covariate.to_numpy(np.float64)[order],
        arrival_known=True,
        events=len(log),
    )


def amazon_population(data: Path, path: Path, name: str) -> Population:
    """Amazon users (one line each: user id, then item ids): the metric is the event count."""
    with (data / path).open(encoding="utf-8") as lines:
        counts = np.array([len(line.split()) - 1 for line in lines if line.strip()], np.float64)
    return Population(
        name=name,
        path=path,
        metric=counts,
        covariate=None,
        arrival_known=False,
        events=int(counts.sum()),
    )


def peek_ends(users: int, peeks: int = PEEKS) -> np.ndarray:
    """How many users have arrived at each look (every ``1/peeks`` of them; the last is all)."""
    return np.ceil(users * np.arange(1, peeks + 1) / peeks).astype(np.int64)


def simulate_splits(
    population: Population,
    splits: int,
    seed: int,
    *,
    lift: float | None = None,
    peeks: int = PEEKS,
) -> SplitSums:
    """Running sums of each arm at each look for ``splits`` random halvings of the users.

    The splits depend on ``seed`` only, so the power run (``lift`` given: each treated count
    ``c`` becomes ``c + Binomial(c, lift)``, drawn from a second generator) sees the same
    splits as the A/A run.
    """
    split_rng = np.random.default_rng(seed)
    effect_rng = np.random.default_rng([seed, 1])
    chunks = [
        _chunk_sums(population, min(CHUNK, splits - start), split_rng, effect_rng, lift, peeks)
        for start in range(0, splits, CHUNK)
    ]
    return SplitSums(
        control=_concatenate([chunk.control for chunk in chunks]),
        treatment=_concatenate([chunk.treatment for chunk in chunks]),
    )


def _chunk_sums(
    population: Population,
    size: int,
    split_rng: np.random.Generator,
    effect_rng: np.random.Generator,
    lift: float | None,
    peeks: int,
) -> SplitSums:
    users = len(population.metric)
    positions = np.tile(np.arange(users), (size, 1))
    order = positions if population.arrival_known else split_rng.permuted(positions, axis=1)
    treated = split_rng.permuted(positions < users // 2, axis=1)
    post = population.metric[order]
    if lift is not None:
        post = post + treated * effect_rng.binomial(post.astype(np.int64), lift)
    pre = None if population.covariate is None else population.covariate[order]
    starts = np.concatenate([[0], peek_ends(users, peeks)[:-1]])
    return SplitSums(
        control=_arm_sums(~treated, post, pre, starts),
        treatment=_arm_sums(treated, post, pre, starts),
    )


def _arm_sums(
    member: np.ndarray, post: np.ndarray, pre: np.ndarray | None, starts: np.ndarray
) -> ArmSums:
    def running(values: np.ndarray) -> np.ndarray:
        return np.cumsum(np.add.reduceat(np.where(member, values, 0.0), starts, axis=1), axis=1)

    if pre is None:
        return ArmSums(running(np.ones_like(post)), running(post), running(post**2))
    return ArmSums(
        running(np.ones_like(post)),
        running(post),
        running(post**2),
        running(pre),
        running(pre**2),
        running(post * pre),
    )


def _concatenate(arms: list[ArmSums]) -> ArmSums:
    def joined(name: str) -> np.ndarray | None:
        parts = [getattr(arm, name) for arm in arms]
        return None if parts[0] is None else np.concatenate(parts, axis=0)

    n, total, squares = joined("n"), joined("total"), joined("squares")
    assert n is not None and total is not None and squares is not None
    return ArmSums(
        n, total, squares, joined("pre_total"), joined("pre_squares"), joined("products")
    )


Test = Callable[[MeanStats, MeanStats], Effect]
_welch = partial(welch_test, difference=DIFFERENCE, alpha=ALPHA)
_sequential = partial(sequential_test, difference=DIFFERENCE, alpha=ALPHA)


def rejections(sums: SplitSums, test: Test, peeks: list[int]) -> np.ndarray:
    """Whether ``test`` rejects no effect, per split (rows) and chosen look (columns)."""
    return np.array(
        [
            [
                test(sums.control.mean_stats(s, k), sums.treatment.mean_stats(s, k)).significant
                for k in peeks
            ]
            for s in range(sums.splits)
        ],
        dtype=bool,
    )


def cuped_effects(sums: SplitSums) -> tuple[list[Effect], list[Effect]]:
    """Welch and CUPED effects of each split at the last look."""
    last = sums.peeks - 1
    plain, cuped = [], []
    for s in range(sums.splits):
        control, treatment = sums.control, sums.treatment
        plain.append(_welch(control.mean_stats(s, last), treatment.mean_stats(s, last)))
        adjusted = AdjustedStats.with_pooled_theta(
            control.adjusted_stats(s, last), treatment.adjusted_stats(s, last)
        )
        cuped.append(_welch(*adjusted))
    return plain, cuped


def theoretical_reduction(population: Population) -> float:
    """The squared correlation of metric and covariate: the share of variance CUPED removes."""
    assert population.covariate is not None
    return float(np.corrcoef(population.metric, population.covariate)[0, 1] ** 2)


def _populations(data: Path, names: tuple[str, ...]) -> list[Population]:
    loaders: dict[str, Callable[[], Population]] = {
        "taobao": lambda: taobao_population(data),
        "beauty": lambda: amazon_population(data, BEAUTY, "beauty"),
        "sports": lambda: amazon_population(data, SPORTS, "sports"),
    }
    return [loaders[name]() for name in names]


def rate_interval(rate: float, splits: int = SPLITS) -> list[float]:
    """95% Wilson interval of a rate simulated over ``splits`` splits: how far chance alone
    moves it (about +-0.014 around 0.05 for 1,000 splits)."""
    from statsmodels.stats.proportion import proportion_confint

    low, high = proportion_confint(round(rate * splits), splits, alpha=0.05, method="wilson")
    return [round(float(low), 4), round(float(high), 4)]


def _rows(
    case: str,
    population: Population,
    values: dict[str, tuple[float, float]],
    seconds: float,
    seed: int,
) -> list[dict[str, Any]]:
    """One JSON row per metric, ``values`` mapping each metric to (furima, reference)."""
    common: dict[str, Any] = {
        "data": str(population.path),
        "rows": population.events,
        "users": len(population.metric),
        "splits": SPLITS,
        "seconds": round(seconds, 2),
        "seed": seed,
    }
    rows: list[dict[str, Any]] = []
    for metric, (ours, reference) in values.items():
        row: dict[str, Any] = {"benchmark": "experiments", "case": case, "metric": metric}
        row |= {"furima": round(ours, 6), "reference": round(reference, 6), **common}
        if metric.startswith(("fpr_", "power_")):
            row["furima_interval"] = rate_interval(ours)
        rows.append(row)
    return rows


def _simulated_rates(population: Population, seed: int, lift: float | None) -> dict[str, float]:
    sums = simulate_splits(population, SPLITS, seed, lift=lift)
    looks = list(range(sums.peeks))
    naive = rejections(sums, _welch, looks)
    sequential = rejections(sums, _sequential, looks)
    rates = {
        "fixed": float(naive[:, -1].mean()),
        "sequential": float(sequential.any(axis=1).mean()),
        "naive_peeking": float(naive.any(axis=1).mean()),
    }
    if population.covariate is not None:
        plain, cuped = cuped_effects(sums)
        rates["cuped"] = float(np.mean([effect.significant for effect in cuped]))
        plain_variance = np.mean([effect.standard_error**2 for effect in plain])
        cuped_variance = np.mean([effect.standard_error**2 for effect in cuped])
        rates["variance_reduction"] = float(1 - cuped_variance / plain_variance)
        spread = np.var([e.estimate for e in cuped]) / np.var([e.estimate for e in plain])
        rates["variance_reduction_empirical"] = float(1 - spread)
    return rates


def run_aa(data: Path, seed: int) -> list[dict[str, Any]]:
    """A/A false-positive rates (cases ``aa_taobao``, ``aa_beauty``, ``aa_sports``)."""
    rows: list[dict[str, Any]] = []
    for population in _populations(data, ("taobao", "beauty", "sports")):
        started = time.perf_counter()
        rates = _simulated_rates(population, seed, lift=None)
        seconds = time.perf_counter() - started
        tests = ("fixed", "sequential", "naive_peeking", "cuped")
        values = {f"fpr_{test}": (rates[test], ALPHA) for test in tests if test in rates}
        for name in ("variance_reduction", "variance_reduction_empirical"):
            if name in rates:
                values[name] = (rates[name], theoretical_reduction(population))
        rows += _rows(f"aa_{population.name}", population, values, seconds, seed)
    return rows


def analytic_power(population: Population, *, adjusted: bool = False) -> float:
    """statsmodels' power of a two-sample t-test against the injected lift at this sample
    size (equal arms); ``adjusted`` shrinks the noise by CUPED's theoretical reduction."""
    from statsmodels.stats.power import TTestIndPower

    spread = float(np.std(population.metric, ddof=1))
    if adjusted:
        spread *= float(np.sqrt(1 - theoretical_reduction(population)))
    effect_size = LIFT * float(np.mean(population.metric)) / spread
    users = len(population.metric) // 2
    return float(TTestIndPower().power(effect_size, nobs1=users, alpha=ALPHA, ratio=1.0))


def run_power(data: Path, seed: int) -> list[dict[str, Any]]:
    """Power against a 2% lift at equal sample size (cases ``power_taobao``, ``power_beauty``).

    The reference is statsmodels' analytic power of the fixed-horizon t-test (with CUPED's
    theoretical variance for ``power_cuped``); the sequential test, which pays for peeking,
    is compared with the fixed test's analytic power, its ceiling.
    """
    rows: list[dict[str, Any]] = []
    for population in _populations(data, ("taobao", "beauty")):
        started = time.perf_counter()
        rates = _simulated_rates(population, seed, lift=LIFT)
        seconds = time.perf_counter() - started
        fixed = analytic_power(population)
        values = {
            "power_welch": (rates["fixed"], fixed),
            "power_sequential": (rates["sequential"], fixed),
        }
        if "cuped" in rates:
            values["power_cuped"] = (rates["cuped"], analytic_power(population, adjusted=True))
        rows += _rows(f"power_{population.name}", population, values, seconds, seed)
    return rows
