"""What a recommender answers: listings, scores and the reason each one is there."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Recommendations", "RecommendedItem"]


@dataclass(frozen=True)
class RecommendedItem:
    """One recommended listing.

    Attributes:
        id: The listing's id, as the log and the catalog spell it.
        score: The blended score (higher is better; comparable within one answer only).
        reason: Why it is here, in words a buyer reads ("because you viewed ...").
        source: The generator that contributed most to its score.
    """

    id: str
    score: float
    reason: str
    source: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "score": self.score, "reason": self.reason, "source": self.source}


@dataclass(frozen=True)
class Recommendations:
    """The answer to one query (a user, a history, or a listing for "more like this").

    Attributes:
        query: The user or listing id asked about (``None`` for an explicit history).
        items: Best first.
        notes: What the answer had to do differently, e.g. fall back to popular listings for
            an unknown user, or leave out unknown listings of a history.
    """

    query: str | None
    items: list[RecommendedItem]
    notes: list[str] = field(default_factory=list)

    @property
    def ids(self) -> list[str]:
        return [item.id for item in self.items]

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "items": [item.to_dict() for item in self.items],
            "notes": list(self.notes),
        }
