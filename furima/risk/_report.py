"""The credit report: one HTML page a risk team, an auditor or a regulator can read offline.

It shows how well a credit model ranks and how honest its probabilities of default are on a
labelled sample (headline metrics, score distributions of goods and bads, calibration, ROC
and KS curves), what the model is made of when it says so (information values, each
feature's bins with their bad rate and weight of evidence), and, when asked, whether the
population moved since development (PSI), whether a cut-off approves protected groups alike
(the four-fifths rule) and why applicants were declined.

Calibration bins and the expected calibration error (ECE) use equal-count bins of the
predicted PD, so every bin holds enough applicants to measure a bad rate.

    write_credit_report(card, test, "credit.html", recent=last_month,
                        protected=["personal_status_and_sex", "age_in_years"], max_pd=0.3)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from furima.exceptions import DataError, SchemaError
from furima.risk._credit_sections import (
    approval_section,
    bins_section,
    declined_section,
    information_section,
)
from furima.risk._report_page import (
    chart,
    check_columns,
    check_rows,
    facts,
    finite_or_refuse,
    number,
    render_page,
    share,
    stability_section,
    table,
    whole,
    write_page,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "CreditMetrics",
    "KSCurve",
    "calibration_bins",
    "credit_metrics",
    "ks_curve",
    "write_credit_report",
]

CALIBRATION_BINS = 10
SCORED_COLUMNS = ("score", "probability_of_default", "reasons")


@dataclass(frozen=True)
class CreditMetrics:
    """How a credit model did on a labelled sample (KS from the score, the rest from PD)."""

    rows: int
    bads: int
    bad_rate: float
    auc: float
    gini: float
    ks: float
    ks_score: float
    brier: float
    ece: float


def write_credit_report(
    model: Any,
    frame: pd.DataFrame,
    path: Path | str,
    *,
    target: str | None = None,
    bad_value: object = None,
    recent: pd.DataFrame | None = None,
    protected: Sequence[str] = (),
    max_pd: float | None = None,
    title: str = "Credit scorecard",
) -> Path:
    """Write the HTML report of a credit model scored on the labelled ``frame`` to ``path``.

    Args:
        model: Anything with ``score(frame)`` giving ``score``, ``probability_of_default`` and
            ``reasons`` (a :class:`~furima.risk.Scorecard`, a loaded one...). Its
            ``information_values()`` and ``binning_table(feature)`` are shown when it has them.
        frame: A labelled sample (development or test).
        path: The HTML file to write (atomically: a reader never sees half a file).
        target: The outcome column; defaults to ``model.target``.
        bad_value: The target value meaning default; defaults to ``model.bad_value``.
        recent: A recent sample (labels not needed): adds PSI per feature and of the score.
        protected: Columns to report approval rates for (needs ``max_pd``).
        max_pd: The cut-off: applicants with a PD above it are declined. Adds the approval
            rates and a few declined applicants with their reasons.
        title: The page title.

    Returns:
        ``path``.

    Raises:
        SchemaError: The target, a protected column or (in ``recent``) a model feature is
            absent, or the model's output lacks a column.
        DataError: No target or bad value given or known to the model, an empty sample, one
            class only, a missing outcome, a bad ``max_pd``, ``protected`` without
            ``max_pd``, a model without ``score``, or missing or infinite model outputs.
    """
    target, bad_value = _outcome_names(model, target, bad_value)
    bad = _check_inputs(model, frame, target, bad_value, recent, protected, max_pd)
    scored = _score(model, frame)
    metrics = credit_metrics(bad, scored["probability_of_default"], scored["score"])
    sections = [
        _headline(metrics, scored, max_pd),
        _distribution_section(scored["score"].to_numpy(dtype=float), bad),
        _calibration_section(bad, scored["probability_of_default"].to_numpy(dtype=float)),
        _ranking_section(bad, scored, metrics),
        information_section(model),
        bins_section(model),
        _stability(model, frame, scored, recent, target),
        approval_section(frame, scored, protected, max_pd),
        declined_section(scored, max_pd),
    ]
    return write_page(path, render_page(title, sections))


def credit_metrics(bad: np.ndarray, pd_values: Any, scores: Any) -> CreditMetrics:
    """AUC, Gini, Brier and ECE of the probabilities of default; KS of the scores."""
    from sklearn.metrics import brier_score_loss, roc_auc_score

    probability = np.asarray(pd_values, dtype=float)
    auc = float(roc_auc_score(bad, probability))
    ks = ks_curve(np.asarray(scores, dtype=float), bad)
    calibration = calibration_bins(bad, probability)
    weights = calibration[2] / len(bad)
    ece = float(np.sum(weights * np.abs(calibration[0] - calibration[1])))
    return CreditMetrics(
        rows=len(bad),
        bads=int(bad.sum()),
        bad_rate=float(bad.mean()),
        auc=auc,
        gini=2 * auc - 1,
        ks=ks.statistic,
        ks_score=ks.at,
        brier=float(brier_score_loss(bad, probability)),
        ece=ece,
    )


def calibration_bins(
    bad: np.ndarray, probability: np.ndarray, bins: int = CALIBRATION_BINS
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean predicted PD, observed bad rate and size of equal-count bins sorted by PD."""
    order = np.argsort(probability, kind="stable")
    groups = [group for group in np.array_split(order, min(bins, len(order))) if len(group)]
    predicted = np.array([probability[group].mean() for group in groups])
    observed = np.array([bad[group].mean() for group in groups])
    counts = np.array([len(group) for group in groups])
    return predicted, observed, counts


