"""Leakage-proof splits of interaction logs.

Every split keeps the future out of training: :func:`leave_last_out` holds out each user's last
event for testing and the one before it for validation (the protocol of the public sequential
recommendation benchmarks); :func:`time_cut` holds out everything after one moment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from furima.catalog._event_frame import as_seconds
from furima.catalog._interactions import Interactions
from furima.exceptions import DataError

__all__ = ["LeaveLastOut", "NextItemTargets", "TimeCut", "leave_last_out", "time_cut"]


@dataclass(frozen=True)
class NextItemTargets:
    """Queries for next-item evaluation: each user's history (dense item indices, oldest
    first) and the item that came next."""

    users: np.ndarray
    histories: list[np.ndarray]
    targets: np.ndarray

    def __len__(self) -> int:
        return len(self.users)


@dataclass(frozen=True)
class LeaveLastOut:
    """Attributes:
    train: Every user's events but the last two (users with fewer than 3 events: all).
    valid: History = the training events, target = the second-to-last event.
    test: History = all events but the last (the validation item is input, never a
        training target), target = the last event.
    """

    train: Interactions
    valid: NextItemTargets
    test: NextItemTargets


def leave_last_out(interactions: Interactions) -> LeaveLastOut:
    """Split off each user's last two events (validation, then test)."""
    offsets = interactions.offsets()
    counts = np.diff(offsets)
    position = np.arange(len(interactions)) - np.repeat(offsets[:-1], counts)
    from_end = np.repeat(counts, counts) - position  # 1 for the last event
    evaluated = np.repeat(counts >= 3, counts)
    train = interactions.subset(~evaluated | (from_end > 2))
    users = np.flatnonzero(counts >= 3)
    item = interactions.item
    return LeaveLastOut(
        train=train,
        valid=NextItemTargets(
            users=users,
            histories=[item[offsets[u] : offsets[u + 1] - 2] for u in users],
            targets=item[offsets[users + 1] - 2].astype(np.int64),
        ),
        test=NextItemTargets(
            users=users,
            histories=[item[offsets[u] : offsets[u + 1] - 1] for u in users],
            targets=item[offsets[users + 1] - 1].astype(np.int64),
        ),
    )


@dataclass(frozen=True)
class TimeCut:
    """Attributes:
    train: Every event strictly before the cut.
    test: Every event at or after the cut.
    queries: One per user with events at or after the cut: history = the user's items
        before the cut (empty for users new after it), target = their first item after it.
    """

    train: Interactions
    test: Interactions
    queries: NextItemTargets


def time_cut(
    interactions: Interactions, at: int | float | str | datetime | pd.Timestamp
) -> TimeCut:
    """Split at one moment ``at`` (Unix seconds, an ISO 8601 string or a datetime; naive ones
    are UTC): the past trains, each user's first event after it is the target.

    This is the split a live marketplace sees: nothing from after the cut, of any user, leaks
    into training. Ties: an event at exactly ``at`` is in the test part.

    Raises:
        DataError: No events before the cut, or none at or after it (the message gives the
            log's time range, to pick a cut inside it).
    """
    cut = as_seconds(at)
    before = interactions.timestamp < cut
    if not before.any() or before.all():
        raise DataError(
            f"a time cut at {_shown_time(cut)} leaves {'no' if not before.any() else 'every'} "
            f"event for training; the log runs from {_shown_time(interactions.timestamp.min())} "
            f"to {_shown_time(interactions.timestamp.max())}: cut inside that range."
            if len(interactions)
            else "cannot cut an empty interaction log."
        )
    offsets = interactions.offsets()
    n_before = np.bincount(interactions.user[before], minlength=interactions.n_users)
    users = np.flatnonzero(np.diff(offsets) > n_before)
    starts = offsets[users]
    cuts = starts + n_before[users]  # events are sorted by time within a user
    item = interactions.item
    return TimeCut(
        train=interactions.subset(before),
        test=interactions.subset(~before),
        queries=NextItemTargets(
            users=users,
            histories=[item[s:c] for s, c in zip(starts, cuts, strict=True)],
            targets=item[cuts].astype(np.int64),
        ),
    )


def _shown_time(seconds: int | np.integer) -> str:
    """Seconds as ``2017-11-25T10:00:00Z (1511604000)``."""
    stamp = pd.Timestamp(int(seconds), unit="s", tz="UTC")
    return f"{stamp.strftime('%Y-%m-%dT%H:%M:%SZ')} ({int(seconds)})"
