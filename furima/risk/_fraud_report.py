"""The fraud report: one offline HTML page on how a fraud scorer does on labelled payments.

It answers what a fraud team asks: how many frauds the ranking finds (AUPRC, AUC, the
precision-recall curve), how good the alerts are that the team can review each day (the top
``alerts_per_day`` scores of every calendar day, and their precision day by day), how much
money a threshold saves once reviews cost something, how fraud and legitimate scores spread,
which features the reasons name most often, and whether inputs and scores drifted.

    write_fraud_report(scorer, last_month, "fraud.html", alerts_per_day=100, review_cost=5.0)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from furima.exceptions import DataError, NotFittedError
from furima.risk._fraud_sections import reasons_section, top_alerts_section
from furima.risk._report_page import (
    chart,
    check_columns,
    check_rows,
    e,
    facts,
    finite_or_refuse,
    number,
    records,
    render_page,
    share,
    stability_section,
    table,
    whole,
    write_page,
)

if TYPE_CHECKING:
    import pandas as pd

    from furima.risk._fraud import FraudScorer

__all__ = ["FraudMetrics", "daily_alerts", "fraud_metrics", "write_fraud_report"]


@dataclass(frozen=True)
class FraudMetrics:
    """How a fraud scorer did on labelled transactions, alerts at a daily budget."""

    rows: int
    frauds: int
    auprc: float
    auc: float
    alerts: int
    alerts_per_day: int
    alert_precision: float
    alert_recall: float


def write_fraud_report(
    scorer: FraudScorer,
    frame: pd.DataFrame,
    path: Path | str,
    *,
    recent: pd.DataFrame | None = None,
    alerts_per_day: int = 100,
    review_cost: float | None = None,
    title: str = "Fraud scoring",
) -> Path:
    """Write the HTML report of a fitted fraud scorer on labelled transactions to ``path``.

    Args:
        scorer: A fitted :class:`~furima.risk.FraudScorer`; its ``time``, ``label`` and
            ``amount`` name the columns of ``frame``.
        frame: Labelled transactions, later than the ones the scorer was fitted on.
        path: The HTML file to write (atomically: a reader never sees half a file).
        recent: Later transactions (labels not needed): adds PSI of features and score.
        alerts_per_day: The alerts the team reviews a day: the top scores of each day.
        review_cost: The cost of one review, in the amount's unit: adds the cost curve.
        title: The page title.

    Returns:
        ``path``.

    Raises:
        NotFittedError: The scorer is not fitted.
        SchemaError: A column the scorer needs is absent.
        DataError: An empty table, labels missing or not 0/1, one class only, a bad alert
            budget or review cost.
    """
    labels = _check_inputs(scorer, frame, recent, alerts_per_day, review_cost)
    scores, reasons, inputs = scorer.score_rows(frame, reasons=scorer.gives_reasons)
    finite_or_refuse(scores, "scores")
    times = frame[scorer.time]
    metrics = fraud_metrics(labels, scores, times, alerts_per_day)
    alerted = _alert_mask(scores, times, alerts_per_day)
    amounts = frame[scorer.amount].to_numpy(dtype=float)
    sections = [
        _headline(metrics, amounts, labels),
        _pr_section(labels, scores, metrics),
        _daily_section(daily_alerts(labels, alerted, frame, scorer.time)),
        _cost_section(scores, labels, amounts, review_cost),
        _distribution_section(scores, labels),
        reasons_section(reasons, alerted),
        top_alerts_section(frame, scores, reasons, scorer, alerted),
        _stability(scorer, frame, inputs, scores, recent),
    ]
    return write_page(path, render_page(title, sections))


def fraud_metrics(
    labels: np.ndarray, scores: np.ndarray, times: Any, alerts_per_day: int
) -> FraudMetrics:
    """AUPRC, AUC and the precision and recall of the daily top ``alerts_per_day``."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    alerted = _alert_mask(scores, times, alerts_per_day)
    caught = int(labels[alerted].sum())
    return FraudMetrics(
        rows=len(labels),
        frauds=int(labels.sum()),
        auprc=float(average_precision_score(labels, scores)),
        auc=float(roc_auc_score(labels, scores)),
        alerts=int(alerted.sum()),
        alerts_per_day=alerts_per_day,
        alert_precision=caught / max(int(alerted.sum()), 1),
        alert_recall=caught / int(labels.sum()),
    )


