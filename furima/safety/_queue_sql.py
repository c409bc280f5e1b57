"""The review queue's tables, the SQL that reads and writes them, and rows turned to values
and to the errors they explain.

Kept apart from :mod:`furima.safety._queue` so the class reads as what it does; see that
module for what the tables mean.
"""

from __future__ import annotations

import json
from datetime import UTC
from typing import Any

from furima.exceptions import ListingNotFoundError, ReviewConflictError
from furima.safety._queue_records import Decision, QueueItem, as_utc

__all__ = [
    "CLAIMS",
    "DECISIONS",
    "INSERT_ROUNDS",
    "ITEMS",
    "ITEM_COLUMNS",
    "ORDER",
    "PLAN",
    "STATS_BY_POLICY",
    "STATS_COUNTS",
    "TABLES",
    "UPDATE_PENDING",
    "decided_error",
    "decision_of",
    "held_error",
    "item_of",
    "unknown_error",
]

ITEMS = "review_items"
CLAIMS = "review_claims"
DECISIONS = "review_decisions"
PLAN = "_review_plan"
"""A temporary table, inside one enqueue's transaction: the incoming rows and what to do."""

TABLES = (
    f"CREATE TABLE {ITEMS} (listing_id VARCHAR NOT NULL, round INTEGER NOT NULL, "
    "check_json VARCHAR NOT NULL, flagged VARCHAR[] NOT NULL, decision VARCHAR NOT NULL, "
    "risk DOUBLE NOT NULL, uncertainty DOUBLE NOT NULL, priority DOUBLE NOT NULL, "
    "name VARCHAR, description VARCHAR, brand VARCHAR, category VARCHAR, price DOUBLE, "
    "photo BLOB, enqueued_at TIMESTAMP NOT NULL, PRIMARY KEY (listing_id, round))",
    f"CREATE TABLE {CLAIMS} (listing_id VARCHAR PRIMARY KEY, round INTEGER NOT NULL, "
    "reviewer VARCHAR NOT NULL, claimed_at TIMESTAMP NOT NULL, expires_at TIMESTAMP NOT NULL)",
    f"CREATE TABLE {DECISIONS} (listing_id VARCHAR NOT NULL, round INTEGER NOT NULL, "
    "reviewer VARCHAR NOT NULL, outcome VARCHAR NOT NULL "
    "CHECK (outcome IN ('approve', 'remove')), policies VARCHAR[] NOT NULL, "
    "note VARCHAR NOT NULL, decided_at TIMESTAMP NOT NULL, PRIMARY KEY (listing_id, round))",
)

_SNAPSHOT = ("name", "description", "brand", "category", "price", "photo")
_CHECK = ("check_json", "flagged", "decision", "risk", "uncertainty", "priority")

UPDATE_PENDING = (
    f"UPDATE {ITEMS} SET "
    + ", ".join(f"{name} = p.{name}" for name in _CHECK)
    + ", "
    + ", ".join(
        f"{name} = CASE WHEN p.has_snapshot THEN p.{name} ELSE {ITEMS}.{name} END"
        for name in _SNAPSHOT
    )
    + f" FROM {PLAN} p WHERE p.is_update AND {ITEMS}.listing_id = p.listing_id "
    f"AND {ITEMS}.round = p.round"
)
"""A pending listing gets the new check, and the new snapshot when one came."""

INSERT_ROUNDS = (
    f"INSERT INTO {ITEMS} (listing_id, round, {', '.join(_CHECK)}, {', '.join(_SNAPSHOT)}, "
    "enqueued_at) SELECT p.listing_id, p.round, "
    + ", ".join(f"p.{name}" for name in _CHECK)
    + ", "
    + ", ".join(f"CASE WHEN p.has_snapshot THEN p.{name} ELSE o.{name} END" for name in _SNAPSHOT)
    + f", p.enqueued_at FROM {PLAN} p LEFT JOIN {ITEMS} o ON o.listing_id = p.listing_id "
    "AND o.round = p.round - 1 WHERE NOT p.is_update"
)
"""New listings, and decided ones back with a new check (keeping the last snapshot when no
new one came)."""

