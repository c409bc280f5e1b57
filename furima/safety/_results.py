"""What a safety check says about a listing: per policy a score, a decision and the reasons.

Every check (text rules and models, photo checks, duplicates, price anomalies) reports a
:class:`Finding` per listing for one policy; the checker turns findings into
:class:`PolicyVerdict` values (the policy's threshold and action applied) and one
:class:`ListingCheck` per listing, whose decision is the most severe of its verdicts. The
review queue orders listings by :attr:`ListingCheck.risk` and :attr:`ListingCheck.uncertainty`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

__all__ = ["Action", "Evidence", "Finding", "ListingCheck", "PolicyVerdict"]


class Action(StrEnum):
    """What happens to a listing that breaks a policy, least severe first."""

    ALLOW = "allow"
    REVIEW = "review"
    BLOCK = "block"

    @property
    def severity(self) -> int:
        return _SEVERITY[self]


_SEVERITY = {Action.ALLOW: 0, Action.REVIEW: 1, Action.BLOCK: 2}


@dataclass(frozen=True)
class Evidence:
    """Something a reviewer can check: a matched rule, a similar known violation, a duplicate.

    Attributes:
        kind: ``rule``, ``example``, ``similar_listing``, ``duplicate``, ``words``,
            ``price_range`` or ``photo``.
        detail: The evidence in words (the matched text, the expected price range, ...).
        listing_id: The other listing it points at (a duplicate, a known violation).
        similarity: How close that listing or example is (cosine, Jaccard or match
            probability), when there is one.
    """

    kind: str
    detail: str
    listing_id: str | None = None
    similarity: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {key: value for key, value in asdict(self).items() if value is not None}


@dataclass(frozen=True)
class Finding:
    """One check's word on one listing for one policy.

    Attributes:
        score: Probability that the listing breaks the policy, in [0, 1] (calibrated where
            labels allow; a rank-preserving score otherwise).
        reasons: Sentences a seller or reviewer understands, most important first.
        evidence: What backs the reasons.
        basis: What the score rests on when that limits what it may decide: ``zero_shot``
            (similarity to a policy's words, no labels and no rule matched) may only hold a
            listing for review, never block it.
    """

    score: float
    reasons: tuple[str, ...] = ()
    evidence: tuple[Evidence, ...] = ()
    basis: str = ""


@dataclass(frozen=True)
class PolicyVerdict:
    """A listing judged against one policy: the finding with the policy's threshold applied."""

    policy: str
    score: float
    threshold: float
    decision: Action
    reasons: tuple[str, ...] = ()
    evidence: tuple[Evidence, ...] = ()

    @property
    def flagged(self) -> bool:
        return self.score >= self.threshold

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "score": round(float(self.score), 4),
            "threshold": self.threshold,
            "decision": str(self.decision),
            "reasons": list(self.reasons),
            "evidence": [item.to_dict() for item in self.evidence],
        }


@dataclass(frozen=True)
class ListingCheck:
    """Everything the checker says about one listing.

    Attributes:
        listing_id: The listing.
        decision: The most severe decision among the verdicts (``allow`` when none flags).
        verdicts: One per policy checked, in the policy file's order.
        risk: The highest score among policies whose action is not ``allow``, in [0, 1].
        uncertainty: How close the closest score is to its threshold (1: exactly on it, 0:
            certain either way); a reviewer's decision on such a listing teaches the models most.
    """

    listing_id: str
    decision: Action
    verdicts: tuple[PolicyVerdict, ...] = field(default_factory=tuple)
    risk: float = 0.0
    uncertainty: float = 0.0

    @property
    def flagged(self) -> tuple[PolicyVerdict, ...]:
        """The verdicts over their threshold whose policy acts on it (block or review), most
        severe and highest score first; ``allow`` policies only watch."""
        hits = [v for v in self.verdicts if v.flagged and v.decision is not Action.ALLOW]
        return tuple(sorted(hits, key=lambda v: (-v.decision.severity, -v.score)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "listing_id": self.listing_id,
            "decision": str(self.decision),
            "risk": round(float(self.risk), 4),
            "uncertainty": round(float(self.uncertainty), 4),
            "policies": [verdict.to_dict() for verdict in self.verdicts],
        }
