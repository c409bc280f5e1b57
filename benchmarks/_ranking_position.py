"""Ranking benchmark, position bias: item click rates from a Thompson-sampling log, with and
without position-propensity weighting, against a uniform-random log's ground truth.

Data: the Open Bandit Dataset sample, ``bandit/obd_{random,bts}_{all,men,women}.parquet``
(ZOZOTOWN, three positions, 10,000 impressions per log)::

    python benchmarks/_ranking_position.py --data ../shared/data [--rounds 200] [--simulated]

Case ``position_bias``, per campaign: the item ranking learned from the Bernoulli
Thompson-sampling (BTS) log, naive (``baseline``: clicks / impressions per item) and weighted
(``furima``: clicks / expected examinations, the position-based model's relevance, with
propensities from :func:`furima.ranking.estimate_from_randomized` on the campaign's random
log), each compared with the item click rates of the uniform-random log: Kendall tau-b
(scipy.stats) and NDCG of the whole item list with the random click rate as gain. Clicks are
few (about 40 a log), so every number carries a paired bootstrap over both logs' impressions
(``rounds`` resamples; propensities re-estimated in each): ``difference`` and its 90%
interval, ``p_better`` (share of resamples where weighting is closer). Rows with ``variant``
other than ``main`` are the measured alternatives (propensity estimator, the logging policy's
own propensity as an IPS weight, a beta prior on item rates, propensities pooled over the
three campaigns); ``campaign`` ``mean`` averages the three campaigns (paired too).

Case ``position_bias_simulated`` (:mod:`benchmarks._ranking_position_sim`): clicks simulated
with known propensities on the real logs' placements, where the truth is known.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from furima.ranking._click_logs import ClickLog
from furima.ranking._position_bias import (
    PositionPropensities,
    estimate_by_intervention_harvesting,
    estimate_from_randomized,
    item_click_rates,
)
from furima.ranking._position_em import estimate_by_regression_em

CAMPAIGNS = ("all", "men", "women")
OBD_COLUMNS = {"item": "item_id", "propensity": "propensity_score"}
METRICS = ("kendall_tau", "ndcg")
CONFIDENCE = 0.9
IPS_CLIP = 1000.0  # largest 1 / logging propensity kept (propensities reach 1e-6)
PRIOR_CLICKS = 1.0  # beta prior worth one click at the overall rate


@dataclass
class Logs:
    """One campaign's random and BTS logs, and the other campaigns' random logs (pooling)."""

    random: ClickLog
    bts: ClickLog
    other_random: list[ClickLog]

    def resample(self, rng: np.random.Generator) -> Logs:
        return Logs(
            self.random.resample(rng),
            self.bts.resample(rng),
            [log.resample(rng) for log in self.other_random],
        )


Ranking = Callable[[Logs], pd.Series]
HOW = {
    "main": "position propensities from estimate_from_randomized on the campaign's random log",
    "harvesting": "estimate_by_intervention_harvesting on the campaign's random + BTS logs",
    "regression_em": "estimate_by_regression_em (per-item relevance) on the BTS log alone",
    "pooled_campaigns": "estimate_from_randomized on the three campaigns' random logs pooled",
    "harvesting_pooled": "intervention harvesting on this BTS log + all three random logs",
    "logging_ips": f"no position model: 1 / BTS propensity_score, capped at {IPS_CLIP:g}",
    "logging_ips_clip100": "no position model: 1 / BTS propensity_score, capped at 100",
    "naive_beta_prior": "naive, shrunk by a beta prior worth one click at the overall rate",
    "main_beta_prior": "main, shrunk by a beta prior worth one click at the overall rate",
}


def log(message: str) -> None:
    print(f"[position {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def read_obd(data: Path, policy: str, campaign: str) -> ClickLog:
    """One Open Bandit log as a click log (item, position, click, propensity)."""
    frame = pd.read_parquet(data / "bandit" / f"obd_{policy}_{campaign}.parquet")
    return ClickLog.from_frame(frame, columns=OBD_COLUMNS, policy=policy)


def prior(log: ClickLog) -> float:
    """Pseudo-examinations worth :data:`PRIOR_CLICKS` clicks at the log's click rate."""
    return PRIOR_CLICKS * len(log) / max(log.clicks, 1)


def rates(log: ClickLog, theta: PositionPropensities | None = None, **kw: Any) -> pd.Series:
    frame = item_click_rates(log, theta, **kw)
    return frame["rate"]