ITEM_COLUMNS = (
    "i.listing_id, i.round, i.name, i.description, i.price, i.brand, i.category, "
    "i.photo IS NOT NULL AS has_photo, i.risk, i.uncertainty, i.decision, i.check_json, "
    "i.enqueued_at, i.flagged, i.priority, c.reviewer AS claimed_by, "
    "c.expires_at AS claimed_until, d.reviewer AS decided_by, d.outcome AS decided_outcome, "
    "d.policies AS decided_policies, d.note AS decided_note, d.decided_at"
)
_PENDING = f"{ITEMS} i ANTI JOIN {DECISIONS} d USING (listing_id, round)"
STATS_COUNTS = (
    f"SELECT (SELECT count(*) FROM {_PENDING}), count(*), count(*) FILTER (outcome = 'remove'), "
    f"count(*) FILTER (outcome = 'approve') FROM {DECISIONS}"
)
"""Pending, decided, removed, approved."""
STATS_BY_POLICY = (
    "SELECT policy, what, count(*) FROM ("
    f"SELECT unnest(i.flagged) AS policy, 'pending' AS what FROM {_PENDING} "
    f"UNION ALL SELECT unnest(policies), 'removed' FROM {DECISIONS} WHERE outcome = 'remove' "
    f"UNION ALL SELECT unnest(i.flagged), 'approved' FROM {DECISIONS} d JOIN {ITEMS} i "
    "USING (listing_id, round) WHERE d.outcome = 'approve') GROUP BY ALL ORDER BY ALL"
)
"""(policy, pending | removed | approved, count): a removal counts the policies it confirms,
an approval the policies that were flagged."""
ORDER = "ORDER BY i.priority DESC, (i.decision = 'block') DESC, i.enqueued_at, i.listing_id"


def item_of(row: dict[str, Any]) -> QueueItem:
    """A row of ``ITEM_COLUMNS`` as a :class:`QueueItem`."""
    check = json.loads(row["check_json"])
    until = row["claimed_until"]
    return QueueItem(
        listing_id=row["listing_id"],
        name=row["name"],
        description=row["description"],
        price=row["price"],
        brand=row["brand"],
        category=row["category"],
        has_photo=bool(row["has_photo"]),
        risk=float(row["risk"]),
        uncertainty=float(row["uncertainty"]),
        decision=row["decision"],
        verdicts=list(check.get("policies", [])),
        enqueued_at=as_utc(row["enqueued_at"]),
        flagged=tuple(row["flagged"]),
        priority=float(row["priority"]),
        claimed_by=row["claimed_by"],
        claimed_until=None if until is None else as_utc(until),
        reviewed=decision_of(row) if row["decided_by"] is not None else None,
    )


def decision_of(row: dict[str, Any]) -> Decision:
    """The decision columns of an ``ITEM_COLUMNS`` row."""
    return Decision(
        listing_id=row["listing_id"],
        reviewer=row["decided_by"],
        outcome=row["decided_outcome"],
        policies=tuple(row["decided_policies"]),
        note=row["decided_note"],
        decided_at=as_utc(row["decided_at"]),
    )


def decided_error(row: dict[str, Any]) -> ReviewConflictError:
    decided = decision_of(row)
    return ReviewConflictError(
        f"listing {decided.listing_id!r} was already decided by {decided.reviewer!r} at "
        f"{decided.decided_at.isoformat(timespec='seconds')} ({decided.outcome}); refresh the "
        "queue and take the next listing."
    )


def held_error(row: dict[str, Any]) -> ReviewConflictError:
    until = row["claimed_until"].replace(tzinfo=UTC).isoformat(timespec="seconds")
    return ReviewConflictError(
        f"listing {row['listing_id']!r} is being reviewed by {row['claimed_by']!r} until "
        f"{until}; take another listing, or try again after that."
    )


def unknown_error(listing_id: str) -> ListingNotFoundError:
    return ListingNotFoundError(
        f"listing {listing_id!r} is not in the review queue; only listings that a check flagged "
        "are enqueued. Check the id, or refresh the queue."
    )
