"""Category levels (master > sub > article type) that never contradict each other."""

from __future__ import annotations

import itertools
from dataclasses import replace

import pandas as pd

from furima.listing._suggestion import FieldSuggestion

__all__ = ["consistent_categories", "parent_maps"]


def parent_maps(catalog: pd.DataFrame, levels: tuple[str, ...]) -> dict[str, dict[str, str]]:
    """For each category level but the first: value -> its commonest parent value."""
    maps: dict[str, dict[str, str]] = {}
    for parent, child in itertools.pairwise(levels):
        pairs = catalog[[parent, child]].dropna().astype(str)
        counts = pairs.groupby([child, parent]).size().sort_values(ascending=False)
        maps[child] = {
            c: p for (c, p) in counts.index[~counts.index.get_level_values(0).duplicated()]
        }
    return maps


def consistent_categories(
    suggestions: list[FieldSuggestion], levels: tuple[str, ...], parents: dict[str, dict[str, str]]
) -> list[FieldSuggestion]:
    """Fill coarser category levels from the finest filled one, so the path never contradicts
    itself (a confident ``Tshirts`` implies ``Topwear`` and ``Apparel``)."""
    by_name = {s.name: s for s in suggestions}
    for parent, child in reversed(list(itertools.pairwise(levels))):
        filled = by_name[child]
        if filled.value is None:
            continue
        implied = parents[child].get(filled.value)
        current = by_name[parent]
        if implied is None or current.value == implied:
            continue
        confidence = max(
            filled.confidence,
            next((c.confidence for c in current.top if c.value == implied), 0.0),
        )
        by_name[parent] = replace(current, value=implied, confidence=confidence)
    return [by_name[s.name] for s in suggestions]
