"""The sections of the credit report that depend on what the model offers or the caller asks:
information values and bins (when the model has them), approval rates by protected group and
declined applicants with their reasons (when a cut-off is given)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from furima.risk._report_page import chart, e, number, records, share, table, whole

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "DECLINED_SHOWN",
    "MAX_BIN_CHARTS",
    "approval_section",
    "bins_section",
    "declined_section",
    "information_section",
]

MAX_BIN_CHARTS = 6
"""Bad rate per bin is drawn for this many features (highest information value first); the
bins of every feature are in the tables."""
DECLINED_SHOWN = 5
APPROVED = "__approved__"


def information_section(model: Any) -> str:
    """Information value per feature, with the conventional reading of its strength."""
    if not callable(getattr(model, "information_values", None)):
        return ""
    from furima.risk._report_charts import bar_figure

    values = model.information_values().sort_values(ascending=False, kind="stable")
    names = [str(name) for name in values.index]
    numbers = values.to_numpy(dtype=float)
    figure = bar_figure(names, numbers, title="Information value", x_title="information value")
    rows = [[e(name), number(iv), _strength(iv)] for name, iv in zip(names, numbers, strict=True)]
    return (
        "<h2>Information values</h2><p class=note>How well each feature's bins separate goods "
        "from bads: under 0.02 useless, 0.02 to 0.1 weak, 0.1 to 0.3 medium, 0.3 to 0.5 strong, "
        "above 0.5 suspiciously strong (check for a leak).</p>"
        + chart(figure, height=max(280, 120 + 22 * len(names)))
        + table(["Feature", "Information value", "Strength"], rows, numeric=(1,))
    )


def _strength(iv: float) -> str:
    for limit, word in ((0.02, "useless"), (0.1, "weak"), (0.3, "medium"), (0.5, "strong")):
        if iv < limit:
            return word
    return '<span class="flag">suspicious</span>'


def bins_section(model: Any) -> str:
    """Each feature's bins with count, bad rate, WoE and IV; charts for the strongest."""
    if not callable(getattr(model, "binning_table", None)):
        return ""
    features = _features_by_strength(model)
    if not features:
        return ""
    from furima.risk._report_charts import bins_figure

    parts = ["<h2>Bins per feature</h2>"]
    for rank, feature in enumerate(features):
        bins = _bins(model.binning_table(feature))
        if rank < MAX_BIN_CHARTS:
            figure = bins_figure(
                bins["label"].tolist(),
                bins["Event rate"].to_numpy(dtype=float),
                bins["Count"].to_numpy(dtype=int),
                bins["WoE"].to_numpy(dtype=float),
                title=feature,
            )
            parts.append(chart(figure, height=max(240, 130 + 30 * len(bins))))
        parts.append(f"<details><summary>{e(feature)}: bins</summary>{_bins_table(bins)}</details>")
    return "".join(parts)


def _features_by_strength(model: Any) -> list[str]:
    if callable(getattr(model, "information_values", None)):
        values = model.information_values().sort_values(ascending=False, kind="stable")
        return [str(name) for name in values.index]
    return [str(name) for name in getattr(model, "features_", None) or []]


def _bins(raw: pd.DataFrame) -> pd.DataFrame:
    """The regular bins and any Special or Missing bin that holds rows; no totals row."""
    rows = raw[[str(index) != "Totals" for index in raw.index]].copy()
    labels = [_bin_text(value) for value in rows["Bin"]]
    rows["label"] = labels
    extra = rows["label"].isin(["Special", "Missing"]) & (rows["Count"] == 0)
    return rows.loc[~extra]


def _bin_text(value: object) -> str:
    """A bin as text: intervals as they are, groups of categories as a list."""
    if isinstance(value, str):
        if value.startswith("["):
            try:
                parsed = json.loads(value)
            except ValueError:
                return value
            return ", ".join(map(str, parsed)) if isinstance(parsed, list) else value
        return value
    if isinstance(value, list | tuple | np.ndarray) or hasattr(value, "tolist"):
        return ", ".join(map(str, list(value)))  # type: ignore[call-overload]
    return str(value)


def _bins_table(bins: pd.DataFrame) -> str:
    rows = [
        [
            e(row["label"]),
            whole(row["Count"]),
            share(float(row["Count (%)"])),
            share(float(row["Event rate"])),
            number(float(row["WoE"])),
            number(float(row["IV"])),
        ]
        for row in records(bins)
    ]
    header = ["Bin", "Applicants", "Share", "Bad rate", "WoE", "IV"]
    return table(header, rows, numeric=(1, 2, 3, 4, 5))


def approval_section(
    frame: pd.DataFrame, scored: pd.DataFrame, protected: Sequence[str], max_pd: float | None
) -> str:
    """Approval rate per group of each protected column at the cut-off, four-fifths flagged."""
    if not protected or max_pd is None:
        return ""
    from furima.risk._stability import approval_rates

    approved = (scored["probability_of_default"].to_numpy(dtype=float) <= max_pd).astype(int)
    intro = (
        f"<h2>Approval rates by protected group</h2><p class=note>Approved: PD at most "
        f"{share(max_pd)}. A group approved at under four fifths of the best group's rate is "
        "flagged. Numeric columns are cut at their quartiles.</p>"
    )
    if not approved.any():
        return intro + "<p class=flag>No applicant is approved at this cut-off.</p>"
    parts = [intro]
    for column in protected:
        decisions = frame[[column]].assign(**{APPROVED: approved})
        rates = approval_rates(decisions, approved=APPROVED, group=column)
        parts.append(f"<h3>{e(column)}</h3>" + _rates_table(rates))
    return "".join(parts)


def _rates_table(rates: pd.DataFrame) -> str:
    rows = [
        [
            e(row["group"]),
            whole(row["applicants"]),
            whole(row["approved"]),
            share(float(row["approval_rate"])),
            number(float(row["ratio_to_best"])),
            '<span class="flag">below four fifths</span>' if row["four_fifths_flag"] else "ok",
        ]
        for row in records(rates)
    ]
    header = ["Group", "Applicants", "Approved", "Approval rate", "Ratio to best", "Four fifths"]
    return table(header, rows, numeric=(1, 2, 3, 4))


def declined_section(scored: pd.DataFrame, max_pd: float | None) -> str:
    """How many were declined, whether each has a reason, and the riskiest few with theirs."""
    if max_pd is None:
        return ""
    declined = scored[scored["probability_of_default"] > max_pd]
    explained = sum(1 for reasons in declined["reasons"] if len(reasons) > 0)
    summary = (
        f"<p>{whole(len(declined))} of {whole(len(scored))} applicants declined (PD above "
        f"{share(max_pd)}); {whole(explained)} of them with at least one reason.</p>"
    )
    riskiest = declined.sort_values("probability_of_default", ascending=False, kind="stable")
    rows = [
        [
            e(index),
            number(float(row["score"]), 4),
            share(float(row["probability_of_default"])),
            "<ul class=reasons>" + "".join(f"<li>{e(r)}</li>" for r in row["reasons"]) + "</ul>",
        ]
        for index, row in zip(riskiest.index, records(riskiest.head(DECLINED_SHOWN)), strict=False)
    ]
    shown = table(["Applicant", "Score", "PD", "Reasons"], rows, numeric=(1, 2)) if rows else ""
    return "<h2>Declined applicants</h2>" + summary + shown
