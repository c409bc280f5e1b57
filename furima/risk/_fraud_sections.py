"""The fraud report's explanation sections: which features the reasons name most often, and
the highest-scored alerts with their reasons, as a reviewer would see them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from furima.risk._report_page import chart, e, number, share, table

if TYPE_CHECKING:
    import pandas as pd

    from furima.risk._fraud import FraudScorer

__all__ = ["TOP_ALERTS_SHOWN", "TOP_REASONS", "reasons_section", "top_alerts_section"]

TOP_REASONS = 15
"""Most features drawn in the reasons chart."""
TOP_ALERTS_SHOWN = 5


def _reason_features(reasons: Sequence[list[str]]) -> Counter[str]:
    """How often each feature is named, from reasons like ``"name = 1.00 (+3.40)"``."""
    return Counter(reason.split(" = ", 1)[0] for row in reasons for reason in row)


def reasons_section(reasons: list[list[str]] | None, alerted: np.ndarray) -> str:
    if reasons is None:
        return "<h2>Reasons</h2><p class=note>This scorer's model gives no per-feature reasons.</p>"
    from furima.risk._report_charts import bar_figure

    everywhere = _reason_features(reasons)
    in_alerts = _reason_features([reasons[i] for i in np.flatnonzero(alerted)])
    names = [name for name, _ in (in_alerts + everywhere).most_common(TOP_REASONS)]
    series = {
        "alerts": np.array([in_alerts[n] / max(int(alerted.sum()), 1) for n in names]),
        "all transactions": np.array([everywhere[n] / len(reasons) for n in names]),
    }
    figure = bar_figure(
        names,
        series["alerts"],
        title="Features named in the reasons",
        x_title="share of transactions whose reasons name it",
        series=series,
    )
    figure.update_xaxes(tickformat=".0%")
    return (
        "<h2>Reasons</h2><p class=note>Each score names the features that moved it most; "
        "how often each feature is named, among the alerts and overall.</p>"
        + chart(figure, height=max(300, 140 + 34 * len(names)))
    )


def top_alerts_section(
    frame: pd.DataFrame,
    scores: np.ndarray,
    reasons: list[list[str]] | None,
    scorer: FraudScorer,
    alerted: np.ndarray,
) -> str:
    candidates = np.flatnonzero(alerted)
    top = candidates[np.argsort(-scores[candidates], kind="stable")][:TOP_ALERTS_SHOWN]
    rows = [
        [
            e(frame[scorer.time].iloc[i]),
            number(float(frame[scorer.amount].iloc[i]), 4),
            share(float(scores[i])),
            "fraud" if int(frame[scorer.label].iloc[i]) == 1 else "legitimate",
            _reason_list(reasons[i] if reasons is not None else []),
        ]
        for i in top
    ]
    header = ["Time", "Amount", "Score", "Outcome", "Reasons"]
    return "<h2>Highest-scored alerts</h2>" + table(header, rows, numeric=(1, 2))


def _reason_list(reasons: Sequence[str]) -> str:
    return "<ul class=reasons>" + "".join(f"<li>{e(r)}</li>" for r in reasons) + "</ul>"
