"""Interleaving against an A/B test: users each needs to pick the better of two recommenders.

Data: Amazon Beauty (``interactions/amazon_beauty.txt``, purchase sequences in order). The test
period is the last 30% of each user's events (at least one): the recommenders learn from every
event before it, and each held-out purchase is a visit. At a visit the user is shown the top
``k`` = 10 for their history so far and clicks if the item they bought next is in it; every
rank is examined (no position decay), the simplest model in which a click means "shown and
wanted". Users come back as often as they bought, so clicks per user are heavy-tailed, as real
engagement metrics are. (With one visit per user, leave-last-out, every user has the same
single chance to click and the A/B metric loses the between-user spread interleaving removes;
the report that added this module gives those numbers too.)

Recommenders (furima's own): :class:`~furima.recommend.Popularity`,
:class:`~furima.recommend.ItemKNN` and :class:`~furima.recommend.EASE` (the strongest
generator that fits in a minute; the sequential blend needs half an hour). Comparisons:

- ``user_ratio``: item-kNN (A) against EASE (B), two strong recommenders a few percent apart:
  the challenger-against-champion decision interleaving exists for;
- ``user_ratio_balanced``: the same pair with balanced interleaving instead of team draft;
- ``user_ratio_popularity``: popularity (A) against EASE (B), far apart: both tests need few
  users, and interleaving saves less.

A/B outcome per user: their clicks over their visits under A, and under B. Interleaving
outcome per user: every visit shows an interleaved list (:func:`replay_outcomes`), the credits
are summed over the user's visits and the user prefers the ranking credited more (``a``,
``b`` or a tie); replayed twelve times with different coins.

Users needed: the smallest total ``n`` at which the test picks the better recommender (the one
better on all users) at alpha 0.05 two-sided in 80% of 2,000 resamples of ``n`` users, found by
doubling and bisection. A/B: half the users see A, half B, Welch's test on clicks per user.
Interleaving: every user sees the interleaved lists, binomial sign test on the non-tied users.
Drawing ``n`` users with replacement from the pool draws how many of them take each distinct
outcome from a multinomial, so the resamples draw those counts directly: the same distribution,
at no cost per user. Cross-check: the normal-approximation sample sizes from the per-user
effect sizes (``*_formula``), and a 95% bootstrap interval of their ratio over users.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from furima.experiments._interleaving import InterleavingMethod, replay_outcomes

__all__ = ["Outcomes", "Visits", "run_interleaving", "sign_test_p_values", "users_needed"]

BEAUTY = Path("interactions") / "amazon_beauty.txt"
TEST_SHARE = 0.3
K = 10
ALPHA = 0.05
POWER = 0.8
RESAMPLES = 2000
REPLAYS = 12
PUBLISHED_LOWEST_RATIO = 10.0
"""Industrial reports put interleaving at 10x to 100x fewer users (Chapelle et al. 2012;
Netflix 2017); the issue's target is the low end."""
_SCORE_BATCH = 4000


@dataclass(frozen=True)
class Visits:
    """The test period: one visit per held-out purchase.

    Attributes:
        user: Dense user index of each visit.
        target: The item bought at the visit (clicked if shown).
        lists: Each recommender's top ``K`` per visit, ``[visits, K]``.
        n_users: Users in the log (every user has at least one visit).
        events: Events in the log.
    """

    user: np.ndarray
    target: np.ndarray
    lists: dict[str, np.ndarray]
    n_users: int
    events: int


@dataclass(frozen=True)
class Outcomes:
    """Per-user outcomes of one comparison.

    Attributes:
        clicks_a: Clicks over the user's visits when shown A's lists.
        clicks_b: Same for B.
        preference: Interleaving outcome per replay and user: +1 B credited more, -1 A, 0 tie;
            shape ``[replays, users]``.
    """

    clicks_a: np.ndarray
    clicks_b: np.ndarray
    preference: np.ndarray

    @property
    def b_is_better(self) -> bool:
        return bool(self.clicks_b.mean() > self.clicks_a.mean())


def _split(interactions: Any) -> tuple[Any, np.ndarray, list[np.ndarray], np.ndarray]:
    """Training events, and per visit: user, history so far, item bought."""
    offsets = interactions.offsets()
    counts = np.diff(offsets)
    held_out = np.maximum(1, np.floor(counts * TEST_SHARE)).astype(np.int64)
    position = np.arange(len(interactions)) - np.repeat(offsets[:-1], counts)
    train = interactions.subset(position < np.repeat(counts - held_out, counts))
    visit = np.flatnonzero(position >= np.repeat(counts - held_out, counts))
    users = interactions.user[visit].astype(np.int64)
    histories = [interactions.item[offsets[u] : i] for u, i in zip(users, visit, strict=True)]
    return train, users, histories, interactions.item[visit].astype(np.int64)


def _top_k(model: Any, histories: list[np.ndarray]) -> np.ndarray:
    batches = range(0, len(histories), _SCORE_BATCH)
    return np.concatenate([model.recommend(histories[s : s + _SCORE_BATCH], K)[0] for s in batches])


