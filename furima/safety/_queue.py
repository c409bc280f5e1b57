"""``ReviewQueue``: flagged listings waiting for a person, and what people decided, in DuckDB.

A listing enters the queue when its check's decision is not allow; each entry is one *round*
of that listing (round 0, then a new round each time a decided listing is enqueued again with
a different check), so decisions are never overwritten. The tables:

* ``review_items``: one row per (listing, round): the check as JSON, risk, uncertainty,
  priority and a snapshot of the listing (text, price, photo) as the reviewer saw it;
* ``review_claims``: which reviewer holds a pending listing, until when;
* ``review_decisions``: who decided what, when; its primary key (listing, round) makes a
  second decision on the same round impossible, whichever thread or process tries.

Every write runs in one DuckDB transaction: a race lost to another writer is rolled back and
reported as :class:`~furima.exceptions.ReviewConflictError`. DuckDB lets one process write a
file at a time; a queue opened while another process holds the file waits up to
``lock_wait_seconds`` for it (the review page opens the queue per request, so several server
workers and a CLI take turns).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd

from furima.catalog._duckdb import INCOMING
from furima.exceptions import ReviewConflictError, ReviewError
from furima.safety._queue_file import LostRace, QueueFile
from furima.safety._queue_records import (
    Decision,
    QueueItem,
    check_outcome,
    check_reviewer,
    confirmed_policies,
    incoming_rows,
)
from furima.safety._queue_reports import decisions_frame, labels_frame, stats_of
from furima.safety._queue_sql import (
    CLAIMS,
    DECISIONS,
    INSERT_ROUNDS,
    ITEM_COLUMNS,
    ITEMS,
    ORDER,
    PLAN,
    STATS_BY_POLICY,
    STATS_COUNTS,
    TABLES,
    UPDATE_PENDING,
    decided_error,
    held_error,
    item_of,
    unknown_error,
)
from furima.safety._results import ListingCheck

__all__ = ["Decision", "QueueItem", "ReviewQueue"]


class ReviewQueue(QueueFile):
    """Flagged listings, their claims and the reviewers' decisions in a DuckDB file (created
    when missing; ``":memory:"`` works). Safe to share between threads.

    Args:
        path: The queue's file.
        lock_wait_seconds: How long to wait for another process that holds the file.
        clock: Returns the current time (UTC); tests pass their own.

    Raises:
        StoreError: The file is not a review queue, or another process held it too long.
    """

    _FORMAT = "furima.review_queue"
    _FORMAT_VERSION = "1"
    _KIND = "review queue"
    _NEW_PATH_EXAMPLE = " (e.g. review.duckdb)"

    def _create_tables(self) -> None:
        for statement in TABLES:
            self._sql(statement)

    def _refusal(self, tables: set[str], meta: dict[str, str]) -> str | None:
        if self._is_current(meta):
            return None
        return (
            f"{self.path!r} is not a furima review queue (format {self._FORMAT!r} version "
            f"{self._FORMAT_VERSION!r}): it has tables {sorted(tables)} and format "
            f"{meta.get('format')!r}. Keep the queue in a file of its own, e.g. review.duckdb."
        )

    # -- writes -----------------------------------------------------------------------------

    def enqueue(self, checks: Sequence[ListingCheck], listings: pd.DataFrame | None = None) -> int:
        """Add the checks whose decision is not allow; returns how many rows were written.

        A listing already pending gets the new check (and the new snapshot when ``listings``
        is given), keeping its place in time; a decided listing comes back as a new round only
        when its new check differs from the decided one. All or nothing.

        Args:
            checks: What ``SafetyChecker.check`` returned (one per listing).
            listings: The listings checked, for the reviewer's view: ``listing_id`` and any of
                ``name``, ``description``, ``price``, ``brand``, ``category``, ``photo``
                (the photo file's bytes).

        Raises:
            DataError: A check or a listing row that cannot be enqueued (nothing is written).
        """
        incoming = incoming_rows(checks, listings)
        if incoming.num_rows == 0:
            return 0
        with self._lock, self._registered(incoming), self._write():
            self._sql(f"CREATE TEMP TABLE {PLAN} AS {_PLAN}", [self._now()])
            written = int(self._sql(f"SELECT count(*) FROM {PLAN}")[0][0])
            self._sql(UPDATE_PENDING)
            self._sql(INSERT_ROUNDS)
            self._sql(f"DROP TABLE {PLAN}")
        return written

    def claim(self, listing_id: str, reviewer: str, *, ttl_seconds: float = 300) -> QueueItem:
        """Take a pending listing for ``ttl_seconds`` so that no one else decides it meanwhile
        (taking it again extends the claim).

        Raises:
            ListingNotFoundError: The listing is not in the queue.
            ReviewConflictError: It is decided already, or another reviewer's claim is live.
            ReviewError: An empty reviewer name or a ttl that is not positive.
        """
        reviewer = check_reviewer(reviewer)
        if not ttl_seconds > 0:
            raise ReviewError(f"`ttl_seconds` must be positive, but got {ttl_seconds!r}.")
        now = self._now()
        try:
            with self._write():
                pending = self._pending(listing_id, now)
                self._refuse_others_claim(pending, reviewer)
                until = now + timedelta(seconds=ttl_seconds)
                self._sql(
                    f"INSERT INTO {CLAIMS} VALUES (?, ?, ?, ?, ?) ON CONFLICT (listing_id) DO "
                    "UPDATE SET round = excluded.round, reviewer = excluded.reviewer, "
                    "claimed_at = excluded.claimed_at, expires_at = excluded.expires_at",
                    [listing_id, pending["round"], reviewer, now, until],
                )
        except LostRace:
            raise self._conflict(listing_id) from None
        return self.item(listing_id)

    def decide(
        self,
        listing_id: str,
        reviewer: str,
        outcome: str,
        *,
        note: str = "",
        policies: Sequence[str] | None = None,
    ) -> Decision:
        """Record a reviewer's decision on a pending listing, once.

        Args:
            outcome: ``approve`` (the listing stays) or ``remove``.
            note: The reviewer's words.
            policies: The flagged policies the reviewer confirms (default: every flagged one
                on remove, none on approve).

        Raises:
            ListingNotFoundError: The listing is not in the queue.
            ReviewConflictError: It is decided already (by whom, when), or another reviewer
                holds a live claim on it.
            ReviewError: A bad outcome, an empty reviewer name, policies that were not flagged.
        """
        reviewer = check_reviewer(reviewer)
        outcome = check_outcome(outcome)
        now = self._now()
        try:
            with self._write():
                pending = self._pending(listing_id, now)
                self._refuse_others_claim(pending, reviewer)
                chosen = confirmed_policies(listing_id, pending["flagged"], outcome, policies)
                self._sql(
                    f"INSERT INTO {DECISIONS} VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [listing_id, pending["round"], reviewer, outcome, list(chosen), str(note), now],
                )
                self._sql(f"DELETE FROM {CLAIMS} WHERE listing_id = ?", [listing_id])
        except LostRace:
            raise self._conflict(listing_id) from None
        return Decision(listing_id, reviewer, outcome, chosen, str(note), now.replace(tzinfo=UTC))

    # -- reads ------------------------------------------------------------------------------

    def pending(
        self, limit: int = 20, *, policy: str | None = None, reviewer: str | None = None
    ) -> list[QueueItem]:
        """The listings waiting for a decision, highest priority first (see
        :func:`~furima.safety._queue_records.priority`).

        Args:
            limit: At most this many.
            policy: Only listings that this policy flagged.
            reviewer: Leave out listings that another reviewer holds right now.
        """
        if not isinstance(limit, int) or limit < 1:
            raise ReviewError(f"`limit` must be a whole number of at least 1, but got {limit!r}.")
        where = ["d.listing_id IS NULL"]
        params: list[Any] = [self._now()]
        if policy is not None:
            where.append("list_contains(i.flagged, ?)")
            params.append(policy)
        if reviewer is not None:
            where.append("(c.reviewer IS NULL OR c.reviewer = ?)")
            params.append(reviewer)
        # the order on narrow rows first, then the wide rows of the few chosen: far faster
        # than sorting wide rows through the joins
        keys = f"{_KEYS_QUERY} WHERE {' AND '.join(where)} {ORDER} LIMIT ?"
        with self._lock, self._transaction():
            chosen = [row[0] for row in self._sql(keys, [*params, limit])]
            rows = self._rows(
                f"{_ITEMS_QUERY} WHERE {_AMONG} AND d.listing_id IS NULL", [params[0], chosen]
            )
        place = {listing_id: position for position, listing_id in enumerate(chosen)}
        return sorted((item_of(row) for row in rows), key=lambda item: place[item.listing_id])

    def item(self, listing_id: str) -> QueueItem:
        """The listing's latest round, pending or decided (then :attr:`QueueItem.reviewed`).

        Raises:
            ListingNotFoundError: The listing is not in the queue.
        """
        rows = self._rows(
            f"{_ITEMS_QUERY} WHERE i.listing_id = ? ORDER BY i.round DESC LIMIT 1",
            [self._now(), listing_id],
        )
        if not rows:
            raise unknown_error(listing_id)
        return item_of(rows[0])

    def photo(self, listing_id: str) -> bytes | None:
        """The listing's photo as enqueued (its latest one), or None."""
        rows = self._sql(
            f"SELECT photo FROM {ITEMS} WHERE listing_id = ? AND photo IS NOT NULL "
            "ORDER BY round DESC LIMIT 1",
            [listing_id],
        )
        return bytes(rows[0][0]) if rows else None

    def decisions(self) -> pd.DataFrame:
        """Every decision, oldest first: listing_id, reviewer, outcome, policies, note,
        decided_at (UTC), and the listing as decided: name, description, price, brand,
        category, flagged, round."""
        return decisions_frame(self._rows(_DECISIONS_QUERY))

    def labels(self, policies: Sequence[str] | None = None) -> pd.DataFrame:
        """What reviewers taught, for retraining: one row per decided listing (its latest
        decision) with ``listing_id``, ``text`` (name and description, as the checker reads
        them) and a column per policy ever flagged: 1 where a removal confirmed it, 0 where the
        listing was flagged for it but approved (or removed for other policies), NaN where it
        was not flagged.

        Args:
            policies: Only these policies' columns (e.g. the text policies, which the text
                checker learns), and only the listings labelled for one of them.
        """
        return labels_frame(self.decisions(), policies)

    def stats(self) -> dict[str, Any]:
        """Counts: pending, decided, removed, approved, and per policy (pending, removed,
        approved)."""
        with self._lock:
            counts = self._sql(STATS_COUNTS)[0]
            by_policy = self._sql(STATS_BY_POLICY)
        return stats_of(counts, by_policy)

    def __len__(self) -> int:
        """How many listings are pending."""
        query = f"SELECT count(*) FROM {ITEMS} ANTI JOIN {DECISIONS} USING (listing_id, round)"
        return int(self._sql(query)[0][0])

    # -- internals --------------------------------------------------------------------------

    def _pending(self, listing_id: str, now: datetime) -> dict[str, Any]:
        """The listing's pending round with its live claim; raises when there is none."""
        rows = self._rows(
            f"{_ITEMS_QUERY} WHERE i.listing_id = ? ORDER BY i.round DESC LIMIT 1",
            [now, listing_id],
        )
        if not rows:
            raise unknown_error(listing_id)
        if rows[0]["decided_by"] is not None:
            raise self._conflict(listing_id)
        return rows[0]

    def _refuse_others_claim(self, pending: dict[str, Any], reviewer: str) -> None:
        holder = pending["claimed_by"]
        if holder is not None and holder != reviewer:
            raise held_error(pending)

    def _conflict(self, listing_id: str, wait_seconds: float = 2.0) -> ReviewConflictError:
        """Why a write on ``listing_id`` lost: who decided it, or who holds it. A race can be
        lost before the winner commits, so the winner's rows are waited for a moment."""
        deadline = time.monotonic() + wait_seconds
        while True:
            row = self._rows(
                f"{_ITEMS_QUERY} WHERE i.listing_id = ? ORDER BY i.round DESC LIMIT 1",
                [self._now(), listing_id],
            )[0]
            if row["decided_by"] is not None:
                return decided_error(row)
            if row["claimed_by"] is not None:
                return held_error(row)
            if time.monotonic() >= deadline:
                return ReviewConflictError(
                    f"listing {listing_id!r} was being written by another reviewer at the same "
                    "time; refresh the queue and try again."
                )
            time.sleep(0.01)


_ITEMS_QUERY = (
    f"SELECT {ITEM_COLUMNS} FROM {ITEMS} i "
    f"LEFT JOIN {DECISIONS} d USING (listing_id, round) "
    f"LEFT JOIN {CLAIMS} c ON c.listing_id = i.listing_id AND c.round = i.round "
    "AND c.expires_at > ?"
)
_KEYS_QUERY = (
    f"SELECT i.listing_id FROM {ITEMS} i "
    f"LEFT JOIN {DECISIONS} d USING (listing_id, round) "
    f"LEFT JOIN {CLAIMS} c ON c.listing_id = i.listing_id AND c.round = i.round "
    "AND c.expires_at > ?"
)
_AMONG = "i.listing_id IN (SELECT unnest(CAST(? AS VARCHAR[])))"
_DECISIONS_QUERY = (
    "SELECT d.listing_id, d.reviewer, d.outcome, d.policies, d.note, d.decided_at, i.name, "
    "i.description, i.price, i.brand, i.category, i.flagged, d.round "
    f"FROM {DECISIONS} d JOIN {ITEMS} i USING (listing_id, round) "
    "ORDER BY d.decided_at, d.listing_id, d.round"
)
# What each incoming row does: a new listing is round 0, a pending one is updated in place, a
# decided one comes back as the next round when its check changed; the rest are dropped.
_PLAN = (
    "WITH latest AS (SELECT i.listing_id, i.round, i.check_json, d.listing_id IS NOT NULL AS "
    f"decided FROM {ITEMS} i LEFT JOIN {DECISIONS} d USING (listing_id, round) "
    "QUALIFY i.round = max(i.round) OVER (PARTITION BY i.listing_id)) "
    "SELECT n.*, CASE WHEN l.listing_id IS NULL THEN 0 WHEN l.decided THEN l.round + 1 "
    "ELSE l.round END AS round, (l.listing_id IS NOT NULL AND NOT l.decided) AS is_update, "
    "CAST(? AS TIMESTAMP) AS enqueued_at "
    f"FROM {INCOMING} n LEFT JOIN latest l USING (listing_id) "
    "WHERE l.listing_id IS NULL OR (NOT l.decided AND (n.has_snapshot OR n.check_json <> "
    "l.check_json)) OR (l.decided AND n.check_json <> l.check_json)"
)