@dataclass(frozen=True)
class KSCurve:
    """Shares of bads and goods at or below each distinct score, and their widest gap (the
    two-sample Kolmogorov-Smirnov statistic) with the score where it is."""

    scores: np.ndarray
    bads: np.ndarray
    goods: np.ndarray
    statistic: float
    at: float


def ks_curve(scores: np.ndarray, bad: np.ndarray) -> KSCurve:
    """The KS curve of ``scores`` split by ``bad`` (1 bad, 0 good)."""
    grid = np.unique(scores)

    def shares(values: np.ndarray) -> np.ndarray:
        return np.searchsorted(np.sort(values), grid, side="right") / max(len(values), 1)

    bads, goods = shares(scores[bad == 1]), shares(scores[bad == 0])
    gaps = np.abs(bads - goods)
    widest = int(np.argmax(gaps))
    return KSCurve(grid, bads, goods, float(gaps[widest]), float(grid[widest]))


def _outcome_names(model: Any, target: str | None, bad_value: object) -> tuple[str, object]:
    target = target if target is not None else getattr(model, "target", None)
    bad_value = bad_value if bad_value is not None else getattr(model, "bad_value", None)
    if target is None or bad_value is None:
        raise DataError(
            "the report needs the outcome column and its bad value, and the model does not "
            "say them; pass target=<column> and bad_value=<value meaning default>"
        )
    return str(target), bad_value


def _check_inputs(
    model: Any,
    frame: pd.DataFrame,
    target: str,
    bad_value: object,
    recent: pd.DataFrame | None,
    protected: Sequence[str],
    max_pd: float | None,
) -> np.ndarray:
    """Refuse bad input before scoring; returns 1 for each bad row, 0 for each good one."""
    if not callable(getattr(model, "score", None)):
        raise DataError(
            f"the model ({type(model).__name__}) has no score(frame) method; pass a fitted "
            "Scorecard, a loaded scorecard or another model that scores applicants"
        )
    check_rows(frame, "labelled sample")
    check_columns(frame, [target], "labelled sample", "pass target=<the outcome column>")
    _check_policy(frame, protected, max_pd)
    if recent is not None:
        check_rows(recent, "recent sample")
        features = list(getattr(model, "features_", None) or [])
        check_columns(recent, features, "recent sample", "it needs the model's features")
    return _bad_flags(frame[target], target, bad_value)


def _check_policy(frame: pd.DataFrame, protected: Sequence[str], max_pd: float | None) -> None:
    if isinstance(protected, str):
        raise DataError(f"protected must be a list of columns, e.g. [{protected!r}]")
    if max_pd is not None and not (isinstance(max_pd, int | float) and 0 < max_pd < 1):
        raise DataError(f"max_pd must be a probability between 0 and 1, but got {max_pd!r}")
    if protected and max_pd is None:
        raise DataError(
            "approval rates by protected group need a cut-off: pass max_pd=<the highest "
            "probability of default still approved>"
        )
    check_columns(frame, list(protected), "labelled sample", "fix the names in protected=")


def _bad_flags(outcome: pd.Series, target: str, bad_value: object) -> np.ndarray:
    if bool(outcome.isna().any()):
        raise DataError(
            f"the outcome {target!r} is missing on {int(outcome.isna().sum())} row(s); "
            "label or drop them: the report needs a known outcome for every row"
        )
    bad = (outcome == bad_value).to_numpy().astype(int)
    values = sorted(map(str, outcome.unique()))[:10]
    if not bad.any():
        raise DataError(
            f"no row of {target!r} equals bad_value={bad_value!r} (values: {values}); "
            "pass bad_value=<the value meaning default>"
        )
    if bad.all():
        raise DataError(
            f"every row of {target!r} is bad ({bad_value!r}): with one class only no ranking "
            "metric exists; pass a sample with goods and bads"
        )
    return bad


