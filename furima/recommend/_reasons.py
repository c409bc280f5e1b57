"""Why each listing is in a feed, in words a buyer reads.

The generator that adds most to a listing's blended score names the kind of reason: popularity
gives "popular in <category>", co-occurrence and sequence models give "because you viewed
<listing>" (the listing of the history most often viewed with it), content similarity gives
"looks like <listing>". A listing whose personalised parts add nothing is there for its
popularity, and says so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from furima.catalog._interactions import IdMap
from furima.recommend._items import ItemCatalog

if TYPE_CHECKING:
    import scipy.sparse as sp

__all__ = ["Explainer"]

_RECENT = 50


class Explainer:
    """Reasons and sources for the chosen listings of one query at a time.

    Args:
        items: Display fields (titles and categories).
        ids: The item id map (for listings without a title).
        similarity: Item-item co-occurrence similarities (item-kNN's), to find the history
            listing that explains a recommendation; without it, the most recent one does.
    """

    def __init__(self, items: ItemCatalog, ids: IdMap, similarity: sp.csr_matrix | None) -> None:
        self.items = items
        self.ids = ids
        self.similarity = similarity

    def explain(
        self,
        chosen: np.ndarray,
        history: np.ndarray,
        contributions: dict[str, np.ndarray],
        *,
        similar: bool,
    ) -> list[tuple[str, str]]:
        """``(reason, source)`` per chosen listing; ``contributions`` holds each generator's
        weighted, standardised score of the chosen listings."""
        sources = (
            _sources(contributions, len(chosen)) if len(history) else ["popularity"] * len(chosen)
        )
        anchors = self._anchors(chosen, history) if len(history) else np.zeros(0, np.int64)
        return [
            (self._reason(int(item), source, anchors, i, similar), source)
            for i, (item, source) in enumerate(zip(chosen, sources, strict=True))
        ]

    def _reason(self, item: int, source: str, anchors: np.ndarray, i: int, similar: bool) -> str:
        if source == "popularity":
            category = str(self.items.categories[item])
            return f"popular in {category}" if category else "popular right now"
        if similar:
            return "looks like this listing" if source == "content" else "viewed together with this"
        title = self._title(int(anchors[i]))
        if source == "content":
            return f"looks like {title}, which you viewed"
        return f"because you viewed {title}"

    def _anchors(self, chosen: np.ndarray, history: np.ndarray) -> np.ndarray:
        """For each chosen listing, the history listing most similar to it by co-occurrence
        (the most recent one when none co-occurs)."""
        recent = history[-_RECENT:]
        anchors = np.full(len(chosen), recent[-1], dtype=np.int64)
        if self.similarity is None or not len(chosen):
            return anchors
        values = self.similarity[recent][:, chosen].toarray()
        found = values.max(axis=0) > 0
        anchors[found] = recent[values.argmax(axis=0)[found]]
        return anchors

    def _title(self, item: int) -> str:
        title = str(self.items.titles[item])
        return f"“{title}”" if title else f"listing {self.ids.external([item])[0]}"


def _sources(contributions: dict[str, np.ndarray], n: int) -> list[str]:
    if not contributions:
        return ["popularity"] * n
    names = list(contributions)
    stacked = np.stack([contributions[name] for name in names])
    best = stacked.argmax(axis=0)
    return [names[b] if stacked[b, i] > 0 else "popularity" for i, b in enumerate(best)]