def _fit_and_rank(data: Path) -> Visits:
    """Fit the recommenders on the events before the test period and rank every visit."""
    from furima.catalog import read_sequences
    from furima.recommend import EASE, ItemKNN, Popularity

    interactions = read_sequences(data / BEAUTY)
    train, users, histories, targets = _split(interactions)
    models = {"popularity": Popularity(), "item_knn": ItemKNN(), "ease": EASE()}
    lists = {name: _top_k(model.fit(train), histories) for name, model in models.items()}
    return Visits(users, targets, lists, interactions.n_users, len(interactions))


def _outcomes(
    visits: Visits, name_a: str, name_b: str, method: InterleavingMethod, seed: int
) -> Outcomes:
    lists_a, lists_b = visits.lists[name_a], visits.lists[name_b]
    replayed = [
        (row_a.tolist(), row_b.tolist(), {int(target)})
        for row_a, row_b, target in zip(lists_a, lists_b, visits.target, strict=True)
    ]
    code = {"a": -1, "b": 1, "tie": 0}
    preference = [
        np.sign(
            np.bincount(
                visits.user,
                weights=[
                    code[o] for o in replay_outcomes(replayed, k=K, method=method, seed=seed + r)
                ],
                minlength=visits.n_users,
            )
        )
        for r in range(REPLAYS)
    ]

    def clicks(lists: np.ndarray) -> np.ndarray:
        hits = (lists == visits.target[:, None]).any(axis=1)
        return np.bincount(visits.user, weights=hits, minlength=visits.n_users).astype(np.int64)

    return Outcomes(clicks(lists_a), clicks(lists_b), np.asarray(preference, dtype=np.int8))


