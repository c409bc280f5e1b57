"""Fraud tasks of ``benchmarks/risk.py``: ULB credit cards against LightGBM and FLAML, and
simulated transactions with and without entity features (see ``risk.py``'s docstring)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from furima.risk import FraudScorer

__all__ = [
    "bootstrap_interval",
    "card_precision_top_k",
    "fraud_simulated_rows",
    "fraud_ulb_rows",
    "precision_top_k",
    "run_fraud_simulated",
    "run_fraud_ulb",
    "split_by_time_span",
]

ULB_DATA = "fraud/creditcard_ulb.parquet"
TRAIN_SHARE = 0.8
BOOTSTRAP_RESAMPLES = 200
TOP_K = 100
LONG_BUDGET_S = 60.0
"""A longer budget given to both AutoML engines (furima's through ``FraudScorer(model="automl")``
and FLAML), beside the equal-to-furima's-fit-time budget FLAML gets first."""
SIMULATED_DAYS = 183
SIMULATED_DELAY_DAYS = 7.0


# ------------------------------------------------------------------------------- ULB
def run_fraud_ulb(data: Path, seed: int) -> list[dict[str, Any]]:
    """Rows for the ``fraud_ulb`` task, read from ``data / ULB_DATA``."""
    import pandas as pd

    path = data / ULB_DATA
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing; pass --data pointing at the shared data")
    return fraud_ulb_rows(pd.read_parquet(path), seed)


def fraud_ulb_rows(frame: pd.DataFrame, seed: int) -> list[dict[str, Any]]:
    """Fit furima, plain LightGBM and FLAML on the earlier 80% of ``frame``'s time span and
    measure all three on the rest (``frame``: Time in seconds, V1..V28, Amount, Class)."""
    from furima.risk import FraudScorer

    started = time.perf_counter()
    train, test = split_by_time_span(frame, "Time", seconds=True)
    features = [name for name in frame.columns if name.startswith("V")]
    inputs = [*features, "Amount"]
    scorer = FraudScorer(
        time="Time", label="Class", amount="Amount", keys=(), features=features,
        label_delay_days=0, seed=seed,
    )  # fmt: skip
    clock = time.perf_counter()
    scorer.fit(train)
    budget = time.perf_counter() - clock
    automl = FraudScorer(
        time="Time", label="Class", amount="Amount", keys=(), features=features,
        label_delay_days=0, seed=seed, model="automl", budget_s=LONG_BUDGET_S,
    ).fit(train)  # fmt: skip
    scores = {
        "furima": scorer.score(test, reasons=False)["score"].to_numpy(),
        "lightgbm": _lightgbm_scores(train, test, inputs, seed),
        "flaml": _flaml_scores(train, test, inputs, budget, seed),
        f"furima_automl_{LONG_BUDGET_S:.0f}s": automl.score(test, reasons=False)[
            "score"
        ].to_numpy(),
        f"flaml_{LONG_BUDGET_S:.0f}s": _flaml_scores(train, test, inputs, LONG_BUDGET_S, seed),
    }
    labels = test["Class"].to_numpy(dtype=np.int64)
    common = {
        "task": "fraud_ulb", "data": ULB_DATA, "rows": len(frame), "train_rows": len(train),
        "test_rows": len(test), "test_frauds": int(labels.sum()),
        "furima_fit_seconds": round(budget, 2),
        "furima_best_iteration": scorer.validation_.best_iteration, "seed": seed,
    }  # fmt: skip
    rows = _ulb_metric_rows(labels, scores, seed)
    seconds = round(time.perf_counter() - started, 2)
    return [{**common, **row, "seconds": seconds} for row in rows]


def _ulb_metric_rows(
    labels: np.ndarray, scores: dict[str, np.ndarray], seed: int
) -> list[dict[str, Any]]:
    from sklearn.metrics import average_precision_score, roc_auc_score

    auprc: dict[str, Any] = {"metric": "auprc"}
    intervals = bootstrap_interval(labels, scores, seed)
    for name, values in scores.items():
        auprc[name] = float(average_precision_score(labels, values))
        auprc[f"{name}_ci"] = intervals[name]
    auc = {"metric": "auc", **{n: float(roc_auc_score(labels, v)) for n, v in scores.items()}}
    top: dict[str, Any] = {"metric": f"precision_top{TOP_K}"}
    top.update({name: precision_top_k(labels, values, TOP_K) for name, values in scores.items()})
    return [auprc, auc, top]


