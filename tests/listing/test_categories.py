"""Category paths that never contradict themselves."""

from __future__ import annotations

import pandas as pd

from furima.listing import Choice, FieldSuggestion
from furima.listing._categories import consistent_categories, parent_maps

LEVELS = ("master", "sub", "kind")


def _field(name: str, value: str | None, top: list[tuple[str, float]]) -> FieldSuggestion:
    choices = [Choice(v, c) for v, c in top]
    return FieldSuggestion(name, name, value, choices[0].confidence, 0.8, choices)


def test_parent_maps_take_each_childs_commonest_parent() -> None:
    catalog = pd.DataFrame(
        {
            "master": ["Apparel", "Apparel", "Footwear", "Apparel", None],
            "sub": ["Topwear", "Topwear", "Shoes", "Bottomwear", "Topwear"],
            "kind": ["Tshirts", "Tshirts", "Sneakers", "Tshirts", "Tops"],
        }
    )
    maps = parent_maps(catalog, LEVELS)
    assert maps["kind"] == {"Tshirts": "Topwear", "Sneakers": "Shoes", "Tops": "Topwear"}
    assert maps["sub"] == {"Topwear": "Apparel", "Shoes": "Footwear", "Bottomwear": "Apparel"}


def test_a_filled_child_sets_its_parents_and_keeps_unfilled_children_empty() -> None:
    parents = {"kind": {"Tshirts": "Topwear"}, "sub": {"Topwear": "Apparel"}}
    suggestions = [
        _field("master", "Footwear", [("Footwear", 0.85), ("Apparel", 0.15)]),
        _field("sub", None, [("Shoes", 0.5), ("Topwear", 0.45)]),
        _field("kind", "Tshirts", [("Tshirts", 0.9), ("Tops", 0.1)]),
    ]
    fixed = consistent_categories(suggestions, LEVELS, parents)
    assert [f.value for f in fixed] == ["Apparel", "Topwear", "Tshirts"]
    assert [round(f.confidence, 2) for f in fixed] == [0.9, 0.9, 0.9]
    nothing = [_field(n, None, [("x", 0.3)]) for n in LEVELS]
    assert consistent_categories(nothing, LEVELS, parents) == nothing
