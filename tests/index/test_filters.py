"""Metadata filters: results satisfy them, recall holds under restrictive ones, bad specs fail."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from furima.exceptions import DataError, FilterError
from furima.index import VectorIndex

from .conftest import DIM, Pool, exact_ids, recall


def _keep(pool: Pool, categories: list[str], low: float, high: float, status: str) -> np.ndarray:
    meta = pool.metadata
    return (
        np.isin(meta["category"], categories)
        & (meta["price"] >= low)
        & (meta["price"] <= high)
        & (meta["status"] == status)
    )


def test_filtered_results_only_hold_matching_listings(built: VectorIndex, pool: Pool) -> None:
    filters = {"category": ["Shoes", "Bags"], "price": (20, 150), "status": "on_sale"}
    ids = built.search(pool.queries, k=20, filters=filters).ids
    keep = _keep(pool, ["Shoes", "Bags"], 20, 150, "on_sale")
    assert np.isin(ids[ids >= 0], pool.ids[keep]).all()
    assert (ids >= 0).all()  # hundreds match, so every slot is filled
    assert recall(ids, exact_ids(pool, pool.queries, 20, keep)) >= 0.9


def test_broad_filter_uses_the_selector_and_stays_correct(pool: Pool, backend: str) -> None:
    from .conftest import BACKENDS

    index = VectorIndex(DIM, **BACKENDS[backend])  # type: ignore[arg-type]
    index.add(pool.ids, pool.vectors, pool.metadata)
    import furima.index._vector_index as module

    limit = module.EXACT_FILTER_ROWS
    module.EXACT_FILTER_ROWS = 0  # force the ANN + IDSelectorBitmap path at this small size
    try:
        ids = index.search(pool.queries, k=10, filters={"status": "on_sale"}).ids
    finally:
        module.EXACT_FILTER_ROWS = limit
    keep = pool.metadata["status"] == "on_sale"
    assert np.isin(ids[ids >= 0], pool.ids[keep]).all()
    assert recall(ids, exact_ids(pool, pool.queries, 10, keep)) >= 0.85


def test_one_percent_filter_keeps_recall_high(built: VectorIndex, pool: Pool) -> None:
    low, high = np.quantile(pool.metadata["price"], [0.50, 0.51])
    keep = (pool.metadata["price"] >= low) & (pool.metadata["price"] <= high)
    assert 20 <= keep.sum() <= 40
    ids = built.search(pool.queries, k=10, filters={"price": {"min": low, "max": high}}).ids
    assert np.isin(ids[ids >= 0], pool.ids[keep]).all()
    assert recall(ids, exact_ids(pool, pool.queries, 10, keep)) >= 0.99


def test_filter_matching_fewer_than_k_pads(built: VectorIndex, pool: Pool) -> None:
    target = pool.metadata["price"][0]
    ids, scores = built.search(pool.queries[:2], k=5, filters={"price": float(target)})
    assert ids[:, 0].tolist() == [pool.ids[0]] * 2
    assert (ids[:, 1:] == -1).all() and np.isneginf(scores[:, 1:]).all()
    assert (built.search(pool.queries[:2], k=3, filters={"category": "Cars"}).ids == -1).all()


def test_deleted_listings_never_match_a_filter(built: VectorIndex, pool: Pool) -> None:
    shoes = pool.ids[pool.metadata["category"] == "Shoes"]
    built.delete(shoes[:50])
    ids = built.search(pool.queries, k=10, filters={"category": "Shoes"}).ids
    assert not np.isin(ids, shoes[:50]).any()


def test_unknown_field_lists_the_known_ones(built: VectorIndex, pool: Pool) -> None:
    with pytest.raises(FilterError, match=r"unknown field 'brand'.*category, price, status"):
        built.search(pool.queries[:1], filters={"brand": "Nike"})


@pytest.mark.parametrize(
    ("filters", "words"),
    [
        ({"status": "reserved"}, "status must be one of"),
        ({"price": (50, 10)}, "min <= max"),
        ({"price": "cheap"}, "must be a number"),
        ({"price": {"low": 1}}, "takes 'min' and 'max'"),
        ({"category": 3}, "string or a list of strings"),
    ],
)
def test_bad_filter_values_say_what_is_expected(
    built: VectorIndex, pool: Pool, filters: dict[str, object], words: str
) -> None:
    with pytest.raises(FilterError, match=words):
        built.search(pool.queries[:1], filters=filters)


def test_declared_fields_rows_and_frames_as_metadata(pool: Pool) -> None:
    index = VectorIndex(DIM, backend="exact", fields={"brand": "str", "rating": "float"})
    rows = [{"brand": "Nike", "rating": 4.5, "status": "on_sale"}, {"brand": "Puma"}]
    index.add(pool.ids[:2], pool.vectors[:2], rows)
    frame = pd.DataFrame({"brand": ["Nike", None], "price": [10.0, None]})
    index.add(pool.ids[2:4], pool.vectors[2:4], frame)
    found = index.search(pool.vectors[0], k=4, filters={"brand": "Nike"}).ids[0]
    assert sorted(found[found >= 0].tolist()) == sorted([pool.ids[0], pool.ids[2]])
    found = index.search(pool.vectors[0], k=4, filters={"rating": (4, None)}).ids[0]
    assert found[found >= 0].tolist() == [pool.ids[0]]  # missing values never match
    with pytest.raises(DataError, match="undeclared field"):
        index.add([99], pool.vectors[:1], {"color": ["red"]})
    with pytest.raises(DataError, match="status must be one of"):
        index.add([99], pool.vectors[:1], {"status": ["gone"]})
    assert 99 not in index
