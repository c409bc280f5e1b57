"""What the review queue hands out and takes in: queue items, decisions, and the incoming rows.

:class:`QueueItem` and :class:`Decision` are plain frozen values (the review page shows them as
JSON). :func:`incoming_rows` turns checks and an optional listings frame into the rows that
:meth:`ReviewQueue.enqueue <furima.safety.ReviewQueue.enqueue>` writes, validating everything
before anything is written, so a bad row never leaves half a batch behind.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import pyarrow as pa

from furima.exceptions import DataError, ReviewError
from furima.safety._results import Action, ListingCheck

__all__ = [
    "INCOMING_SCHEMA",
    "OUTCOMES",
    "UNCERTAINTY_WEIGHT",
    "Decision",
    "QueueItem",
    "check_outcome",
    "check_reviewer",
    "confirmed_policies",
    "incoming_rows",
    "priority",
]

OUTCOMES = ("approve", "remove")
UNCERTAINTY_WEIGHT = 0.5
"""How much a listing's uncertainty adds to its risk in the queue's order (see :func:`priority`)."""

SNAPSHOT_TEXT = ("name", "description", "brand", "category")
INCOMING_SCHEMA = pa.schema(
    [
        ("listing_id", pa.string()),
        ("check_json", pa.string()),
        ("flagged", pa.list_(pa.string())),
        ("decision", pa.string()),
        ("risk", pa.float64()),
        ("uncertainty", pa.float64()),
        ("priority", pa.float64()),
        ("has_snapshot", pa.bool_()),
        *((name, pa.string()) for name in SNAPSHOT_TEXT),
        ("price", pa.float64()),
        ("photo", pa.binary()),
    ]
)


def priority(risk: float, uncertainty: float) -> float:
    """A listing's place in the queue: ``risk + UNCERTAINTY_WEIGHT * uncertainty``.

    Risk puts the likeliest violations first; uncertainty (1 when a score sits on its
    threshold) lifts the listings whose decision teaches the models most. At equal priority
    blocked listings come before those sent to review, then the longest waiting.
    """
    return float(risk) + UNCERTAINTY_WEIGHT * float(uncertainty)


@dataclass(frozen=True)
class Decision:
    """A reviewer's decision on one listing.

    Attributes:
        listing_id: The listing.
        reviewer: Who decided.
        outcome: ``approve`` (the listing stays) or ``remove``.
        policies: The flagged policies the reviewer confirms the listing breaks (empty on
            approve).
        note: The reviewer's words, if any.
        decided_at: When (UTC).
    """

    listing_id: str
    reviewer: str
    outcome: str
    policies: tuple[str, ...]
    note: str
    decided_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "listing_id": self.listing_id,
            "reviewer": self.reviewer,
            "outcome": self.outcome,
            "policies": list(self.policies),
            "note": self.note,
            "decided_at": self.decided_at.isoformat(),
        }


@dataclass(frozen=True)
class QueueItem:
    """A flagged listing as the reviewer sees it: the listing, the check and its place.

    Attributes:
        listing_id, name, description, price, brand, category: The listing when enqueued.
        has_photo: Whether the queue holds its photo (:meth:`ReviewQueue.photo`).
        risk, uncertainty: From the check; :attr:`priority` orders the queue.
        decision: The check's decision, ``block`` or ``review``.
        verdicts: Every policy's verdict (:meth:`PolicyVerdict.to_dict`), in the check's order.
        enqueued_at: When the listing entered the queue (UTC).
        flagged: The policies over their threshold, most severe first.
        priority: See :func:`priority`.
        claimed_by, claimed_until: Who is reviewing it now and until when (live claims only).
        reviewed: The decision taken on it, once decided.
    """

    listing_id: str
    name: str | None
    description: str | None
    price: float | None
    brand: str | None
    category: str | None
    has_photo: bool
    risk: float
    uncertainty: float
    decision: str
    verdicts: list[dict[str, Any]]
    enqueued_at: datetime
    flagged: tuple[str, ...] = ()
    priority: float = 0.0
    claimed_by: str | None = None
    claimed_until: datetime | None = None
    reviewed: Decision | None = field(default=None)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (datetimes as ISO 8601)."""
        return {
            "listing_id": self.listing_id,
            "name": self.name,
            "description": self.description,
            "price": self.price,
            "brand": self.brand,
            "category": self.category,
            "has_photo": self.has_photo,
            "risk": round(self.risk, 4),
            "uncertainty": round(self.uncertainty, 4),
            "priority": round(self.priority, 4),
            "decision": self.decision,
            "flagged": list(self.flagged),
            "verdicts": self.verdicts,
            "enqueued_at": self.enqueued_at.isoformat(),
            "claimed_by": self.claimed_by,
            "claimed_until": _iso(self.claimed_until),
            "reviewed": None if self.reviewed is None else self.reviewed.to_dict(),
        }


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def as_utc(moment: datetime) -> datetime:
    """A naive UTC timestamp read from DuckDB, made aware."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# -- validating what the reviewer sends ------------------------------------------------------


def check_reviewer(reviewer: object) -> str:
    name = reviewer.strip() if isinstance(reviewer, str) else ""
    if not name:
        raise ReviewError(
            f"`reviewer` must be a non-empty name, but got {reviewer!r}. Pass who decides, "
            "e.g. reviewer='alice'."
        )
    return name


def check_outcome(outcome: object) -> str:
    if outcome not in OUTCOMES:
        raise ReviewError(
            f"`outcome` must be one of {list(OUTCOMES)}, but got {outcome!r}: 'approve' keeps "
            "the listing, 'remove' takes it down."
        )
    return str(outcome)


def confirmed_policies(
    listing_id: str, flagged: Sequence[str], outcome: str, policies: Sequence[str] | None
) -> tuple[str, ...]:
    """The policies a decision confirms: by default every flagged one on remove, none on
    approve; given ones must be among the flagged."""
    if policies is None:
        return tuple(flagged) if outcome == "remove" else ()
    if isinstance(policies, str):
        policies = [policies]
    chosen = tuple(dict.fromkeys(str(name) for name in policies))
    unknown = [name for name in chosen if name not in flagged]
    if unknown:
        raise ReviewError(
            f"`policies` {unknown} were not flagged on listing {listing_id!r}; a decision can "
            f"confirm only its flagged policies {list(flagged)}."
        )
    if outcome == "approve" and chosen:
        raise ReviewError(
            f"an approval confirms no policy, but got policies {list(chosen)} for listing "
            f"{listing_id!r}. Pass outcome='remove' to confirm them, or no policies to approve."
        )
    if outcome == "remove" and not chosen:
        raise ReviewError(
            f"a removal must confirm at least one of the flagged policies {list(flagged)} of "
            f"listing {listing_id!r}; pass policies=None to confirm them all."
        )
    return chosen


# -- incoming rows -----------------------------------------------------------------------------


def incoming_rows(checks: Sequence[ListingCheck], listings: pd.DataFrame | None) -> pa.Table:
    """The rows to enqueue: one per check whose decision is not allow, with the listing's
    snapshot when ``listings`` is given.

    Raises:
        DataError: A check that is not a ListingCheck, a listing checked twice, a risk that is
            not a number, a listings frame without ``listing_id`` or without a flagged listing,
            a price that is not a number, a photo that is not bytes.
    """
    flagged = [check for check in _validated(checks) if check.decision != Action.ALLOW]
    snapshots = _snapshots(listings, [check.listing_id for check in flagged])
    rows = [_row(check, snapshots.get(check.listing_id)) for check in flagged]
    columns = {name: [row[name] for row in rows] for name in INCOMING_SCHEMA.names}
    return pa.table(columns, schema=INCOMING_SCHEMA)


def _validated(checks: Sequence[ListingCheck]) -> list[ListingCheck]:
    seen: set[str] = set()
    for position, check in enumerate(checks):
        if not isinstance(check, ListingCheck):
            raise DataError(
                f"checks[{position}] is a {type(check).__name__}, not a ListingCheck; pass "
                "what SafetyChecker.check returns."
            )
        if not isinstance(check.listing_id, str) or not check.listing_id:
            raise DataError(
                f"checks[{position}] has listing_id {check.listing_id!r}; ids are text."
            )
        if check.listing_id in seen:
            raise DataError(
                f"listing {check.listing_id!r} is checked twice in one batch; enqueue one check "
                "per listing (the newest)."
            )
        seen.add(check.listing_id)
        for name in ("risk", "uncertainty"):
            value = getattr(check, name)
            if not isinstance(value, int | float) or not math.isfinite(value):
                raise DataError(
                    f"listing {check.listing_id!r} has {name} {value!r}; it must be a number "
                    "in [0, 1]."
                )
    return list(checks)


def _row(check: ListingCheck, snapshot: dict[str, Any] | None) -> dict[str, Any]:
    row: dict[str, Any] = {
        "listing_id": check.listing_id,
        "check_json": json.dumps(check.to_dict(), sort_keys=True, ensure_ascii=False),
        "flagged": [verdict.policy for verdict in check.flagged],
        "decision": str(check.decision),
        "risk": float(check.risk),
        "uncertainty": float(check.uncertainty),
        "priority": priority(check.risk, check.uncertainty),
        "has_snapshot": snapshot is not None,
    }
    empty = dict.fromkeys((*SNAPSHOT_TEXT, "price", "photo"))
    row.update(snapshot if snapshot is not None else empty)
    return row


def _snapshots(listings: pd.DataFrame | None, wanted: list[str]) -> dict[str, dict[str, Any]]:
    """``{listing_id: {name, description, brand, category, price, photo}}`` for ``wanted``."""
    if listings is None or not wanted:
        return {}
    if not isinstance(listings, pd.DataFrame) or "listing_id" not in listings.columns:
        raise DataError(
            "`listings` must be a DataFrame with a listing_id column (and name, description, "
            "price, brand, category, photo where known), or None."
        )
    ids = listings["listing_id"].astype(str)
    repeated = sorted(set(ids[ids.duplicated()]))
    if repeated:
        raise DataError(
            f"`listings` holds listing ids {repeated[:5]} more than once; keep one row each."
        )
    missing = sorted(set(wanted) - set(ids))
    if missing:
        raise DataError(
            f"`listings` has no row for the flagged listings {missing[:5]}"
            f"{' and more' if len(missing) > 5 else ''}; pass the frame that was checked."
        )
    frame = listings.assign(listing_id=ids).set_index("listing_id").loc[wanted]
    return {str(key): _snapshot(str(key), row) for key, row in frame.iterrows()}


def _snapshot(listing_id: str, row: pd.Series) -> dict[str, Any]:
    snapshot: dict[str, Any] = {}
    for name in SNAPSHOT_TEXT:
        value = row.get(name)
        snapshot[name] = None if _missing(value) else str(value)
    snapshot["price"] = _price(listing_id, row.get("price"))
    snapshot["photo"] = _photo(listing_id, row.get("photo"))
    return snapshot


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def _price(listing_id: str, value: object) -> float | None:
    if _missing(value):
        return None
    try:
        price = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise DataError(
            f"listing {listing_id!r} has price {value!r}, which is not a number; fix the price "
            "or leave it empty.",
            column="price",
        ) from None
    return price if math.isfinite(price) else None


def _photo(listing_id: str, value: object) -> bytes | None:
    if _missing(value):
        return None
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value) or None
    raise DataError(
        f"listing {listing_id!r} has a photo of type {type(value).__name__}; the photo column "
        "holds the photo file's bytes (or nothing).",
        column="photo",
    )
