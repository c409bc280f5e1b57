"""Ranking benchmark, position bias with known truth: clicks simulated on real placements.

Case ``position_bias_simulated``: the Open Bandit logs' real placements (which item at which
position, per impression) are kept, every item gets a known relevance drawn from a beta
distribution, and clicks are drawn from the position-based model with known examination
probabilities :data:`TRUE_THETA` (``P(click) = theta[position] * relevance``). Three click
levels: ``dense`` (mean relevance 30%, thousands of clicks per log, like search clicks),
``medium`` (6%, hundreds) and ``sparse`` (0.6%, the real logs' click rate, about 40 clicks).
Two placements of the biased log: the real Thompson-sampling one (``bts``: items move
between positions almost evenly) and ``top_heavy`` (synthetic: the items the BTS log shows
most are put first 60% of the time, the others last 60% of the time, so position and item
are confounded).

Rows: ``propensity_error`` per estimator (largest absolute error over positions, mean over
simulations; ``baseline`` the error of assuming no position bias; ``coverage``: share of
simulations whose bootstrap interval holds the truth) and ``kendall_tau`` of the item ranking
against the known relevance (``furima``: weighted with propensities from regression EM on the
biased log alone; ``baseline``: naive; ``oracle``: weighted with the true propensities).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from furima.exceptions import DataError
from furima.ranking._click_logs import ClickLog
from furima.ranking._position_bias import (
    PositionPropensities,
    estimate_by_intervention_harvesting,
    estimate_from_randomized,
    item_click_rates,
)
from furima.ranking._position_em import estimate_by_regression_em

TRUE_THETA = {1: 1.0, 2: 0.6, 3: 0.35}
RELEVANCE_MEAN = {"dense": 0.3, "medium": 0.06, "sparse": 0.006}
BETA_SHAPE = 2.0
SIMULATIONS = 20
CONFIDENCE = 0.9
RANKINGS = ("naive", "regression_em", "oracle", "naive_beta_prior", "regression_em_beta_prior")
Estimator = Callable[[ClickLog, ClickLog, int], PositionPropensities]
ESTIMATORS: dict[str, Estimator] = {
    "randomized": lambda random, biased, seed: estimate_from_randomized(
        random, bootstrap=50, seed=seed
    ),
    "harvesting": lambda random, biased, seed: estimate_by_intervention_harvesting(
        [random, biased], bootstrap=50, seed=seed
    ),
    "regression_em": lambda random, biased, seed: estimate_by_regression_em(
        biased, bootstrap=30, seed=seed
    ),
}


def read_placements(data: Path, policy: str, campaign: str = "all") -> ClickLog:
    frame = pd.read_parquet(data / "bandit" / f"obd_{policy}_{campaign}.parquet")
    return ClickLog.from_frame(frame, columns={"item": "item_id"}, policy=policy)


def top_heavy(log: ClickLog, rng: np.random.Generator) -> ClickLog:
    """The same impressions, positions redrawn: frequently shown items mostly first."""
    counts = log.frame["item"].value_counts()
    frequent = log.frame["item"].isin(counts.index[: len(counts) // 2]).to_numpy()
    first, last = [0.6, 0.3, 0.1], [0.1, 0.3, 0.6]
    position = np.where(
        frequent, rng.choice([1, 2, 3], len(log), p=first), rng.choice([1, 2, 3], len(log), p=last)
    )
    return ClickLog(log.frame.assign(position=position), "top_heavy", log.features)


def simulate(log: ClickLog, relevance: pd.Series, rng: np.random.Generator) -> ClickLog:
    """``log``'s placements with clicks drawn from the position-based model."""
    truth = PositionPropensities.given(TRUE_THETA)
    chance = (
        truth.of(log.frame["position"].to_numpy()) * relevance.reindex(log.frame["item"]).to_numpy()
    )
    clicks = (rng.random(len(log)) < chance).astype(np.int8)
    return ClickLog(log.frame.assign(click=clicks), log.policy, log.features)


def draw_relevance(items: pd.Index, mean: float, rng: np.random.Generator) -> pd.Series:
    """Known relevance per item, beta-distributed with the given mean."""
    b = BETA_SHAPE * (1 - mean) / mean
    return pd.Series(rng.beta(BETA_SHAPE, b, len(items)), index=items)


def one_simulation(
    placements: dict[str, ClickLog], level: str, rng: np.random.Generator, seed: int
) -> dict[str, Any]:
    """Estimates and rankings of one simulated draw of every log."""
    items = pd.Index(sorted(placements["random"].frame["item"].unique()))
    relevance = draw_relevance(items, RELEVANCE_MEAN[level], rng)
    logs = {name: simulate(log, relevance, rng) for name, log in placements.items()}
    out: dict[str, Any] = {"estimates": {}, "tau": {}}
    for name, estimator in ESTIMATORS.items():
        out["estimates"][name] = _or_none(estimator, logs["bts"], logs["random"], seed)
    for placement in ("bts", "top_heavy"):
        for name, tau in rankings(logs[placement], relevance).items():
            out["tau"][(placement, name)] = tau
    return out


