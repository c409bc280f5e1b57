"""Stability and fairness reports shared by the fraud and credit models.

A model is built on a *development* sample and scored on a *recent* one; when inputs or scores
drift, its numbers stop meaning what they meant. The population stability index (PSI) says how
far a distribution moved::

    PSI = sum over bins of (a - e) * ln(a / e)

with ``e`` and ``a`` the shares of the expected (development) and actual (recent) samples in
each bin. Conventional bands: below 0.1 "stable", 0.1 to 0.25 "watch", above 0.25 "shifted".

Approval rates by a protected attribute (sex, age band) tell whether a policy treats groups
alike; the four-fifths rule flags a group approved at under 80% of the best group's rate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from furima.exceptions import DataError, SchemaError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "EMPTY_BIN_SHARE",
    "FOUR_FIFTHS",
    "PSI_SHIFTED",
    "PSI_WATCH",
    "approval_rates",
    "population_stability_index",
    "psi_band",
    "stability_report",
]

#: Share given to a bin that one sample leaves empty, so that ``ln(a / e)`` stays finite.
#: Shares are floored, not renormalised: an empty bin adds at most about
#: ``share * ln(share / 1e-4)`` to the PSI, which is what the textbooks do.
EMPTY_BIN_SHARE = 1e-4
#: PSI at or above which a distribution is worth watching.
PSI_WATCH = 0.1
#: PSI above which a distribution has shifted.
PSI_SHIFTED = 0.25
#: The four-fifths rule: a group approved at under this share of the best rate is flagged.
FOUR_FIFTHS = 0.8
MISSING = "(missing)"


def population_stability_index(
    expected: Sequence[object] | np.ndarray | pd.Series,
    actual: Sequence[object] | np.ndarray | pd.Series,
    *,
    bins: int = 10,
    categorical: bool = False,
) -> float:
    """How far ``actual`` moved from ``expected``: ``sum((a - e) * ln(a / e))`` over bins.

    Numeric values are cut at the quantiles of the *expected* sample (``bins`` bins, fewer
    when ties merge edges; the outer bins are open so recent values beyond the development
    range still count); categorical values use one bin per category seen in either sample.
    Missing values (NaN, None) form a bin of their own, so a feature that starts arriving
    empty shows up. A bin empty in one sample gets the share :data:`EMPTY_BIN_SHARE`.

    Raises:
        DataError: An empty or all-missing sample, or ``bins < 2``.
    """
    _check_bins(bins)
    expected_values = _as_series(expected, "expected")
    actual_values = _as_series(actual, "actual")
    if categorical:
        expected_shares, actual_shares = _categorical_shares(expected_values, actual_values)
    else:
        expected_shares, actual_shares = _numeric_shares(expected_values, actual_values, bins)
    return _psi_from_shares(expected_shares, actual_shares)


def psi_band(psi: float) -> str:
    """The conventional reading of a PSI: "stable" (< 0.1), "watch" (0.1-0.25), "shifted"."""
    if psi < PSI_WATCH:
        return "stable"
    return "watch" if psi <= PSI_SHIFTED else "shifted"


def stability_report(
    development: pd.DataFrame,
    recent: pd.DataFrame,
    columns: Sequence[str] | None = None,
    *,
    score: str | None = None,
    bins: int = 10,
) -> pd.DataFrame:
    """PSI per feature (and for the score) between a development and a recent sample.

    Columns of a non-numeric or boolean dtype are compared by category, the others by the
    development sample's quantiles. ``columns`` defaults to every development column but
    ``score``.

    Returns:
        One row per column, the score last: ``column``, ``kind`` ("feature" or "score"),
        ``psi``, ``band``, ``missing_development`` and ``missing_recent`` (shares of missing
        values in each sample).

    Raises:
        DataError: An empty sample, or a column all missing in one sample.
        SchemaError: A column (or the score) missing from either sample.
    """
    import pandas as pd

    _check_bins(bins)
    names = _report_columns(development, recent, columns, score)
    rows = [_report_row(development, recent, name, "feature", bins) for name in names]
    if score is not None:
        rows.append(_report_row(development, recent, score, "score", bins))
    return pd.DataFrame(rows)


def approval_rates(
    frame: pd.DataFrame,
    *,
    approved: str,
    group: str,
    bins: int | Sequence[float] = 4,
) -> pd.DataFrame:
    """Approval rate per group of a protected attribute, against the most-approved group.

    A numeric ``group`` column (age) is banded: ``bins`` as an int cuts at its quantiles,
    as a sequence of numbers cuts at those values (``bins=[25]`` gives "< 25" and ">= 25").
    Missing group values form the group ``"(missing)"``.

    Returns:
        One row per group, in order: ``group``, ``applicants``, ``approved``,
        ``approval_rate``, ``ratio_to_best`` (rate over the highest group rate) and
        ``four_fifths_flag`` (``ratio_to_best < 0.8``).

    Raises:
        DataError: An empty table, approvals that are not 0/1 or booleans, no approval in
            any group, or bad ``bins``.
        SchemaError: ``approved`` or ``group`` is not a column.
    """
    import pandas as pd

    _check_table(frame, "frame")
    _check_columns(frame, [approved, group], "frame")
    decisions = _approval_flags(frame[approved], approved)
    groups, order = _group_labels(frame[group], bins)
    table = (
        pd.DataFrame({"group": groups, "approved": decisions})
        .groupby("group", sort=False)["approved"]
        .agg(applicants="size", approved="sum")
    )
    table = table.loc[[name for name in order if name in table.index]]
    return _with_rates(table.reset_index())


def _check_bins(bins: int) -> None:
    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 2:
        raise DataError(f"bins must be an integer of at least 2, but got {bins!r}")


def _as_series(values: object, name: str) -> pd.Series:
    import pandas as pd

    if isinstance(values, pd.Series):
        series = values.reset_index(drop=True)
    else:
        array = np.asarray(values, dtype=object)
        if array.ndim != 1:
            raise DataError(
                f"the {name} sample must be one-dimensional, but got shape {array.shape}; "
                "pass one column at a time"
            )
        series = pd.Series(array)
    if len(series) == 0:
        raise DataError(f"the {name} sample is empty; pass at least one value")
    if bool(series.isna().all()):
        raise DataError(f"the {name} sample is all missing; pass some non-missing values")
    return series


def _numeric_shares(
    expected: pd.Series, actual: pd.Series, bins: int
) -> tuple[np.ndarray, np.ndarray]:
    expected_numbers = _as_numbers(expected, "expected")
    actual_numbers = _as_numbers(actual, "actual")
    present = expected_numbers[~np.isnan(expected_numbers)]
    edges = np.unique(np.quantile(present, np.linspace(0.0, 1.0, bins + 1))[1:-1])
    expected_bins = _bin_indices(expected_numbers, edges)
    actual_bins = _bin_indices(actual_numbers, edges)
    size = len(edges) + 2  # len(edges) + 1 bins, and one for missing values
    return _shares(expected_bins, size), _shares(actual_bins, size)


def _as_numbers(values: pd.Series, name: str) -> np.ndarray:
    import pandas as pd

    numbers = pd.to_numeric(values, errors="coerce")
    bad = numbers.isna() & values.notna()
    if bool(bad.any()):
        example = values[bad].iloc[0]
        raise DataError(
            f"the {name} sample has non-numeric values such as {example!r}; "
            "pass categorical=True to compare categories"
        )
    return numbers.to_numpy(dtype=float)


def _bin_indices(numbers: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Bin ``i`` holds ``edges[i-1] < x <= edges[i]``; the last index is for missing values."""
    indices = np.searchsorted(edges, numbers, side="left")
    indices[np.isnan(numbers)] = len(edges) + 1
    return indices