def variants() -> dict[str, Ranking]:
    """Every item-rate learner measured; ``naive`` is the baseline, ``main`` the headline."""

    def randomized(logs: Logs) -> PositionPropensities:
        return estimate_from_randomized(logs.random, bootstrap=0)

    return {
        "naive": lambda lg: rates(lg.bts),
        "main": lambda lg: rates(lg.bts, randomized(lg)),
        "harvesting": lambda lg: rates(
            lg.bts, estimate_by_intervention_harvesting([lg.random, lg.bts], bootstrap=0)
        ),
        "regression_em": lambda lg: rates(lg.bts, estimate_by_regression_em(lg.bts, bootstrap=0)),
        "pooled_campaigns": lambda lg: rates(
            lg.bts, estimate_from_randomized(_pooled([lg.random, *lg.other_random]), bootstrap=0)
        ),
        "harvesting_pooled": lambda lg: rates(
            lg.bts,
            estimate_by_intervention_harvesting(
                [_prefixed(lg.random, 0), _prefixed(lg.bts, 0)]
                + [_prefixed(other, i + 1) for i, other in enumerate(lg.other_random)],
                bootstrap=0,
            ),
        ),
        "logging_ips": lambda lg: rates(lg.bts, weights=lg.bts.policy_weights(IPS_CLIP)),
        "logging_ips_clip100": lambda lg: rates(lg.bts, weights=lg.bts.policy_weights(100.0)),
        "naive_beta_prior": lambda lg: rates(lg.bts, prior_strength=prior(lg.bts)),
        "main_beta_prior": lambda lg: rates(lg.bts, randomized(lg), prior_strength=prior(lg.bts)),
    }


def _prefixed(log: ClickLog, campaign: int) -> ClickLog:
    """``log`` with its items named apart from other campaigns' items."""
    return ClickLog(log.frame.assign(item=f"{campaign}:" + log.frame["item"]), log.policy)


def _pooled(logs: list[ClickLog]) -> ClickLog:
    """Several campaigns' logs as one (items kept apart by a campaign prefix)."""
    frames = [_prefixed(log, i).frame for i, log in enumerate(logs)]
    return ClickLog(pd.concat(frames, ignore_index=True), "pooled")


def split_half_tau(log: ClickLog, seed: int, splits: int = 50) -> float:
    """Mean Kendall tau between the item rates of two random halves of ``log``: how well one
    5,000-impression log agrees with another, a yardstick for the noise in the truth."""
    rng = np.random.default_rng(seed)
    taus = []
    for _ in range(splits):
        order = rng.permutation(len(log))
        half = len(log) // 2
        first, second = rates(log.take(order[:half])), rates(log.take(order[half:]))
        taus.append(agreement(first, second)["kendall_tau"])
    return round(float(np.nanmean(taus)), 4)


def agreement(estimate: pd.Series, truth: pd.Series) -> dict[str, float]:
    """Kendall tau-b and NDCG (gain: the true rate) of the estimated item order."""
    from scipy.stats import kendalltau

    items = truth.index
    guess = estimate.reindex(items).fillna(estimate.mean()).to_numpy(np.float64)
    gain = truth.to_numpy(np.float64)
    tau = float(kendalltau(guess, gain).statistic)
    order = np.lexsort((np.asarray(items, str), -guess))
    discount = 1 / np.log2(np.arange(len(gain)) + 2)
    ideal = float((np.sort(gain)[::-1] * discount).sum())
    ndcg = float((gain[order] * discount).sum() / ideal) if ideal > 0 else float("nan")
    return {"kendall_tau": tau, "ndcg": ndcg}


def scores(logs: Logs, learners: dict[str, Ranking]) -> dict[str, dict[str, float]]:
    """Agreement of every learner with the random log's item click rates."""
    truth = rates(logs.random)
    return {name: agreement(learn(logs), truth) for name, learn in learners.items()}


def bootstrap_scores(
    logs: Logs, learners: dict[str, Ranking], rounds: int, seed: int
) -> list[dict[str, dict[str, float]]]:
    """:func:`scores` on ``rounds`` resamples of both logs (the same resample for all)."""
    rng = np.random.default_rng(seed)
    replicates = []
    for _ in range(rounds):
        try:
            replicates.append(scores(logs.resample(rng), learners))
        except Exception as error:  # a resample without clicks at a position
            log(f"resample skipped: {error}")
    return replicates


def interval(values: np.ndarray) -> list[float]:
    tail = (1 - CONFIDENCE) / 2 * 100
    kept = values[np.isfinite(values)]
    return [round(float(np.percentile(kept, q)), 4) for q in (tail, 100 - tail)]


