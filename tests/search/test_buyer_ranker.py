"""The learned ranker of buyer search and the proxy judgments it can train on."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from furima.exceptions import DataError, ModelFormatError, NotFittedError
from furima.search._buyer import BuyerSearch, SearchSettings
from furima.search._buyer_columns import BuyerColumns
from furima.search._buyer_judgments import (
    attribute_grades,
    attribute_queries,
    proxy_attributes,
    proxy_judgments,
)
from furima.search._buyer_ranker import BuyerRanker, feature_names

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
ATTRIBUTES = ("gender", "base_colour", "usage", "article_type")
COLUMNS = BuyerColumns(
    category="article_type", colour="base_colour", attributes=("gender", "usage")
)


@pytest.fixture(scope="module")
def listings() -> pd.DataFrame:
    return pd.read_parquet(FIXTURES / "myntra_photos_240.parquet").drop(columns="jpeg")


def _synthetic(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """60 queries of 20 candidates; the grade is the first feature, the second is noise."""
    rng = np.random.default_rng(seed)
    grades = rng.integers(0, 4, 60 * 20)
    features = np.column_stack(
        [grades + rng.normal(0, 0.3, len(grades)), rng.normal(size=len(grades))]
    )
    return features.astype(np.float32), grades, np.full(60, 20)


def test_the_ranker_learns_which_feature_tells_relevance() -> None:
    features, grades, groups = _synthetic(0)
    ranker = BuyerRanker(n_estimators=60, seed=0, threads=1).fit(
        features, grades, groups, ["signal", "noise"]
    )
    test, test_grades, _ = _synthetic(1)
    scores = ranker.score(test)
    assert np.corrcoef(scores, test_grades)[0, 1] > 0.9
    importance = ranker.booster_.feature_importance("gain")
    assert importance[0] > 10 * importance[1]


def test_the_ranker_round_trips_through_text() -> None:
    features, grades, groups = _synthetic(0)
    ranker = BuyerRanker(n_estimators=20, threads=1).fit(features, grades, groups, ["a", "b"])
    again = BuyerRanker.from_text(ranker.model_text(), ranker.features_, ranker.get_params())
    np.testing.assert_allclose(again.score(features), ranker.score(features))
    with pytest.raises(ModelFormatError, match="the saved ranker model is damaged"):
        BuyerRanker.from_text("not a model", ["a"], {})


def test_bad_grades_and_unfitted_use_are_refused() -> None:
    features, grades, groups = _synthetic(0)
    with pytest.raises(DataError, match="relevance grades must be whole numbers >= 0"):
        BuyerRanker().fit(features, grades - 1.5, groups, ["a", "b"])
    with pytest.raises(DataError, match="groups summing to 100"):
        BuyerRanker().fit(features, grades, np.full(5, 20), ["a", "b"])
    with pytest.raises(NotFittedError, match="the buyer ranker is not fitted"):
        BuyerRanker().score(features)


def test_feature_names_cover_every_field() -> None:
    names = feature_names(["title", "colour"])
    assert names[-3:] == ("share_title", "share_colour", "covered_colour")


def test_attribute_queries_are_real_combinations(listings: pd.DataFrame) -> None:
    queries = attribute_queries(listings, ATTRIBUTES, n_queries=50, seed=0)
    assert len(queries) == 50 and queries["query"].is_unique
    assert queries["article_type"].notna().all()
    assert (queries[list(ATTRIBUTES)].notna().sum(axis=1) >= 2).all()
    first = queries.iloc[0]
    asked = [str(first[a]).lower() for a in ATTRIBUTES if pd.notna(first[a])]
    assert first["query"] == " ".join(asked)
    values = listings[list(ATTRIBUTES)].astype(str).agg(" ".join, axis=1).str.lower()
    assert any(all(word in v for word in asked) for v in values)


def test_attribute_grades_count_the_matching_attributes(listings: pd.DataFrame) -> None:
    queries = pd.DataFrame(
        {"query": ["women green kurtas"], "gender": ["Women"], "base_colour": ["Green"],
         "usage": [None], "article_type": ["Kurtas"]}
    )  # fmt: skip
    grades = attribute_grades(queries, listings, ATTRIBUTES)[0]
    kurtas = listings["article_type"] == "Kurtas"
    green = listings["base_colour"] == "Green"
    women = listings["gender"] == "Women"
    np.testing.assert_array_equal(grades, kurtas.astype(int) + green + women)


def test_auto_ranker_trains_on_proxy_judgments(listings: pd.DataFrame) -> None:
    search = BuyerSearch.build(listings, columns=COLUMNS, settings=SearchSettings(depth=30))
    judgments = proxy_judgments(search, listings, attributes=ATTRIBUTES, n_queries=80, seed=0)
    assert set(judgments.columns) == {"query", "id", "grade"}
    assert judgments["grade"].between(0, 4).all() and judgments["grade"].max() >= 3
    search.fit_ranker(judgments, ranker=BuyerRanker(n_estimators=50, threads=1))
    page = search.search("women green ethnic kurtas", k=5)
    assert page.ranking == "learned"
    assert [hit.category for hit in page.results] == ["Kurtas"] * 5
    assert page.results[0].colour == "Green"
    assert proxy_attributes(COLUMNS) == ["gender", "usage", "base_colour", "article_type"]
    with pytest.raises(DataError, match="judgments lack the column"):
        search.fit_ranker(judgments.drop(columns="grade"))
    with pytest.raises(DataError, match="needs at least two of them"):
        BuyerSearch.build(listings, ranker="auto")


def test_build_trains_the_ranker_and_a_saved_search_keeps_it(
    listings: pd.DataFrame, tmp_path: Path
) -> None:
    ranker = BuyerRanker(n_estimators=30, threads=1)
    search = BuyerSearch.build(
        listings, columns=COLUMNS, ranker=ranker, settings=SearchSettings(depth=30)
    )
    assert search.ranker is ranker and ranker.is_fitted
    loaded = BuyerSearch.load(search.save(tmp_path / "buyer"))
    assert loaded.ranker is not None and loaded.ranker.features_ == ranker.features_
    for query in ("men black casual shoes", "women white tops"):
        before, after = search.search(query, k=10), loaded.search(query, k=10)
        assert after.ranking == before.ranking == "learned"
        assert after.ids.tolist() == before.ids.tolist()
        np.testing.assert_allclose(
            [h.score for h in after.results], [h.score for h in before.results]
        )