def _shares(indices: np.ndarray, size: int) -> np.ndarray:
    counts = np.bincount(indices.astype(np.int64), minlength=size)
    return np.asarray(counts / counts.sum(), dtype=float)


def _categorical_shares(expected: pd.Series, actual: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    expected_counts = expected.fillna(MISSING).astype(str).value_counts(normalize=True)
    actual_counts = actual.fillna(MISSING).astype(str).value_counts(normalize=True)
    categories = sorted(set(expected_counts.index) | set(actual_counts.index))
    expected_shares = expected_counts.reindex(categories, fill_value=0.0).to_numpy(dtype=float)
    actual_shares = actual_counts.reindex(categories, fill_value=0.0).to_numpy(dtype=float)
    return expected_shares, actual_shares


def _psi_from_shares(expected: np.ndarray, actual: np.ndarray) -> float:
    """Bins empty in both samples add nothing; one empty side gets :data:`EMPTY_BIN_SHARE`."""
    used = (expected > 0) | (actual > 0)
    floored_expected = np.maximum(expected[used], EMPTY_BIN_SHARE)
    floored_actual = np.maximum(actual[used], EMPTY_BIN_SHARE)
    terms = (floored_actual - floored_expected) * np.log(floored_actual / floored_expected)
    return float(terms.sum())


def _check_table(frame: pd.DataFrame, name: str) -> None:
    if len(frame) == 0:
        raise DataError(f"the {name} sample has no rows; pass a table with at least one row")


def _check_columns(frame: pd.DataFrame, names: Sequence[str], name: str) -> None:
    unknown = [column for column in names if column not in frame.columns]
    if unknown:
        raise SchemaError(
            f"the {name} sample has no column {', '.join(map(repr, unknown))}; "
            f"its columns are {list(map(str, frame.columns))}"
        )


def _report_columns(
    development: pd.DataFrame,
    recent: pd.DataFrame,
    columns: Sequence[str] | None,
    score: str | None,
) -> list[str]:
    _check_table(development, "development")
    _check_table(recent, "recent")
    if columns is None:
        names = [str(column) for column in development.columns if column != score]
    else:
        names = [column for column in columns if column != score]
    wanted = names if score is None else [*names, score]
    _check_columns(development, wanted, "development")
    _check_columns(recent, wanted, "recent")
    for name in wanted:
        _check_not_all_missing(development[name], name, "development")
        _check_not_all_missing(recent[name], name, "recent")
    return names


def _check_not_all_missing(values: pd.Series, name: str, sample: str) -> None:
    if bool(values.isna().all()):
        raise DataError(
            f"column {name!r} is all missing in the {sample} sample; "
            "drop it from `columns` or fill it"
        )


def _is_categorical(values: pd.Series) -> bool:
    """Text, categories and booleans are compared by category, numbers by quantile bins."""
    import pandas as pd

    return not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)


