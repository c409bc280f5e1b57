"""The history a fraud scorer keeps from ``fit``, and a fast look-up of an entity's rows in it.

Entity features of a new payment only read its own card's, terminal's... past rows. Finding
them with a pass over the whole kept history (hundreds of thousands of rows) costs more than
everything else in scoring one payment, so :class:`HistoryIndex` maps each key value to its
rows once (built on first use, after ``fit`` or ``load``) and scoring reads only those rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from furima.risk._time_split import times_as_ns

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["HistoryIndex"]


class HistoryIndex:
    """Row positions of each key value in ``history``, and its times in nanoseconds.

    Read-only once built, so threads scoring at once can share it.
    """

    def __init__(self, history: pd.DataFrame, time: str, keys: Sequence[str]) -> None:
        self.history = history
        self.moments = times_as_ns(history, time) if len(history) else np.zeros(0, np.int64)
        self.rows_of = {key: _positions_by_value(history[key]) for key in keys}

    def rows_before(self, frame: pd.DataFrame, keys: Sequence[str], first: int) -> pd.DataFrame:
        """The kept rows that share a key value with ``frame`` and are strictly earlier than
        ``first`` (ns), in their kept order."""
        found = [
            self.rows_of[key][value]
            for key in keys
            for value in frame[key].unique()
            if value in self.rows_of[key]
        ]
        if not found:
            none: pd.DataFrame = self.history.iloc[:0]
            return none
        positions = np.unique(np.concatenate(found))
        positions = positions[self.moments[positions] < first]
        rows: pd.DataFrame = self.history.iloc[positions]
        return rows


def _positions_by_value(values: pd.Series) -> dict[object, np.ndarray]:
    import pandas as pd

    codes, uniques = pd.factorize(values)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(uniques) + 1))
    return {value: order[bounds[i] : bounds[i + 1]] for i, value in enumerate(uniques.tolist())}
