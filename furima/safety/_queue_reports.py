"""What the review queue reports from its decisions: the decisions frame, labels to retrain on,
and counts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

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


def labels_frame(decisions: pd.DataFrame) -> pd.DataFrame:
    """One row per decided listing (its latest decision): ``listing_id``, ``text`` and one
    column per flagged policy (1 confirmed by a removal, 0 flagged but not confirmed, NaN not
    flagged)."""
    latest = decisions.sort_values(["listing_id", "round"]).drop_duplicates(
        "listing_id", keep="last"
    )
    policies = list(dict.fromkeys(name for names in latest["flagged"] for name in names))
    table = np.full((len(latest), len(policies)), np.nan)
    column = {name: position for position, name in enumerate(policies)}
    for row, (flagged, confirmed) in enumerate(
        zip(latest["flagged"], latest["policies"], strict=True)
    ):
        for name in flagged:
            table[row, column[name]] = 1.0 if name in confirmed else 0.0
    labels = pd.DataFrame({"listing_id": latest["listing_id"].to_numpy(), "text": _texts(latest)})
    return pd.concat([labels, pd.DataFrame(table, columns=policies)], axis=1)


def _texts(decided: pd.DataFrame) -> list[str]:
    return [
        " ".join(
            part.strip() for part in (name, description) if isinstance(part, str) and part.strip()
        )
        for name, description in zip(decided["name"], decided["description"], strict=True)
    ]


def stats_of(pending_flagged: Sequence[Sequence[str]], decisions: pd.DataFrame) -> dict[str, Any]:
    """Counts of pending and decided listings, overall and per policy."""
    by_policy: dict[str, dict[str, int]] = {}

    def bump(policy: str, what: str) -> None:
        counts = by_policy.setdefault(policy, {"pending": 0, "removed": 0, "approved": 0})
        counts[what] += 1

    for flagged in pending_flagged:
        for name in flagged:
            bump(name, "pending")
    for outcome, flagged, confirmed in zip(
        decisions["outcome"], decisions["flagged"], decisions["policies"], strict=True
    ):
        for name in confirmed if outcome == "remove" else flagged:
            bump(name, "removed" if outcome == "remove" else "approved")
    outcomes = Counter(decisions["outcome"])
    return {
        "pending": len(pending_flagged),
        "decided": len(decisions),
        "removed": outcomes.get("remove", 0),
        "approved": outcomes.get("approve", 0),
        "by_policy": dict(sorted(by_policy.items())),
    }
