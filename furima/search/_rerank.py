"""Label-aware re-ranking: the nearest listings vote on the query's product type, and
candidates of the types they vote for move up.

A marketplace pool knows each listing's product type. Nearest-neighbour search alone mixes
types where photos look alike (a kurta among kurtis, sports shoes among casual shoes);
re-ranking by the neighbours' vote keeps the top results to the type the query most likely is,
the way a seller or buyer expects "similar items" to be. It needs no model beyond the pool: the
top ``voters`` candidates vote with weights ``exp((score - best score) / temperature)``, and
each of ``depth`` candidates is re-scored ``score + weight * share of the vote for its type``.
Candidates without a type get no share. Returned scores stay the similarities; only the order
changes. What it gains is measured by ``benchmarks/search.py --cases quality``
(``docs/benchmarks.md``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from furima.exceptions import IndexConfigError
from furima.index import SearchResult

__all__ = ["LabelRerank"]


@dataclass(frozen=True)
class LabelRerank:
    """Settings of label-aware re-ranking (see the module docstring).

    Attributes:
        weight: How far the vote moves a candidate, in units of similarity (0: off).
        voters: Nearest candidates whose types vote.
        temperature: Softness of the vote weights (smaller: the nearest count more).
        depth: Candidates fetched and re-ranked per query (at least ``k``).
    """

    weight: float = 1.0
    voters: int = 10
    temperature: float = 0.05
    depth: int = 50

    def __post_init__(self) -> None:
        if not self.weight >= 0:
            raise IndexConfigError(f"re-rank weight must be >= 0, but got {self.weight!r}.")
        if self.voters < 1 or self.depth < 1:
            raise IndexConfigError(
                f"re-rank voters and depth must be >= 1, but got {self.voters} and {self.depth}."
            )
        if not self.temperature > 0:
            raise IndexConfigError(
                f"re-rank temperature must be > 0, but got {self.temperature!r}."
            )

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for manifests."""
        return asdict(self)

    def candidates(self, k: int) -> int:
        """How many neighbours to fetch so that ``k`` re-ranked results come back."""
        return max(k, self.depth)

    def apply(self, found: SearchResult, labels: np.ndarray, k: int) -> SearchResult:
        """Re-order ``found`` (best first) by the vote and keep ``k`` per query.

        ``labels``: int codes aligned with ``found.ids``, -1 where a candidate has no type
        (or is padding).
        """
        scores = found.scores.astype(np.float64)
        valid = np.isfinite(scores)
        share = self._vote_share(scores, valid, labels)
        combined = np.where(valid, scores + self.weight * share, -np.inf)
        order = np.argsort(-combined, axis=1, kind="stable")[:, :k]
        return SearchResult(
            np.take_along_axis(found.ids, order, axis=1),
            np.take_along_axis(found.scores, order, axis=1),
        )

    def _vote_share(self, scores: np.ndarray, valid: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """Per candidate: the share of the top voters' weight that went to its label."""
        voters = min(self.voters, scores.shape[1])
        top = np.where(valid[:, :voters], scores[:, :voters], 0.0)
        best = top[:, :1]  # results come best first
        votes_for = valid[:, :voters] & (labels[:, :voters] >= 0)
        weights = np.where(votes_for, np.exp((top - best) / self.temperature), 0.0)
        same = labels[:, :, None] == labels[:, None, :voters]  # [queries, candidates, voters]
        votes = (same * weights[:, None, :]).sum(axis=2)
        total = weights.sum(axis=1, keepdims=True)
        share = np.divide(votes, total, out=np.zeros_like(votes), where=total > 0)
        return np.where(labels >= 0, share, 0.0)
