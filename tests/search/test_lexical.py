"""The lexical index (tokens, BM25, field matches), rank fusion and filters/facets."""

from __future__ import annotations

import numpy as np
import pytest

from furima.exceptions import DataError, FilterError
from furima.search._facets import FacetTable
from furima.search._fusion import rank_positions, reciprocal_rank_fusion
from furima.search._lexical import LexicalIndex, scripts_of, tokenize

TITLES = [
    "Nike Men Black Running Shoes",
    "Puma Men's Black T-shirt",
    "Fabindia Women Red Kurtas",
    "赤いワンピース レディース",
    "Красное платье",
]
COLOURS = ["Black", "Black", "Red", "Red", "Red"]


@pytest.fixture(scope="module")
def index() -> LexicalIndex:
    return LexicalIndex().build({"title": TITLES, "colour": COLOURS})


def test_tokens_are_stemmed_hyphens_joined_and_stopwords_dropped() -> None:
    assert tokenize("Puma Men's Black T-shirts for the Gym") == [
        "puma", "men", "black", "shirt", "tshirt", "gym",
    ]  # fmt: skip
    assert tokenize("Kurtas KURTA") == ["kurta", "kurta"]
    full_width = "\uff32\uff25\uff24\u3000Dress"  # "RED Dress" in full-width letters
    assert tokenize(full_width) == ["red", "dress"]


def test_text_without_spaces_becomes_character_bigrams() -> None:
    assert tokenize("赤いドレス") == ["赤い", "いド", "ドレ", "レス"]
    assert tokenize("靴") == ["靴"]
    assert tokenize("Nike靴") == ["nike", "靴"]


def test_scripts_of_names_writing_systems() -> None:
    assert scripts_of("red dress 42") == {"latin"}
    assert scripts_of("赤いドレス") == {"cjk"}
    assert scripts_of("Красное") == {"cyrillic"}
    assert scripts_of("123 !") == set()


def test_bm25_ranks_the_listing_with_the_rare_terms_first(index: LexicalIndex) -> None:
    scores = index.scores(index.terms("black running shoes"))
    assert scores.shape == (5,)
    assert int(np.argmax(scores)) == 0
    assert scores[1] > 0  # "black" only
    assert scores[2] == scores[3] == scores[4] == 0


def test_a_japanese_query_finds_the_japanese_title(index: LexicalIndex) -> None:
    scores = index.scores(index.terms("赤いワンピース"))
    assert int(np.argmax(scores)) == 3
    assert np.count_nonzero(scores) == 1


def test_unknown_words_score_nothing(index: LexicalIndex) -> None:
    terms = index.terms("zzz qqq")
    assert terms.n_terms == 2 and len(terms.ids) == 0 and terms.known_share == 0.0
    assert not index.scores(terms).any()


def test_field_hits_count_the_query_terms_each_field_holds(index: LexicalIndex) -> None:
    terms = index.terms("red kurtas for women")
    rows = np.array([2, 0, 4])
    hits = index.field_hits(terms, rows)
    np.testing.assert_array_equal(hits["title"], [3, 0, 0])
    np.testing.assert_array_equal(hits["colour"], [1, 0, 1])
    counts, idf_share = index.any_hits(terms, rows)
    np.testing.assert_array_equal(counts, [3, 0, 1])
    assert idf_share[0] == pytest.approx(1.0) and idf_share[1] == 0.0
    assert 0 < idf_share[2] < 1 / 3  # "red" is the query's most common term
    np.testing.assert_array_equal(index.field_lengths_["colour"][rows], [1, 1, 1])


def test_rank_fusion_sums_reciprocal_ranks() -> None:
    ids, scores = reciprocal_rank_fusion([np.array([7, 8, 9]), np.array([9, 7, -1])], k=60)
    assert ids.tolist() == [7, 9, 8]
    np.testing.assert_allclose(scores, [1 / 61 + 1 / 62, 1 / 63 + 1 / 61, 1 / 62])
    with pytest.raises(DataError, match="got 1 fusion weights for 2 rankings"):
        reciprocal_rank_fusion([np.array([1]), np.array([2])], weights=[1.0])


def test_rank_positions_are_one_based_with_a_missing_rank() -> None:
    ranks = rank_positions(np.array([5, 3, 9]), np.array([9, 4, 5]), missing=11)
    np.testing.assert_array_equal(ranks, [3, 11, 1])


@pytest.fixture(scope="module")
def table() -> FacetTable:
    texts: dict[str, list[str | None]] = {
        "category": ["Shoes", "Shoes", "Bags", None],
        "status": ["on_sale", "sold", "on_sale", "on_sale"],
    }
    return FacetTable(texts, {"price": [100.0, 250.0, 900.0, np.nan]})


def test_filters_follow_the_index_spec(table: FacetTable) -> None:
    def rows(filters: dict[str, object]) -> list[int]:
        mask = table.mask(table.check(filters))
        assert mask is not None
        return np.flatnonzero(mask).tolist()

    assert rows({}) == [0, 2, 3]  # sold left out by default
    assert rows({"status": ["on_sale", "sold"]}) == [0, 1, 2, 3]
    assert rows({"category": "Shoes"}) == [0]
    assert rows({"price": (200, None), "status": "sold"}) == [1]
    assert rows({"price": {"max": 500}}) == [0]


def test_bad_filters_say_what_is_known(table: FacetTable) -> None:
    with pytest.raises(FilterError) as error:
        table.check({"brand": "Nike"})
    assert str(error.value) == (
        "cannot filter on unknown field 'brand'; known fields are category, price, status."
    )
    with pytest.raises(FilterError, match="needs min <= max"):
        table.check({"price": (5, 1)})
    with pytest.raises(FilterError, match="status must be one of"):
        table.check({"status": "gone"})


def test_facets_count_values_and_price_buckets(table: FacetTable) -> None:
    counts = table.counts(np.arange(4), ["category", "price"])
    assert counts["category"] == [{"value": "Shoes", "count": 2}, {"value": "Bags", "count": 1}]
    assert sum(bucket["count"] for bucket in counts["price"]) == 3
    assert counts["price"][0]["min"] is None and counts["price"][-1]["max"] is None
    with pytest.raises(FilterError, match=r"unknown field\(s\) \['brand'\]"):
        table.check_facets(["brand"], optional=("colour",))
    assert table.check_facets(["colour", "category"], optional=("colour",)) == ["category"]