def _score(model: Any, frame: pd.DataFrame) -> pd.DataFrame:
    scored: pd.DataFrame = model.score(frame)
    absent = [column for column in SCORED_COLUMNS if column not in scored.columns]
    if absent or len(scored) != len(frame):
        raise SchemaError(
            f"model.score(frame) must give one row per applicant with the columns "
            f"{list(SCORED_COLUMNS)}; it gave {len(scored)} rows with {list(scored.columns)}"
        )
    finite_or_refuse(scored["probability_of_default"].to_numpy(dtype=float), "PDs")
    finite_or_refuse(scored["score"].to_numpy(dtype=float), "scores")
    return scored


def _headline(metrics: CreditMetrics, scored: pd.DataFrame, max_pd: float | None) -> str:
    items = {
        "Applicants": whole(metrics.rows),
        "Bads": f"{whole(metrics.bads)} (bad rate {share(metrics.bad_rate)})",
        "AUC": number(metrics.auc),
        "Gini": number(metrics.gini),
        "KS": f"{number(metrics.ks)} (at score {number(metrics.ks_score, 4)})",
        "Brier score": number(metrics.brier),
        "Expected calibration error": f"{number(metrics.ece)} ({CALIBRATION_BINS} equal-count "
        "bins)",
    }
    if max_pd is not None:
        approved = float((scored["probability_of_default"] <= max_pd).mean())
        items["Approved at the cut-off"] = f"{share(approved)} (PD at most {share(max_pd)})"
    return "<h2>Headline</h2>" + facts(items)


def _distribution_section(scores: np.ndarray, bad: np.ndarray) -> str:
    from furima.risk._report_charts import histogram_figure

    figure = histogram_figure(
        {"goods": scores[bad == 0], "bads": scores[bad == 1]},
        title="Score distribution of goods and bads",
        x_title="score",
    )
    return "<h2>Score distribution</h2>" + chart(figure)


def _calibration_section(bad: np.ndarray, probability: np.ndarray) -> str:
    from furima.risk._report_charts import calibration_figure

    predicted, observed, counts = calibration_bins(bad, probability)
    rows = [
        [str(i + 1), whole(n), share(p, 2), share(o, 2), number(o - p, 2)]
        for i, (p, o, n) in enumerate(zip(predicted, observed, counts, strict=True))
    ]
    header = ["Bin", "Applicants", "Mean predicted PD", "Observed bad rate", "Gap"]
    return (
        "<h2>Calibration</h2><p class=note>Applicants sorted by predicted PD into "
        f"{len(counts)} bins of equal size; a calibrated model sits on the diagonal.</p>"
        + chart(calibration_figure(predicted, observed, counts))
        + table(header, rows, numeric=(1, 2, 3, 4))
    )


def _ranking_section(bad: np.ndarray, scored: pd.DataFrame, metrics: CreditMetrics) -> str:
    from sklearn.metrics import roc_curve

    from furima.risk._report_charts import ks_figure, roc_figure

    fpr, tpr, _ = roc_curve(bad, scored["probability_of_default"].to_numpy(dtype=float))
    ks = ks_curve(scored["score"].to_numpy(dtype=float), bad)
    return (
        "<h2>ROC curve</h2>"
        + chart(roc_figure(fpr, tpr, metrics.auc))
        + "<h2>KS curve</h2>"
        + chart(ks_figure(ks.scores, ks.bads, ks.goods, ks.at, ks.statistic))
    )


def _stability(
    model: Any,
    frame: pd.DataFrame,
    scored: pd.DataFrame,
    recent: pd.DataFrame | None,
    target: str,
) -> str:
    if recent is None:
        return ""
    from furima.risk._stability import stability_report

    features = list(getattr(model, "features_", None) or [])
    if not features:
        features = [str(c) for c in frame.columns if c != target and c in recent.columns]
    usable = [f for f in features if frame[f].notna().any() and recent[f].notna().any()]
    development = frame[usable].assign(score=scored["score"].to_numpy())
    later = recent[usable].assign(score=_score(model, recent)["score"].to_numpy())
    report = stability_report(development, later, usable, score="score")
    skipped = sorted(set(features) - set(usable))
    intro = f"The labelled sample against the recent one ({len(recent):,} rows)."
    if skipped:
        intro += f" Left out, all missing in one sample: {', '.join(skipped)}."
    return stability_section(report, intro)