def _lightgbm_scores(
    train: pd.DataFrame, test: pd.DataFrame, inputs: list[str], seed: int
) -> np.ndarray:
    """Plain ``LGBMClassifier`` with default settings: the baseline a team starts from."""
    import lightgbm

    model = lightgbm.LGBMClassifier(random_state=seed, n_jobs=1, verbosity=-1)
    model.fit(train[inputs], train["Class"])
    probabilities = np.asarray(model.predict_proba(test[inputs]))
    return np.asarray(probabilities[:, 1], dtype=np.float64)


def _flaml_scores(
    train: pd.DataFrame, test: pd.DataFrame, inputs: list[str], budget: float, seed: int
) -> np.ndarray:
    """FLAML AutoML searching for ``budget`` seconds (furima's fit time) on average
    precision, with its own (stratified, not time-ordered) holdout."""
    from flaml import AutoML

    automl = AutoML()
    automl.fit(
        train[inputs], train["Class"], task="classification", metric="ap",
        time_budget=max(budget, 1.0), eval_method="holdout", seed=seed, n_jobs=1, verbose=0,
    )  # fmt: skip
    return np.asarray(automl.predict_proba(test[inputs])[:, 1], dtype=np.float64)


# ------------------------------------------------------------------------- simulated
def run_fraud_simulated(data: Path, seed: int) -> list[dict[str, Any]]:
    """Rows for the ``fraud_simulated`` task (``data`` is unused: the table is simulated)."""
    from furima.risk import simulate_transactions

    del data
    frame = simulate_transactions(customers=5000, terminals=10000, days=SIMULATED_DAYS, seed=seed)
    return fraud_simulated_rows(frame, seed)


def fraud_simulated_rows(frame: pd.DataFrame, seed: int) -> list[dict[str, Any]]:
    """Fit the scorer with and without entity features on the earlier 80% of the simulated
    time span and measure both on the rest."""
    from furima.risk import FraudScorer

    started = time.perf_counter()
    frame = frame.sort_values("timestamp", kind="stable").reset_index(drop=True)
    train, test = split_by_time_span(frame, "timestamp", seconds=False)
    scores: dict[str, np.ndarray] = {}
    fits: dict[str, float] = {}
    for name, keys in (("furima", ("customer_id", "terminal_id")), ("lightgbm", ())):
        clock = time.perf_counter()
        scorer = FraudScorer(keys=keys, label_delay_days=SIMULATED_DELAY_DAYS, seed=seed)
        scorer.fit(train)
        scores[name] = _scores_with_label_feedback(scorer, frame, len(train))
        fits[f"{name}_seconds"] = round(time.perf_counter() - clock, 2)
        fits[f"{name}_best_iteration"] = scorer.validation_.best_iteration
    labels = test["is_fraud"].to_numpy(dtype=np.int64)
    rows = _simulated_metric_rows(labels, test, scores)
    common = {
        "task": "fraud_simulated", "data": _simulation_name(frame),
        "rows": len(frame), "train_rows": len(train), "test_rows": len(test),
        "test_frauds": int(labels.sum()), **fits, "seed": seed,
    }  # fmt: skip
    seconds = round(time.perf_counter() - started, 2)
    return [{**common, **row, "seconds": seconds} for row in rows]


def _scores_with_label_feedback(scorer: FraudScorer, frame: pd.DataFrame, start: int) -> np.ndarray:
    """Scores of ``frame``'s rows from ``start`` on, their entity features computed over the
    whole table with labels known after the scorer's delay (``FraudScorer.score`` treats
    every label of a batch as unknown, which would blind a month-long test to chargebacks
    that arrive during it). Scores are the booster's raw output: same ranking as
    ``score``'s probabilities, which is all the metrics look at."""
    import pandas as pd

    from furima.risk import EntityFeatures

    raw = frame[[scorer.amount]].astype(np.float64)
    if scorer.keys:
        entity = EntityFeatures(
            scorer.keys, windows_days=scorer.windows_days, time=scorer.time,
            amount=scorer.amount, label=scorer.label, label_delay_days=scorer.label_delay_days,
        ).transform(frame)  # fmt: skip
        raw = pd.concat([raw, entity], axis=1)
    matrix = raw.iloc[start:][scorer.feature_names_]
    booster = scorer.booster_
    return np.asarray(booster.predict(matrix, num_iteration=booster.best_iteration))