def rankings(biased: ClickLog, relevance: pd.Series) -> dict[str, float]:
    """Kendall tau against the known relevance of each way to learn item rates."""
    from scipy.stats import kendalltau

    em = _or_none(lambda random, log, seed: estimate_by_regression_em(log, bootstrap=0), biased)
    prior = len(biased) / max(biased.clicks, 1)  # one click at the overall rate
    learned = {
        "naive": (None, 0.0),
        "regression_em": (em, 0.0),
        "oracle": (PositionPropensities.given(TRUE_THETA), 0.0),
        "naive_beta_prior": (None, prior),
        "regression_em_beta_prior": (em, prior),
    }
    taus = {}
    for name, (theta, strength) in learned.items():
        taus[name] = float("nan")
        if theta is not None or name.startswith("naive"):
            found = item_click_rates(biased, theta, prior_strength=strength)["rate"]
            rate = found.reindex(relevance.index).fillna(0.0)
            taus[name] = float(kendalltau(rate, relevance).statistic)
    return taus


def _or_none(
    estimator: Estimator, biased: ClickLog, random: ClickLog | None = None, seed: int = 0
) -> PositionPropensities | None:
    """The estimate, or None where the simulated log left a position without clicks."""
    try:
        return estimator(random if random is not None else biased, biased, seed)
    except DataError:
        return None


def run_position_bias_simulated(
    data: Path, seed: int, simulations: int = SIMULATIONS
) -> list[dict[str, Any]]:
    """Case ``position_bias_simulated`` (see the module doc)."""
    rng = np.random.default_rng(seed)
    base = {"random": read_placements(data, "random"), "bts": read_placements(data, "bts")}
    rows: list[dict[str, Any]] = []
    for level in RELEVANCE_MEAN:
        started = time.perf_counter()
        runs = []
        for _ in range(simulations):
            placements = {**base, "top_heavy": top_heavy(base["bts"], rng)}
            runs.append(one_simulation(placements, level, rng, seed))
        extra = {
            "level": level,
            "data": "bandit/obd_{random,bts}_all.parquet (placements; clicks simulated)",
            "rows": sum(len(log) for log in base.values()),
            "simulations": simulations,
            "true_propensities": list(TRUE_THETA.values()),
            "seconds": round(time.perf_counter() - started, 2),
            "seed": seed,
        }
        rows += [_propensity_row(runs, name, extra) for name in ESTIMATORS]
        rows += [_ranking_row(runs, placement, extra) for placement in ("bts", "top_heavy")]
    return rows


def _propensity_row(runs: list[dict[str, Any]], name: str, extra: dict[str, Any]) -> dict[str, Any]:
    truth = np.array(list(TRUE_THETA.values()))
    found = [run["estimates"][name] for run in runs]
    estimates = [e for e in found if e is not None]
    values = np.array([e.values for e in estimates])
    covered = [
        bool(np.all((np.array(e.low) <= truth) & (truth <= np.array(e.high)))) for e in estimates
    ]
    clicks = [e.clicks for e in estimates]
    return {
        "benchmark": "ranking",
        "case": "position_bias_simulated",
        "metric": "propensity_error",
        "variant": name,
        "furima": round(float(np.abs(values - truth).max(axis=1).mean()), 4),
        "baseline": round(float(np.abs(1 - truth).max()), 4),
        "estimate_mean": [round(float(v), 3) for v in values.mean(axis=0)],
        "estimate_sd": [round(float(v), 3) for v in values.std(axis=0)],
        "coverage": round(float(np.mean(covered)), 3),
        "clicks_mean": round(float(np.mean(clicks)), 1),
        "failures": len(found) - len(estimates),
        **extra,
    }


def _ranking_row(
    runs: list[dict[str, Any]], placement: str, extra: dict[str, Any]
) -> dict[str, Any]:
    taus = {
        name: np.array([run["tau"][(placement, name)] for run in runs])
        for name in (
            "naive",
            "regression_em",
            "oracle",
            "naive_beta_prior",
            "regression_em_beta_prior",
        )
    }
    failed = ~np.isfinite(taus["regression_em"])
    taus = {name: values[~failed] for name, values in taus.items()}
    difference = taus["regression_em"] - taus["naive"]
    tail = (1 - CONFIDENCE) / 2 * 100
    return {
        "benchmark": "ranking",
        "case": "position_bias_simulated",
        "metric": "kendall_tau",
        "variant": f"{placement}_regression_em",
        "furima": round(float(taus["regression_em"].mean()), 4),
        "baseline": round(float(taus["naive"].mean()), 4),
        "oracle": round(float(taus["oracle"].mean()), 4),
        "naive_beta_prior": round(float(taus["naive_beta_prior"].mean()), 4),
        "regression_em_beta_prior": round(float(taus["regression_em_beta_prior"].mean()), 4),
        "difference": round(float(difference.mean()), 4),
        "difference_interval": [
            round(float(np.percentile(difference, q)), 4) for q in (tail, 100 - tail)
        ],
        "p_better": round(float((difference > 0).mean()), 3),
        "failures": int(failed.sum()),
        **extra,
    }
