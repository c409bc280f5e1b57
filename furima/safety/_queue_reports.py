"""What the review queue reports: the decisions frame, labels to retrain on, and counts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from furima.safety._listings import listing_text

__all__ = ["DECISION_COLUMNS", "decisions_frame", "labels_frame", "stats_of"]

DECISION_COLUMNS = [
    "listing_id",
    "reviewer",
    "outcome",
    "policies",
    "note",
    "decided_at",
    "name",
    "description",
    "price",
    "brand",
    "category",
    "flagged",
    "round",
]


def decisions_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The decision rows as a frame, ``decided_at`` in UTC, ``policies`` and ``flagged`` as
    lists."""
    frame = pd.DataFrame(rows, columns=DECISION_COLUMNS)
    frame["decided_at"] = pd.to_datetime(frame["decided_at"]).dt.tz_localize("UTC")
    frame["price"] = frame["price"].astype(float)
    frame["round"] = frame["round"].astype("int64")
    for name in ("policies", "flagged"):
        frame[name] = [list(value) for value in frame[name]]
    return frame


def labels_frame(decisions: pd.DataFrame, only: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per decided listing (its latest decision): ``listing_id``, ``text`` (as the
    checker reads it) and one column per flagged policy (1 confirmed by a removal, 0 flagged
    but not confirmed, NaN not flagged); with ``only``, just those policies' columns and the
    listings labelled for at least one of them."""
    latest = decisions.sort_values(["listing_id", "round"]).drop_duplicates(
        "listing_id", keep="last"
    )
    policies = list(dict.fromkeys(name for names in latest["flagged"] for name in names))
    if only is not None:
        policies = [name for name in dict.fromkeys(only) if name in policies]
    table = np.full((len(latest), len(policies)), np.nan)
    column = {name: position for position, name in enumerate(policies)}
    for row, (flagged, confirmed) in enumerate(
        zip(latest["flagged"], latest["policies"], strict=True)
    ):
        for name in flagged:
            if name in column:
                table[row, column[name]] = 1.0 if name in confirmed else 0.0
    labels = pd.DataFrame(
        {"listing_id": latest["listing_id"].to_numpy(), "text": listing_text(latest)}
    )
    labels = pd.concat([labels, pd.DataFrame(table, columns=policies)], axis=1)
    if only is not None:
        labels = labels[~np.isnan(table).all(axis=1)].reset_index(drop=True)
    return labels


def stats_of(counts: Sequence[int], by_policy: Sequence[tuple[str, str, int]]) -> dict[str, Any]:
    """The queue's counts as one dict: ``counts`` is (pending, decided, removed, approved),
    ``by_policy`` rows of (policy, pending | removed | approved, count)."""
    policies: dict[str, dict[str, int]] = {}
    for policy, what, count in by_policy:
        policies.setdefault(policy, {"pending": 0, "removed": 0, "approved": 0})[what] = int(count)
    pending, decided, removed, approved = (int(value) for value in counts)
    return {
        "pending": pending,
        "decided": decided,
        "removed": removed,
        "approved": approved,
        "by_policy": dict(sorted(policies.items())),
    }