def _simulated_metric_rows(
    labels: np.ndarray, test: pd.DataFrame, scores: dict[str, np.ndarray]
) -> list[dict[str, Any]]:
    from sklearn.metrics import average_precision_score

    auprc: dict[str, Any] = {"metric": "auprc"}
    auprc.update({n: float(average_precision_score(labels, v)) for n, v in scores.items()})
    cards: dict[str, Any] = {"metric": f"card_precision_top{TOP_K}"}
    for name, values in scores.items():
        cards[name] = card_precision_top_k(test, values, TOP_K)
    return [auprc, cards]


def _simulation_name(frame: pd.DataFrame) -> str:
    customers, terminals = frame["customer_id"].nunique(), frame["terminal_id"].nunique()
    days = int(frame["day"].max()) + 1
    return f"simulate_transactions(customers~{customers}, terminals~{terminals}, days={days})"


# --------------------------------------------------------------------------- helpers
def split_by_time_span(
    frame: pd.DataFrame, column: str, *, seconds: bool
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows before the point ``TRAIN_SHARE`` of the way through ``column``'s time span, and
    the rest, each in time order (``seconds``: numbers of seconds, else datetimes)."""
    ordered = frame.sort_values(column, kind="stable").reset_index(drop=True)
    times = ordered[column].to_numpy(dtype=np.float64 if seconds else "datetime64[ns]")
    moments = times.astype(np.float64) if seconds else times.astype(np.int64).astype(np.float64)
    cutoff = moments[0] + TRAIN_SHARE * (moments[-1] - moments[0])
    first_test = int(np.searchsorted(moments, cutoff, side="left"))
    return ordered.iloc[:first_test], ordered.iloc[first_test:]


def precision_top_k(labels: np.ndarray, scores: np.ndarray, k: int) -> float:
    """Share of positives among the ``k`` highest scores (ties to the earlier row)."""
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")[:k]
    return float(np.asarray(labels)[order].mean())


def card_precision_top_k(test: pd.DataFrame, scores: np.ndarray, k: int) -> float:
    """Per day, the share of frauded customers among the ``k`` customers with the highest
    score that day (a customer's score: its highest), averaged over days. Cards caught on
    earlier days are not removed."""
    import pandas as pd

    table = pd.DataFrame({
        "day": test["day"].to_numpy(), "customer": test["customer_id"].to_numpy(),
        "score": scores, "fraud": test["is_fraud"].to_numpy(),
    })  # fmt: skip
    cards = table.groupby(["day", "customer"], sort=False).agg(
        score=("score", "max"), fraud=("fraud", "max")
    )
    cards = cards.reset_index().sort_values(["day", "score"], ascending=[True, False])
    top = cards.groupby("day", sort=True).head(k)
    return float(top.groupby("day")["fraud"].mean().mean())


def bootstrap_interval(
    labels: np.ndarray, scores: dict[str, np.ndarray], seed: int
) -> dict[str, list[float]]:
    """A 95% percentile interval of each model's AUPRC over ``BOOTSTRAP_RESAMPLES`` resamples
    of the test rows, the same resamples for every model (paired); resamples without a
    fraud are skipped."""
    from sklearn.metrics import average_precision_score

    rng = np.random.default_rng(seed)
    draws: dict[str, list[float]] = {name: [] for name in scores}
    for _ in range(BOOTSTRAP_RESAMPLES):
        rows = rng.integers(0, len(labels), len(labels))
        if not labels[rows].any():
            continue
        for name, values in scores.items():
            draws[name].append(float(average_precision_score(labels[rows], values[rows])))
    return {
        name: [float(np.percentile(d, 2.5)), float(np.percentile(d, 97.5))]
        for name, d in draws.items()
    }
