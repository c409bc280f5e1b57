"""Ranking benchmark, position bias in training: click models learned from the
Thompson-sampling log with and without inverse-propensity weights, judged on the random log.

Case ``position_bias_training``, per Open Bandit campaign (``bandit/obd_{bts,random}_*``):
a click model is trained on the BTS log (features: the shown item's id and attributes from
``obd_bts_<campaign>_items.parquet`` one-hot, the user's features one-hot, the user's
affinity to the shown item; never the position) with :func:`furima.ranking.click_weights`:
``naive`` (no weights, the ``baseline``), ``position`` (clicks weighted by 1 / the position
propensity estimated from the campaign's random log) and ``position_policy`` (also every
impression by 1 / the BTS policy's propensity, capped at 100). Two models: furima's
``LightGBMRanker(label="click")`` and a scikit-learn logistic regression (L2, C=0.1). On the
uniform-random log: ``auc`` of its clicks, and ``kendall_tau`` / ``ndcg`` of the items ranked
by their mean predicted click probability against the random log's item click rates. Every
number carries a paired bootstrap (both logs resampled, propensities re-estimated, models
refitted), as in case ``position_bias``.

Case ``position_bias_training_simulated``: the BTS log's real placements (and ``top_heavy``:
frequent items mostly first), clicks drawn with known propensities and item relevance
(:mod:`benchmarks._ranking_position_sim`); items ranked against the known relevance,
``auc`` on a simulated random log; ``all_impressions`` weighs every impression (not only
clicks) by 1 / propensity, to show that it does not remove the bias. Values are means over
``simulations`` draws; intervals the spread (5th-95th percentile) of the per-draw paired
difference, stricter than an interval of the mean. LightGBM reads the categories as codes
(declared categorical), the logistic regression one-hot.
"""

from __future__ import annotations