def _resampled_sums(
    values: np.ndarray, n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Sum and sum of squares of ``n`` users drawn with replacement, per resample."""
    distinct, counts = np.unique(values, return_counts=True)
    drawn = rng.multinomial(n, counts / counts.sum(), RESAMPLES)
    return drawn @ distinct.astype(np.float64), drawn @ (distinct.astype(np.float64) ** 2)


def _welch_from_sums(
    total: np.ndarray, squares: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    mean = total / n
    return mean, np.sqrt(np.maximum(squares - n * mean**2, 0) / (n - 1))


def _ab_power(outcomes: Outcomes, rng: np.random.Generator) -> Callable[[int], float]:
    """Power of Welch's test at ``n`` users in all (half per arm), by resampling."""
    from scipy.stats import ttest_ind_from_stats

    sign = 1.0 if outcomes.b_is_better else -1.0

    def power(n: int) -> float:
        n_a, n_b = n // 2, n - n // 2
        mean_a, std_a = _welch_from_sums(*_resampled_sums(outcomes.clicks_a, n_a, rng), n_a)
        mean_b, std_b = _welch_from_sums(*_resampled_sums(outcomes.clicks_b, n_b, rng), n_b)
        with np.errstate(divide="ignore", invalid="ignore"):
            test = ttest_ind_from_stats(mean_b, std_b, n_b, mean_a, std_a, n_a, equal_var=False)
        right = (np.nan_to_num(test.pvalue, nan=1.0) < ALPHA) & (sign * test.statistic > 0)
        return float(right.mean())

    return power


def sign_test_p_values(wins_a: np.ndarray, wins_b: np.ndarray) -> np.ndarray:
    """Two-sided exact binomial p-values of ``wins_b`` among ``wins_a + wins_b`` at 0.5,
    vectorised (the same numbers as ``scipy.stats.binomtest``; p = 1 with no decided user)."""
    from scipy.stats import binom

    decided = wins_a + wins_b
    tail = binom.cdf(np.minimum(wins_a, wins_b), np.maximum(decided, 1), 0.5)
    return np.where(decided > 0, np.minimum(1.0, 2 * tail), 1.0)


def _interleaving_power(outcomes: Outcomes, rng: np.random.Generator) -> Callable[[int], float]:
    """Power of the sign test at ``n`` users, by resampling (user and replay)."""
    shares = [(outcomes.preference == value).mean() for value in (-1, 1, 0)]

    def power(n: int) -> float:
        counts = rng.multinomial(n, shares, RESAMPLES)
        wins_a, wins_b = counts[:, 0], counts[:, 1]
        right = wins_b > wins_a if outcomes.b_is_better else wins_a > wins_b
        return float(((sign_test_p_values(wins_a, wins_b) < ALPHA) & right).mean())

    return power


def users_needed(power: Callable[[int], float], *, start: int = 16, limit: int = 10**8) -> int:
    """Smallest ``n`` with ``power(n) >= POWER``: doubling, then bisection to 1%."""
    low, high = start // 2, start
    while power(high) < POWER:
        if high >= limit:
            raise RuntimeError(f"power stays under {POWER} up to {limit} users")
        low, high = high, high * 2
    while high - low > max(1, high // 100):
        middle = (low + high) // 2
        low, high = (low, middle) if power(middle) >= POWER else (middle, high)
    return high


def _z_squared() -> float:
    from scipy.stats import norm

    return float((norm.ppf(1 - ALPHA / 2) + norm.ppf(POWER)) ** 2)


def _formula_ns(
    clicks_a: np.ndarray, clicks_b: np.ndarray, preference: np.ndarray
) -> tuple[float, float]:
    """Normal-approximation totals: A/B (two arms) and interleaving (one-sample on +1/0/-1)."""
    z2 = _z_squared()
    n_ab = 2 * z2 * (clicks_a.var() + clicks_b.var()) / (clicks_b.mean() - clicks_a.mean()) ** 2
    n_il = z2 * preference.var() / preference.mean() ** 2
    return float(n_ab), float(n_il)


def _bootstrap_ratio(outcomes: Outcomes, rng: np.random.Generator) -> list[float]:
    """95% percentile interval of the formula ratio over 400 resamples of users."""
    n_users = len(outcomes.clicks_a)
    ratios = []
    for _ in range(400):
        pick = rng.integers(0, n_users, n_users)
        n_ab, n_il = _formula_ns(
            outcomes.clicks_a[pick], outcomes.clicks_b[pick], outcomes.preference[:, pick]
        )
        ratios.append(n_ab / n_il)
    low, high = np.percentile(ratios, [2.5, 97.5])
    return [round(float(low), 2), round(float(high), 2)]


def _effect_sizes(outcomes: Outcomes) -> dict[str, float]:
    """Per-user effect sizes: Cohen's d of clicks per user (A/B) and mean over sd of the
    per-user preference (interleaving), with the rates behind them."""
    a, b, pref = outcomes.clicks_a, outcomes.clicks_b, outcomes.preference.ravel()
    pooled_sd = np.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2)
    figures = {
        "clicks_per_user_a": a.mean(),
        "clicks_per_user_b": b.mean(),
        "clicks_sd_a": a.std(ddof=1),
        "clicks_sd_b": b.std(ddof=1),
        "ab_effect_d": (b.mean() - a.mean()) / pooled_sd,
        "wins_a_share": (pref == -1).mean(),
        "wins_b_share": (pref == 1).mean(),
        "ties_share": (pref == 0).mean(),
        "interleaving_effect_d": pref.mean() / pref.std(ddof=1),
    }
    return {name: round(float(value), 5) for name, value in figures.items()}


def _compare(outcomes: Outcomes, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    n_ab = users_needed(_ab_power(outcomes, rng))
    n_il = users_needed(_interleaving_power(outcomes, rng))
    formula_ab, formula_il = _formula_ns(outcomes.clicks_a, outcomes.clicks_b, outcomes.preference)
    return {
        "furima": round(n_ab / n_il, 2),
        "n_ab": n_ab,
        "n_interleaving": n_il,
        "n_ab_formula": math.ceil(formula_ab),
        "n_interleaving_formula": math.ceil(formula_il),
        "ratio_formula": round(formula_ab / formula_il, 2),
        "ratio_formula_ci95": _bootstrap_ratio(outcomes, rng),
        **_effect_sizes(outcomes),
    }


def _check_sign_test() -> None:
    """The vectorised sign test must give scipy's binomtest numbers."""
    from scipy.stats import binomtest

    wins_a, wins_b = np.array([0, 3, 10, 7, 40]), np.array([5, 3, 2, 12, 61])
    ours = sign_test_p_values(wins_a, wins_b)
    theirs = [
        binomtest(int(b), int(a + b), 0.5).pvalue for a, b in zip(wins_a, wins_b, strict=True)
    ]
    if not np.allclose(ours, theirs, rtol=1e-12, atol=0):
        raise AssertionError(f"vectorised sign test {ours} differs from binomtest {theirs}")


COMPARISONS: tuple[tuple[str, str, str, InterleavingMethod], ...] = (
    ("user_ratio", "item_knn", "ease", "team_draft"),
    ("user_ratio_balanced", "item_knn", "ease", "balanced"),
    ("user_ratio_popularity", "popularity", "ease", "team_draft"),
)


def run_interleaving(data: Path, seed: int) -> list[dict[str, Any]]:
    """The three comparisons as benchmark rows (see the module docstring)."""
    _check_sign_test()
    started = time.perf_counter()
    visits = _fit_and_rank(data)
    fit_seconds = time.perf_counter() - started
    rows = []
    for metric, name_a, name_b, method in COMPARISONS:
        begun = time.perf_counter()
        outcomes = _outcomes(visits, name_a, name_b, method, seed)
        rows.append(
            {
                "benchmark": "experiments",
                "case": "interleaving",
                "metric": metric,
                **_compare(outcomes, seed),
                "reference": PUBLISHED_LOWEST_RATIO,
                "a": name_a,
                "b": name_b,
                "method": method,
                "k": K,
                "test_share": TEST_SHARE,
                "data": str(BEAUTY),
                "rows": visits.events,
                "users": visits.n_users,
                "visits": len(visits.user),
                "fit_seconds": round(fit_seconds, 1),
                "seconds": round(time.perf_counter() - begun, 1),
                "seed": seed,
            }
        )
    return rows