def _report_row(
    development: pd.DataFrame, recent: pd.DataFrame, name: str, kind: str, bins: int
) -> dict[str, object]:
    expected, actual = development[name], recent[name]
    categorical = _is_categorical(expected) or _is_categorical(actual)
    psi = population_stability_index(expected, actual, bins=bins, categorical=categorical)
    return {
        "column": name,
        "kind": kind,
        "psi": psi,
        "band": psi_band(psi),
        "missing_development": float(expected.isna().mean()),
        "missing_recent": float(actual.isna().mean()),
    }


def _approval_flags(values: pd.Series, name: str) -> np.ndarray:
    allowed = values.isin([0, 1]) & values.notna()
    if not bool(allowed.all()):
        example = values[~allowed].iloc[0]
        raise DataError(
            f"approvals in column {name!r} must be 0/1 or booleans, but got {example!r}; "
            "fill missing decisions or map them to 0/1"
        )
    return values.to_numpy().astype(int)


def _group_labels(values: pd.Series, bins: int | Sequence[float]) -> tuple[pd.Series, list[str]]:
    """Each row's group as text, and the groups in report order (missing last)."""
    import pandas as pd

    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        cuts = _cut_points(values, bins)
        order = [_band_label(cuts, index) for index in range(len(cuts) + 1)]
        positions = np.searchsorted(np.asarray(cuts), values.to_numpy(dtype=float), "right")
        labels = pd.Series([order[p] for p in positions], index=values.index, dtype=object)
    else:
        labels = values.astype(str)
        order = sorted(set(labels[values.notna()]))
    return labels.where(values.notna(), MISSING), [*order, MISSING]


def _cut_points(values: pd.Series, bins: int | Sequence[float]) -> list[float]:
    if isinstance(bins, int):  # bool included: _check_bins refuses it
        _check_bins(bins)
        present = values.dropna().to_numpy(dtype=float)
        if len(present) == 0:
            raise DataError("the group column is all missing; pass a column with values")
        inner = np.quantile(present, np.linspace(0.0, 1.0, bins + 1))[1:-1]
        return [float(cut) for cut in np.unique(inner)]
    cuts = [float(cut) for cut in bins]
    if not cuts or any(not math.isfinite(c) for c in cuts) or cuts != sorted(set(cuts)):
        raise DataError(
            f"bins as cut points must be finite and strictly increasing, but got {list(bins)}"
        )
    return cuts


def _band_label(cuts: list[float], index: int) -> str:
    def show(value: float) -> str:
        return f"{value:g}"

    if not cuts:
        return "all"
    if index == 0:
        return f"< {show(cuts[0])}"
    if index == len(cuts):
        return f">= {show(cuts[-1])}"
    return f"[{show(cuts[index - 1])}, {show(cuts[index])})"


def _with_rates(table: pd.DataFrame) -> pd.DataFrame:
    table["approved"] = table["approved"].astype(int)
    table["approval_rate"] = table["approved"] / table["applicants"]
    best = float(table["approval_rate"].max())
    if best == 0.0:
        raise DataError(
            "no applicant is approved in any group, so rates cannot be compared; "
            "check the `approved` column"
        )
    table["ratio_to_best"] = table["approval_rate"] / best
    table["four_fifths_flag"] = table["ratio_to_best"] < FOUR_FIFTHS
    return table
