"""Drift of a fraud scorer's inputs and scores: PSI against a reference kept from ``fit``.

At ``fit`` the scorer keeps a seeded sample of the validation side's model inputs and scores
(the newest data the model was measured on, at most :data:`REFERENCE_ROWS` rows), saved with
the model. :func:`drift_table` compares a recent sample with it, one PSI per input and one
for the score (:func:`~furima.risk.population_stability_index`, banded by
:func:`~furima.risk.psi_band`). :class:`RecentWindow` keeps the inputs and scores of the
latest served payments for the server's drift report.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from furima.exceptions import DataError
from furima.risk._stability import population_stability_index, psi_band

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "MIN_DRIFT_ROWS",
    "REFERENCE_ROWS",
    "SCORE",
    "RecentWindow",
    "drift_table",
    "reference_sample",
]

REFERENCE_ROWS = 5000
"""Most validation rows kept as the drift reference."""
MIN_DRIFT_ROWS = 100
"""Fewest recent payments a drift report is measured on (ten bins need some rows each)."""
SCORE = "_score"
"""The reference's score column (a name no model input takes)."""


def reference_sample(
    inputs: pd.DataFrame, scores: np.ndarray, seed: int, rows: int = REFERENCE_ROWS
) -> pd.DataFrame:
    """At most ``rows`` rows of ``inputs`` (seeded, in their order) with their ``scores``."""
    keep = np.arange(len(inputs))
    if len(inputs) > rows:
        keep = np.sort(np.random.default_rng(seed).choice(len(inputs), rows, replace=False))
    sample = inputs.iloc[keep].reset_index(drop=True).astype(np.float64)
    sample[SCORE] = np.asarray(scores, dtype=np.float64)[keep]
    return sample


def drift_table(
    reference: pd.DataFrame, recent: pd.DataFrame, names: Sequence[str], *, bins: int = 10
) -> pd.DataFrame:
    """PSI of every input in ``names`` and of the score (column :data:`SCORE` in both).

    A column missing throughout one sample (a feature that stopped arriving) is compared by
    its share of missing values alone, so the report still says how far it moved.

    Returns:
        One row per input, the score last: ``feature``, ``kind`` ("input" or "score"),
        ``psi``, ``band``, ``missing_reference``, ``missing_recent``.

    Raises:
        DataError: no reference (a scorer saved before references were kept), or fewer
            than :data:`MIN_DRIFT_ROWS` recent rows.
    """
    import pandas as pd

    if reference.empty:
        raise DataError(
            "this scorer keeps no drift reference (it was saved by an older furima); fit it "
            "again to measure drift"
        )
    if len(recent) < MIN_DRIFT_ROWS:
        raise DataError(
            f"drift needs at least {MIN_DRIFT_ROWS} recent transactions to measure, but got "
            f"{len(recent)}; pass more (a day or a week of payments)"
        )
    rows = [_row(reference[name], recent[name], name, "input", bins) for name in names]
    rows.append(_row(reference[SCORE], recent[SCORE], "score", "score", bins))
    return pd.DataFrame(rows)


def _row(
    expected: pd.Series, actual: pd.Series, name: str, kind: str, bins: int
) -> dict[str, object]:
    missing_expected, missing_actual = expected.isna(), actual.isna()
    if bool(missing_expected.all()) or bool(missing_actual.all()):
        psi = population_stability_index(missing_expected, missing_actual, categorical=True)
    else:
        psi = population_stability_index(expected, actual, bins=bins)
    return {
        "feature": name,
        "kind": kind,
        "psi": psi,
        "band": psi_band(psi),
        "missing_reference": float(missing_expected.mean()),
        "missing_recent": float(missing_actual.mean()),
    }


class RecentWindow:
    """The inputs and scores of the latest ``capacity`` scored payments (a ring; thread-safe).

    Args:
        names: The model's input names, in the order of the rows added.
        capacity: How many payments to keep; older ones are overwritten.
    """

    def __init__(self, names: Sequence[str], capacity: int = 10_000) -> None:
        self.names = list(names)
        self.capacity = capacity
        self._inputs = np.empty((capacity, len(self.names)), dtype=np.float64)
        self._scores = np.empty(capacity, dtype=np.float64)
        self._next = 0
        self._count = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self._count

    def add(self, inputs: np.ndarray, scores: np.ndarray) -> None:
        """Keep these rows (``inputs`` one row per payment, columns as ``names``)."""
        inputs, scores = inputs[-self.capacity :], scores[-self.capacity :]
        with self._lock:
            at = (self._next + np.arange(len(scores))) % self.capacity
            self._inputs[at] = inputs
            self._scores[at] = scores
            self._next = (self._next + len(scores)) % self.capacity
            self._count = min(self._count + len(scores), self.capacity)

    def table(self) -> pd.DataFrame:
        """The kept payments, oldest first, as inputs plus the :data:`SCORE` column."""
        import pandas as pd

        with self._lock:
            order = (self._next - self._count + np.arange(self._count)) % self.capacity
            inputs, scores = self._inputs[order], self._scores[order]
        table = pd.DataFrame(inputs, columns=self.names)
        table[SCORE] = scores
        return table
