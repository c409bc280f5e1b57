"""What the review queue tests share: a clock moved by hand, checks and listings built as the
checker would build them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd

from furima.safety import Action, Evidence, ListingCheck, PolicyVerdict
from furima.safety._queue import ReviewQueue

__all__ = ["START", "Clock", "check", "ids", "listings"]

START = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def check(
    listing_id: str,
    scores: dict[str, float],
    *,
    block: tuple[str, ...] = (),
    uncertainty: float | None = None,
) -> ListingCheck:
    """A check as the checker builds it: threshold 0.5, ``block`` policies block, the rest
    send to review."""
    verdicts = []
    for policy, score in scores.items():
        action = Action.BLOCK if policy in block else Action.REVIEW
        verdicts.append(
            PolicyVerdict(
                policy,
                score,
                0.5,
                action if score >= 0.5 else Action.ALLOW,
                (f"{policy} scored {score}",),
                (Evidence("rule", f"{policy} rule"),),
            )
        )
    decision = max((v.decision for v in verdicts), key=lambda a: a.severity, default=Action.ALLOW)
    nearest = min(abs(score - 0.5) for score in scores.values())
    return ListingCheck(
        listing_id,
        decision,
        tuple(verdicts),
        risk=max(scores.values()),
        uncertainty=1 - 2 * nearest if uncertainty is None else uncertainty,
    )


def listings(*ids: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "listing_id": list(ids),
            "name": [f"Listing {i}" for i in ids],
            "description": [f"About {i}" for i in ids],
            "price": [100.0 + n for n, _ in enumerate(ids)],
            "brand": ["Puma"] * len(ids),
            "category": ["Shoes"] * len(ids),
            "photo": [b"\xff\xd8\xff\xe0 photo " + i.encode() for i in ids],
        }
    )


def ids(queue: ReviewQueue, **kwargs: object) -> list[str]:
    return [item.listing_id for item in queue.pending(**kwargs)]  # type: ignore[arg-type]
