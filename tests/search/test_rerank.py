"""Label-aware re-ranking: the nearest listings vote on the query's product type."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from furima.exceptions import IndexConfigError
from furima.index import SearchResult
from furima.search import LabelRerank, SimilarSearch

from .conftest import COLUMNS


def result(scores: list[float], ids: list[int] | None = None) -> SearchResult:
    found = np.arange(len(scores)) if ids is None else np.array(ids)
    return SearchResult(found[None, :].astype(np.int64), np.array([scores], np.float32))


def test_the_vote_moves_the_majority_type_up_and_keeps_similarities() -> None:
    # Weights exp((s - 0.9) / 0.05) over the top 3: 1, 0.819, 0.670. Type 1 gets 0.598 of
    # the vote, type 0 gets 0.402: 0.89 + 0.598 > 0.88 + 0.598 > 0.90 + 0.402 > 0.70 + 0.402.
    found = result([0.90, 0.89, 0.88, 0.70])
    labels = np.array([[0, 1, 1, 0]])
    reranked = LabelRerank(voters=3).apply(found, labels, k=3)
    assert reranked.ids.tolist() == [[1, 2, 0]]
    np.testing.assert_allclose(reranked.scores, [[0.89, 0.88, 0.90]], rtol=1e-6)


def test_unlabelled_and_padded_candidates_get_no_share() -> None:
    found = result([0.9, 0.8, 0.7, -np.inf], ids=[5, 6, 7, -1])
    labels = np.array([[-1, 3, 3, -1]])  # the nearest has no type; the last is padding
    reranked = LabelRerank().apply(found, labels, k=4)
    assert reranked.ids.tolist() == [[6, 7, 5, -1]]
    assert reranked.scores[0, -1] == -np.inf


def test_weight_zero_or_no_labels_keep_the_order() -> None:
    found = result([0.9, 0.8, 0.7])
    same = LabelRerank(weight=0.0).apply(found, np.array([[0, 1, 1]]), k=3)
    assert same.ids.tolist() == [[0, 1, 2]]
    unlabelled = LabelRerank().apply(found, np.full((1, 3), -1), k=2)
    assert unlabelled.ids.tolist() == [[0, 1]]


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"weight": -1.0}, "weight must be >= 0"),
        ({"voters": 0}, "voters and depth must be >= 1"),
        ({"temperature": 0.0}, "temperature must be > 0"),
    ],
)
def test_bad_settings_are_refused(settings: dict[str, float], message: str) -> None:
    with pytest.raises(IndexConfigError, match=message):
        LabelRerank(**settings)  # type: ignore[arg-type]


def test_held_out_photos_find_their_type_more_often(photo_listings: pd.DataFrame) -> None:
    # 6 of each type's 30 photos are held out; the other 180 form a raw-feature pool.
    held = (photo_listings.groupby("article_type").cumcount() >= 24).to_numpy()
    pool = SimilarSearch.build(photo_listings[~held], columns=COLUMNS, train_embedder=False)
    queries = photo_listings[held]
    types = photo_listings.set_index("id")["article_type"]

    def precision_at_5() -> float:
        found = pool.similar(photos=queries["jpeg"].tolist(), k=5).ids
        same = types.loc[found.ravel()].to_numpy().reshape(found.shape)
        return float((same == queries["article_type"].to_numpy()[:, None]).mean())

    reranked = precision_at_5()
    pool.rerank = None
    plain = precision_at_5()
    assert reranked > plain + 0.08  # measured 0.863 against 0.721


def test_listing_queries_lead_the_vote_with_their_own_type(
    pool: SimilarSearch, photo_listings: pd.DataFrame
) -> None:
    ids = photo_listings["id"].to_numpy()
    found = pool.similar(listing_ids=ids, k=5)
    assert not (found.ids == ids[:, None]).any()
    types = photo_listings.set_index("id")["article_type"]
    same = types.loc[found.ids.ravel()].to_numpy().reshape(found.ids.shape)
    assert (same == photo_listings["article_type"].to_numpy()[:, None]).all()


def test_labels_can_be_filtered_on(pool: SimilarSearch, photo_listings: pd.DataFrame) -> None:
    found = pool.similar(texts=["shoes"], k=10, filters={"label": "Casual Shoes"})
    types = photo_listings.set_index("id").loc[found.ids[0], "article_type"]
    assert (types == "Casual Shoes").all()


def test_pools_keep_their_rerank_settings(photo_listings: pd.DataFrame, tmp_path: Path) -> None:
    small = photo_listings.iloc[::4]
    tuned = SimilarSearch.build(
        small, columns=COLUMNS, train_embedder=False, rerank=LabelRerank(weight=0.5, voters=5)
    )
    folder = tuned.save(tmp_path / "pool")
    assert SimilarSearch.load(folder).rerank == LabelRerank(weight=0.5, voters=5)
    # A pool saved before re-ranking existed has no "rerank": plain nearest first.
    manifest = json.loads((folder / "manifest.json").read_text())
    del manifest["rerank"]
    (folder / "manifest.json").write_text(json.dumps(manifest))
    assert SimilarSearch.load(folder).rerank is None