import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from furima.ranking._click_logs import ClickLog
from furima.ranking._click_training import click_examples, click_weights
from furima.ranking._position_bias import (
    PositionPropensities,
    estimate_from_randomized,
    ipw_weights,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _ranking_position import CAMPAIGNS, OBD_COLUMNS, agreement, comparison, log, rates
from _ranking_position_sim import TRUE_THETA, draw_relevance, simulate, top_heavy

WEIGHTINGS = ("naive", "position", "position_policy")
MODELS = ("lightgbm", "logistic")
METRICS = ("auc", "kendall_tau", "ndcg")
POLICY_CLIP = 100.0
CODE = "_code"
NUMERIC = ("item_feature_0", "affinity")
SIM_LEVELS = {"dense": 0.3, "medium": 0.06}
SIMULATIONS = 10
Scores = dict[str, dict[str, float]]
Model = Callable[[ClickLog, np.ndarray | None], Callable[[ClickLog], np.ndarray]]


def obd_logs(data: Path, campaign: str) -> tuple[ClickLog, ClickLog]:
    """The campaign's BTS and random logs with one-hot item and user features and the
    user's affinity to the shown item (one vocabulary for both logs)."""
    folder = data / "bandit"
    raw = {p: pd.read_parquet(folder / f"obd_{p}_{campaign}.parquet") for p in ("bts", "random")}
    items = pd.read_parquet(folder / f"obd_bts_{campaign}_items.parquet")
    both = pd.concat([_context(frame, items) for frame in raw.values()], ignore_index=True)
    categories = both.drop(columns="item_feature_0").astype(str)
    codes = {f"{c}{CODE}": pd.factorize(categories[c], sort=True)[0] for c in categories}
    encoded = pd.get_dummies(categories, dtype=np.float64).assign(
        **codes,
        item_feature_0=both["item_feature_0"].to_numpy(np.float64),
        affinity=np.concatenate([_affinity(frame) for frame in raw.values()]),
    )
    features = list(encoded.columns)
    cut = len(raw["bts"])
    logs = []
    for policy, part in (("bts", encoded.iloc[:cut]), ("random", encoded.iloc[cut:])):
        frame = pd.concat([raw[policy].reset_index(drop=True), part.reset_index(drop=True)], axis=1)
        with warnings.catch_warnings():  # from_frame adds the many columns one by one
            warnings.simplefilter("ignore", pd.errors.PerformanceWarning)
            logs.append(
                ClickLog.from_frame(frame, columns=OBD_COLUMNS, policy=policy, features=features)
            )
    return logs[0], logs[1]


def _context(frame: pd.DataFrame, items: pd.DataFrame) -> pd.DataFrame:
    attributes = items.set_index("item_id").reindex(frame["item_id"]).reset_index(drop=True)
    users = frame.filter(like="user_feature_").reset_index(drop=True)
    return pd.concat([frame[["item_id"]].reset_index(drop=True), attributes, users], axis=1)


def _affinity(frame: pd.DataFrame) -> np.ndarray:
    table = frame.filter(like="user-item_affinity_").to_numpy(np.float64)
    shown: np.ndarray = table[np.arange(len(frame)), frame["item_id"].to_numpy()]
    return shown


def coded(log: ClickLog) -> tuple[list[str], list[str]]:
    """LightGBM's features (category codes, declared categorical, and the numbers)."""
    codes = [f for f in log.features if f.endswith(CODE)]
    return [*codes, *NUMERIC], codes


def one_hot(log: ClickLog) -> list[str]:
    """The logistic regression's features (one-hot categories and the numbers)."""
    return [f for f in log.features if not f.endswith(CODE)]


def lightgbm_model(train: ClickLog, weights: np.ndarray | None) -> Callable[[ClickLog], np.ndarray]:
    from furima.ranking._lightgbm import LightGBMRanker

    features, categorical = coded(train)
    examples = click_examples(train, features, categorical)
    ranker = LightGBMRanker(label="click", rounds=100).fit(examples, weights=weights)
    return lambda test: ranker.event_probabilities(click_examples(test, features))["click"]


def logistic_model(train: ClickLog, weights: np.ndarray | None) -> Callable[[ClickLog], np.ndarray]:
    from sklearn.linear_model import LogisticRegression

    examples = click_examples(train, one_hot(train))
    model = LogisticRegression(C=0.1, max_iter=500)
    model.fit(examples.matrix(), examples.labels("click"), sample_weight=weights)
    return lambda test: model.predict_proba(click_examples(test, one_hot(test)).matrix())[:, 1]


MODEL_FITS: dict[str, Model] = {"lightgbm": lightgbm_model, "logistic": logistic_model}


def evaluate(
    predict: Callable[[ClickLog], np.ndarray], test: ClickLog, truth: pd.Series
) -> dict[str, float]:
    """AUC of ``test``'s clicks and the agreement of the implied item order with ``truth``."""
    from sklearn.metrics import roc_auc_score

    predicted = predict(test)
    clicks = test.frame["click"].to_numpy()
    auc = float(roc_auc_score(clicks, predicted)) if 0 < clicks.sum() < len(clicks) else np.nan
    per_item = pd.Series(predicted, index=test.frame["item"].to_numpy()).groupby(level=0).mean()
    return {"auc": auc, **agreement(per_item, truth)}


def obd_scores(bts: ClickLog, random: ClickLog) -> dict[str, Scores]:
    """Per model: the metrics of every weighting on the random log."""
    theta = estimate_from_randomized(random, bootstrap=0)
    weights = {
        "naive": None,
        "position": click_weights(bts, theta),
        "position_policy": click_weights(bts, theta, policy=True, policy_clip=POLICY_CLIP),
    }
    truth = rates(random)
    return {
        model: {name: evaluate(fit(bts, w), random, truth) for name, w in weights.items()}
        for model, fit in MODEL_FITS.items()
    }


def obd_replicates(
    bts: ClickLog, random: ClickLog, rounds: int, seed: int
) -> list[dict[str, Scores]]:
    rng = np.random.default_rng(seed)
    replicates = []
    for _ in range(rounds):
        try:
            replicates.append(obd_scores(bts.resample(rng), random.resample(rng)))
        except Exception as error:  # a resample without clicks at a position
            log(f"resample skipped: {error}")
    return replicates


def run_position_bias_training(data: Path, seed: int, rounds: int = 50) -> list[dict[str, Any]]:
    """Case ``position_bias_training`` (see the module doc): rows per campaign, model,
    weighting and metric."""
    rows: list[dict[str, Any]] = []
    for campaign in CAMPAIGNS:
        started = time.perf_counter()
        bts, random = obd_logs(data, campaign)
        point = obd_scores(bts, random)
        replicates = obd_replicates(bts, random, rounds, seed)
        extra = {
            "campaign": campaign,
            "data": f"bandit/obd_{{bts,random}}_{campaign}.parquet (+ _items)",
            "rows": len(bts) + len(random),
            "clicks": {"bts": bts.clicks, "random": random.clicks},
            "features": len(bts.features),
            "seconds": round(time.perf_counter() - started, 2),
            "seed": seed,
        }
        for model in MODELS:
            mine = [r[model] for r in replicates]
            for variant in WEIGHTINGS[1:]:
                for metric in METRICS:
                    row = comparison(point[model], mine, variant, metric, how=_how(variant))
                    rows.append(
                        {
                            "benchmark": "ranking",
                            "case": "position_bias_training",
                            "model": model,
                            **row,
                            **extra,
                        }
                    )
        log(f"{campaign}: {rows[-1]}")
    return rows


def _how(variant: str) -> str:
    return {
        "position": "clicks weighted by 1 / position propensity (randomized, random log)",
        "position_policy": f"and every impression by 1 / BTS propensity, capped at {POLICY_CLIP:g}",
        "all_impressions": "every impression (not only clicks) weighted by 1 / true propensity",
        "true_propensities": "clicks weighted by 1 / the true position propensity",
    }[variant]


def sim_scores(biased: ClickLog, random: ClickLog, relevance: pd.Series) -> dict[str, Scores]:
    """Per model: every weighting's metrics against the known relevance."""
    truth = PositionPropensities.given(TRUE_THETA)
    everything = ipw_weights(biased.frame["position"].to_numpy(), truth, self_normalize=True)
    weights = {
        "naive": None,
        "position": click_weights(biased, estimate_from_randomized(random, bootstrap=0)),
        "true_propensities": click_weights(biased, truth),
        "all_impressions": everything,
    }
    return {
        model: {name: evaluate(fit(biased, w), random, relevance) for name, w in weights.items()}
        for model, fit in MODEL_FITS.items()
    }


def run_position_bias_training_simulated(
    data: Path, seed: int, simulations: int = SIMULATIONS
) -> list[dict[str, Any]]:
    """Case ``position_bias_training_simulated`` (see the module doc)."""
    rng = np.random.default_rng(seed)
    bts, random = obd_logs(data, "all")
    items = pd.Index(sorted(random.frame["item"].unique()))
    rows: list[dict[str, Any]] = []
    for level, mean in SIM_LEVELS.items():
        started = time.perf_counter()
        runs: dict[str, list[dict[str, Scores]]] = {"bts": [], "top_heavy": []}
        for _ in range(simulations):
            relevance = draw_relevance(items, mean, rng)
            test = simulate(random, relevance, rng)
            for placement, biased in (("bts", bts), ("top_heavy", top_heavy(bts, rng))):
                runs[placement].append(
                    sim_scores(simulate(biased, relevance, rng), test, relevance)
                )
        extra = {
            "level": level,
            "data": "bandit/obd_{bts,random}_all.parquet (placements, features; clicks simulated)",
            "rows": len(bts) + len(random),
            "simulations": simulations,
            "true_propensities": list(TRUE_THETA.values()),
            "seconds": round(time.perf_counter() - started, 2),
            "seed": seed,
        }
        for placement, found in runs.items():
            rows += _sim_rows(found, placement, extra)
        log(f"simulated {level}: {rows[-1]}")
    return rows


def _sim_rows(
    runs: list[dict[str, Scores]], placement: str, extra: dict[str, Any]
) -> list[dict[str, Any]]:
    """Mean over simulations and the interval of the paired difference with naive."""
    rows = []
    for model in MODELS:
        mine = [run[model] for run in runs]
        mean = {
            name: {m: float(np.nanmean([r[name][m] for r in mine])) for m in METRICS}
            for name in mine[0]
        }
        for variant in ("position", "true_propensities", "all_impressions"):
            for metric in METRICS:
                row = comparison(mean, mine, variant, metric, how=_how(variant))
                rows.append(
                    {
                        "benchmark": "ranking",
                        "case": "position_bias_training_simulated",
                        "model": model,
                        "placement": placement,
                        **row,
                        **extra,
                    }
                )
    return rows