def daily_alerts(
    labels: np.ndarray, alerted: np.ndarray, frame: pd.DataFrame, time: str
) -> pd.DataFrame:
    """Per calendar day: transactions, frauds, alerts, frauds among them and precision."""
    import pandas as pd

    from furima.risk._alerts import NS_PER_DAY
    from furima.risk._time_split import times_as_ns

    days = np.floor_divide(times_as_ns(frame, time), NS_PER_DAY)
    table = pd.DataFrame({"day": days, "fraud": labels, "alert": alerted.astype(int)})
    table["caught"] = table["fraud"] * table["alert"]
    daily = table.groupby("day").agg(
        transactions=("fraud", "size"),
        frauds=("fraud", "sum"),
        alerts=("alert", "sum"),
        caught=("caught", "sum"),
    )
    daily["precision"] = daily["caught"] / daily["alerts"].clip(lower=1)
    dated = pd.api.types.is_datetime64_any_dtype(frame[time])
    daily.index = [
        pd.Timestamp(int(day) * NS_PER_DAY).strftime("%Y-%m-%d") if dated else f"day {day}"
        for day in daily.index
    ]
    return daily


def _alert_mask(scores: np.ndarray, times: Any, alerts_per_day: int) -> np.ndarray:
    from furima.risk._alerts import alert_budget

    return alert_budget(scores, times, alerts_per_day)


def _check_inputs(
    scorer: FraudScorer,
    frame: pd.DataFrame,
    recent: pd.DataFrame | None,
    alerts_per_day: int,
    review_cost: float | None,
) -> np.ndarray:
    """Refuse bad input before scoring; returns the 0/1 labels."""
    if not hasattr(scorer, "feature_names_"):
        raise NotFittedError("the fraud scorer is not fitted; call fit(history) first")
    if (
        isinstance(alerts_per_day, bool)
        or not isinstance(alerts_per_day, int)
        or alerts_per_day < 1
    ):
        raise DataError(f"alerts_per_day must be a positive integer, but got {alerts_per_day!r}")
    if review_cost is not None and not (math.isfinite(review_cost) and review_cost >= 0):
        raise DataError(f"review_cost must be a finite number >= 0, but got {review_cost!r}")
    needed = [scorer.time, scorer.amount, *scorer.features, *scorer.keys]
    hint = "the scorer reads them (see its time=, label=, amount=, keys=, features=)"
    check_rows(frame, "labelled transactions")
    check_columns(frame, [*needed, scorer.label], "labelled transactions", hint)
    if recent is not None:
        check_rows(recent, "recent transactions")
        check_columns(recent, needed, "recent transactions", hint)
    return _labels(frame[scorer.label], scorer.label)


def _labels(values: pd.Series, name: str) -> np.ndarray:
    allowed = values.isin([0, 1]) & values.notna()
    if not bool(allowed.all()):
        example = values[~allowed].iloc[0]
        example = example.item() if isinstance(example, np.generic) else example
        raise DataError(
            f"fraud labels in {name!r} must be 0/1 or booleans, but got {example!r}; "
            "the report needs a known outcome for every transaction"
        )
    labels = values.to_numpy().astype(int)
    if labels.min() == labels.max():
        raise DataError(
            f"every transaction has label {labels[0]} in {name!r}: with one class only "
            "precision and recall mean nothing; pass a period with frauds and legitimate payments"
        )
    return labels


def _headline(metrics: FraudMetrics, amounts: np.ndarray, labels: np.ndarray) -> str:
    items = {
        "Transactions": whole(metrics.rows),
        "Frauds": f"{whole(metrics.frauds)} ({share(metrics.frauds / metrics.rows, 2)})",
        "Fraud amount": number(float(amounts[labels == 1].sum()), 4),
        "AUPRC": number(metrics.auprc),
        "AUC": number(metrics.auc),
        "Alert budget": f"top {whole(metrics.alerts_per_day)} a day ({whole(metrics.alerts)} "
        "alerts in all)",
        "Precision in the top alerts per day": share(metrics.alert_precision),
        "Frauds caught by the alerts": share(metrics.alert_recall),
    }
    return "<h2>Headline</h2>" + facts(items)


def _pr_section(labels: np.ndarray, scores: np.ndarray, metrics: FraudMetrics) -> str:
    from sklearn.metrics import precision_recall_curve

    from furima.risk._report_charts import pr_figure

    precision, recall, _ = precision_recall_curve(labels, scores)
    budget = (metrics.alert_recall, metrics.alert_precision)
    figure = pr_figure(recall[::-1], precision[::-1], metrics.auprc, budget)
    return "<h2>Precision and recall</h2>" + chart(figure)