def comparison(
    point: dict[str, dict[str, float]],
    replicates: list[dict[str, dict[str, float]]],
    variant: str,
    metric: str,
    how: str | None = None,
) -> dict[str, Any]:
    """One variant against naive on one metric: values, intervals, paired difference."""
    mine = np.array([r[variant][metric] for r in replicates])
    base = np.array([r["naive"][metric] for r in replicates])
    difference = mine - base
    finite = np.isfinite(difference)
    low, high = interval(difference)
    return {
        "metric": metric,
        "variant": variant,
        "how": HOW[variant] if how is None else how,
        "furima": round(point[variant][metric], 4),
        "baseline": round(point["naive"][metric], 4),
        "furima_interval": interval(mine),
        "baseline_interval": interval(base),
        "difference": round(point[variant][metric] - point["naive"][metric], 4),
        "difference_interval": [low, high],
        "p_better": round(float((difference[finite] > 0).mean()), 3),
        "p_worse": round(float((difference[finite] < 0).mean()), 3),
        "measurable": bool(low > 0 or high < 0),
        "rounds": int(finite.sum()),
        "confidence": CONFIDENCE,
    }


def mean_over(
    per_campaign: list[dict[str, dict[str, float]]],
) -> dict[str, dict[str, float]]:
    """Average of each learner's metrics over campaigns."""
    first = per_campaign[0]
    return {
        name: {m: float(np.mean([c[name][m] for c in per_campaign])) for m in first[name]}
        for name in first
    }


def run_position_bias(data: Path, seed: int, rounds: int = 200) -> list[dict[str, Any]]:
    """Case ``position_bias``: rows per campaign, metric and variant (see the module doc)."""
    learners = variants()
    randoms = {c: read_obd(data, "random", c) for c in CAMPAIGNS}
    points, samples, rows = [], [], []
    for campaign in CAMPAIGNS:
        started = time.perf_counter()
        others = [randoms[c] for c in CAMPAIGNS if c != campaign]
        logs = Logs(randoms[campaign], read_obd(data, "bts", campaign), others)
        point = scores(logs, learners)
        replicates = bootstrap_scores(logs, learners, rounds, seed)
        points.append(point)
        samples.append(replicates)
        theta = estimate_from_randomized(logs.random, bootstrap=rounds, seed=seed)
        extra = {
            "campaign": campaign,
            "data": f"bandit/obd_{{random,bts}}_{campaign}.parquet",
            "rows": len(logs.random) + len(logs.bts),
            "clicks": {"random": logs.random.clicks, "bts": logs.bts.clicks},
            "items": int(logs.random.frame["item"].nunique()),
            "propensities": theta.to_json(),
            "random_split_half_tau": split_half_tau(logs.random, seed),
            "seconds": round(time.perf_counter() - started, 2),
        }
        rows += _rows(point, replicates, learners, extra, seed)
        log(f"{campaign}: {json.dumps(rows[-len(learners) * 2 + 2 :][:2])}")
    count = min(len(s) for s in samples)
    mean_replicates = [mean_over([s[i] for s in samples]) for i in range(count)]
    extra = {"campaign": "mean", "data": "bandit/obd_{random,bts}_*.parquet"}
    extra["rows"] = 6 * len(randoms["all"])
    return rows + _rows(mean_over(points), mean_replicates, learners, extra, seed)


def _rows(
    point: dict[str, dict[str, float]],
    replicates: list[dict[str, dict[str, float]]],
    learners: dict[str, Ranking],
    extra: dict[str, Any],
    seed: int,
) -> list[dict[str, Any]]:
    return [
        {
            "benchmark": "ranking",
            "case": "position_bias",
            **comparison(point, replicates, variant, metric),
            **extra,
            "seed": seed,
        }
        for variant in learners
        if variant != "naive"
        for metric in METRICS
    ]


def run_position_bias_training(data: Path, seed: int) -> list[dict[str, Any]]:
    """Cases ``position_bias_training`` and ``position_bias_training_simulated``: click
    models trained with and without inverse-propensity weights
    (:mod:`benchmarks._ranking_position_training`)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _ranking_position_training import (
        run_position_bias_training as on_real_clicks,
    )
    from _ranking_position_training import run_position_bias_training_simulated

    return [*on_real_clicks(data, seed), *run_position_bias_training_simulated(data, seed)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--simulated", action="store_true", help="also the simulated case")
    args = parser.parse_args()
    digest = hashlib.sha256()
    for path in sorted((args.data / "bandit").glob("obd_*.parquet")):
        digest.update(path.read_bytes())
    log(f"seed {args.seed}, data sha256 {digest.hexdigest()[:16]}")
    rows = run_position_bias(args.data, args.seed, args.rounds)
    if args.simulated:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from _ranking_position_sim import run_position_bias_simulated

        rows += run_position_bias_simulated(args.data, args.seed)
    for row in rows:
        print(json.dumps(row))


if __name__ == "__main__":
    main()