def _daily_section(daily: pd.DataFrame) -> str:
    from furima.risk._report_charts import daily_precision_figure

    figure = daily_precision_figure(
        list(daily.index), daily["precision"].to_numpy(), daily["alerts"].to_numpy()
    )
    rows = [
        [
            e(day),
            *(whole(r[name]) for name in ("transactions", "frauds", "alerts", "caught")),
            share(float(r["precision"])),
        ]
        for day, r in zip(daily.index, records(daily), strict=True)
    ]
    header = ["Day", "Transactions", "Frauds", "Alerts", "Frauds in alerts", "Precision"]
    return (
        "<h2>Alerts day by day</h2>"
        + chart(figure, height=320)
        + f"<details><summary>Every day</summary>{table(header, rows, range(1, 6))}</details>"
    )


def _cost_section(
    scores: np.ndarray, labels: np.ndarray, amounts: np.ndarray, review_cost: float | None
) -> str:
    if review_cost is None:
        return ""
    from furima.risk._alerts import cost_threshold
    from furima.risk._report_charts import cost_figure

    best, saving = cost_threshold(scores, labels, amounts, review_cost)
    order = np.argsort(-scores, kind="stable")
    savings = np.cumsum(amounts[order] * labels[order]) - review_cost * np.arange(1, len(order) + 1)
    ranked = scores[order]
    cut = np.append(ranked[1:] != ranked[:-1], True)  # the last row of a run of equal scores
    positive = ranked[cut] > 0  # a log axis cannot show a threshold of 0
    figure = cost_figure(ranked[cut][positive], savings[cut][positive], best)
    reviewed = int((scores >= best).sum())
    verdict = (
        f"Review every transaction scored at or above {number(best, 4)}: {whole(reviewed)} "
        f"reviews, saving {number(saving, 4)}."
        if math.isfinite(best)
        else "No threshold pays for its reviews: review nothing."
    )
    return (
        f"<h2>Cost</h2><p class=note>Each review costs {number(review_cost, 4)}; a reviewed "
        f"fraud saves its amount.</p><p>{verdict}</p>" + chart(figure)
    )


def _distribution_section(scores: np.ndarray, labels: np.ndarray) -> str:
    from furima.risk._report_charts import histogram_figure

    figure = histogram_figure(
        {"legitimate": scores[labels == 0], "fraud": scores[labels == 1]},
        title="Scores of fraud and legitimate transactions",
        x_title="fraud score",
        log_y=True,
    )
    return "<h2>Score distribution</h2>" + chart(figure)


def _stability(
    scorer: FraudScorer,
    frame: pd.DataFrame,
    inputs: np.ndarray,
    scores: np.ndarray,
    recent: pd.DataFrame | None,
) -> str:
    if recent is None:
        return ""
    import pandas as pd

    from furima.risk._stability import stability_report

    names = list(scorer.feature_names_)
    later_scores, later_inputs = _recent_inputs(scorer, frame, recent)
    before = pd.DataFrame(inputs, columns=names).assign(score=scores)
    after = pd.DataFrame(later_inputs, columns=names).assign(score=later_scores)
    usable = [n for n in names if before[n].notna().any() and after[n].notna().any()]
    report = stability_report(before, after, usable, score="score")
    return stability_section(
        report,
        f"The model inputs and scores of the labelled transactions against the recent "
        f"ones ({len(recent):,} rows).",
    )


def _recent_inputs(
    scorer: FraudScorer, frame: pd.DataFrame, recent: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray]:
    """Scores and model inputs of ``recent``. When it follows ``frame`` in time, it is scored
    after ``frame`` so that its entity features count the payments of ``frame`` too (the
    scorer's own history ends where its fit did); otherwise it is scored alone."""
    import pandas as pd

    from furima.risk._time_split import times_as_ns

    if times_as_ns(recent, scorer.time).min() < times_as_ns(frame, scorer.time).max():
        scores, _, inputs = scorer.score_rows(recent, reasons=False)
        return scores, inputs
    columns = [scorer.time, scorer.amount, *scorer.features, *scorer.keys]
    both = pd.concat([frame[columns], recent[columns]], ignore_index=True)
    scores, _, inputs = scorer.score_rows(both, reasons=False)
    return scores[len(frame) :], inputs[len(frame) :]
