"""BuyerSearch on 240 real Myntra listings: relevance, filters, facets, bad input, photos,
saving and loading."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from furima.exceptions import DataError, FilterError, ModelFormatError
from furima.search import SimilarSearch
from furima.search._buyer import BuyerSearch, SearchSettings
from furima.search._buyer_columns import BuyerColumns

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
COLUMNS = BuyerColumns(
    category="article_type",
    colour="base_colour",
    condition="condition",
    price="price",
    status="status",
    photo="jpeg",
    attributes=("gender", "usage"),
)


@pytest.fixture(scope="module")
def listings() -> pd.DataFrame:
    """The 240-listing fixture with made-up prices, conditions and a few sold listings."""
    table = pd.read_parquet(FIXTURES / "myntra_photos_240.parquet")
    rows = np.arange(len(table))
    table["price"] = 100.0 + (table["id"] % 50) * 20
    table["condition"] = np.where(rows % 3 == 0, "new", "used")
    table["status"] = np.where(rows % 10 == 0, "sold", "")
    return table


@pytest.fixture(scope="module")
def search(listings: pd.DataFrame) -> BuyerSearch:
    return BuyerSearch.build(listings, columns=COLUMNS, settings=SearchSettings(depth=40))


def test_words_find_listings_of_that_type_and_colour(search: BuyerSearch) -> None:
    page = search.search("women green kurtas", k=5)
    assert page.ranking == "rrf" and len(page.results) == 5
    assert all(hit.category == "Kurtas" for hit in page.results)
    assert page.results[0].colour == "Green"
    assert [h.score for h in page.results] == sorted((h.score for h in page.results), reverse=True)


def test_sold_listings_stay_out_unless_asked_for(
    search: BuyerSearch, listings: pd.DataFrame
) -> None:
    sold = set(listings.loc[listings["status"] == "sold", "id"])
    found = set(search.search("shoes", k=40).ids.tolist())
    assert found and not found & sold
    asked = search.search("shoes", k=40, filters={"status": "sold"}).ids.tolist()
    assert asked and set(asked) <= sold


def test_filters_restrict_both_retrievers(search: BuyerSearch) -> None:
    page = search.search("black", k=40, filters={"category": "Watches", "price": (300, 700)})
    assert page.total == len(page.results) > 0
    assert all(h.category == "Watches" and 300 <= (h.price or 0) <= 700 for h in page.results)


def test_facets_count_every_match_not_only_the_page(search: BuyerSearch) -> None:
    page = search.search("men shoes", k=3)
    assert len(page.results) == 3 and page.total > 3
    for name in ("category", "colour", "condition", "price"):
        assert sum(entry["count"] for entry in page.facets[name]) == page.total
    assert page.facets["condition"][0]["value"] in {"new", "used"}


def test_pages_follow_one_another(search: BuyerSearch) -> None:
    first = search.search("casual shoes", k=10)
    second = search.search("casual shoes", k=10, offset=10)
    both = search.search("casual shoes", k=20)
    assert [*first.ids, *second.ids] == both.ids.tolist()
    beyond = search.search("casual shoes", k=10, offset=5000)
    assert beyond.results == [] and beyond.total == first.total


def test_an_empty_query_without_a_photo_is_refused(search: BuyerSearch) -> None:
    for query in ("", "   ", None):
        with pytest.raises(DataError) as error:
            search.search(query)
        assert str(error.value) == "the search query is empty: type some words, or give a photo."


def test_a_query_in_another_script_answers_with_a_note(search: BuyerSearch) -> None:
    for query, script in (("赤いドレス", "Chinese/Japanese"), ("красное платье", "Cyrillic")):
        page = search.search(query)
        assert page.total == 0 and page.results == []
        assert page.notes[0] == (
            f"the query is written in {script} script, but the listings are written in "
            "Latin; no listing holds its words."
        )


def test_a_long_query_is_cut_with_a_note(search: BuyerSearch) -> None:
    page = search.search("red kurta " * 60)
    assert page.query is not None and len(page.query) <= 200
    assert page.notes == [f"the query was cut to its first {len(page.query)} characters."]
    assert page.results


def test_unknown_words_are_named(search: BuyerSearch) -> None:
    page = search.search("red kurtas zzqx")
    assert page.notes == ["no listing holds 'zzqx'; searched for the other words."]


@pytest.mark.parametrize("k", [0, 101, -1, 2.5, True])
def test_page_size_is_bounded(search: BuyerSearch, k: object) -> None:
    with pytest.raises(DataError, match="k must be a whole number from 1 to 100"):
        search.search("shoes", k=k)  # type: ignore[arg-type]


def test_filters_and_facets_on_unknown_fields_name_the_known_ones(search: BuyerSearch) -> None:
    known = "category, colour, condition, gender, price, status, usage"
    with pytest.raises(FilterError) as error:
        search.search("shoes", filters={"brand": "Nike"})
    assert str(error.value) == f"cannot filter on unknown field 'brand'; known fields are {known}."
    with pytest.raises(FilterError, match=r"unknown field\(s\) \['brand'\]"):
        search.search("shoes", facets=["brand"])


def test_search_many_matches_single_searches(search: BuyerSearch) -> None:
    queries = ["red kurtas", "black watch", "white sports shoes"]
    pages = search.search_many(queries, k=5, filters=[None, {"gender": "Men"}, None])
    assert pages[0].ids.tolist() == search.search("red kurtas", k=5).ids.tolist()
    men = search.search("black watch", k=5, filters={"gender": "Men"})
    assert pages[1].ids.tolist() == men.ids.tolist()


def test_the_page_is_json_ready(search: BuyerSearch) -> None:
    page = search.search("blue shirt", k=2).to_dict()
    decoded = json.loads(json.dumps(page))
    assert decoded["results"][0].keys() == {
        "id", "title", "score", "price", "category", "colour", "condition", "has_photo",
    }  # fmt: skip
    assert decoded["results"][0]["has_photo"] is True
    assert {"query", "results", "total", "offset", "k", "facets", "notes", "ranking"} == set(page)


def test_a_photo_searches_the_pool_and_fuses_with_words(
    listings: pd.DataFrame, pool: SimilarSearch, search: BuyerSearch
) -> None:
    search.photo_pool = pool
    try:
        watch = listings.loc[listings["article_type"] == "Watches"].iloc[0]
        by_photo = search.search(None, photo=watch["jpeg"], k=5)
        assert by_photo.ranking == "photo"
        categories = [hit.category for hit in by_photo.results]
        assert categories.count("Watches") >= 4
        both = search.search("black watch", photo=watch["jpeg"], k=5)
        assert both.ranking == "text+photo" and both.results
        with pytest.raises(DataError, match="the photo is empty"):
            search.search(None, photo=b"")
    finally:
        search.photo_pool = None
    with pytest.raises(DataError, match="this search has no photo pool"):
        search.search("watch", photo=watch["jpeg"])


def test_save_and_load_give_the_same_pages(search: BuyerSearch, tmp_path: Path) -> None:
    path = search.save(tmp_path / "buyer")
    loaded = BuyerSearch.load(path)
    for query in ("women red kurtas", "black shoes"):
        before = search.search(query, k=10, filters={"condition": "used"})
        after = loaded.search(query, k=10, filters={"condition": "used"})
        assert after.to_dict() == before.to_dict()
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["format"] == "furima.buyer_search"
    (path / "catalog.npz").write_bytes(b"damaged")
    with pytest.raises(ModelFormatError, match="does not match its checksum"):
        BuyerSearch.load(path)


def test_a_repeated_query_is_not_encoded_again(search: BuyerSearch) -> None:
    encoder = search.text_encoder
    calls: list[list[str]] = []
    original = encoder.encode

    def counting(texts: list[str], **options: object) -> np.ndarray:
        calls.append(list(texts))
        return original(texts)

    encoder.encode = counting  # type: ignore[method-assign,assignment]
    try:
        first = search.search("grey formal shirt", k=5)
        pages = search.search_many(["grey formal shirt", "brown handbag", "brown handbag"], k=5)
    finally:
        del encoder.encode
    assert calls == [["grey formal shirt"], ["brown handbag"]]
    assert pages[0].to_dict() == first.to_dict()
    assert pages[1].to_dict() == pages[2].to_dict()


def test_a_catalog_without_status_is_all_on_sale(listings: pd.DataFrame) -> None:
    plain = BuyerSearch.build(
        listings.drop(columns="status"),
        columns=BuyerColumns(category="article_type"),
        settings=SearchSettings(depth=20),
    )
    everything = plain.search("shoes", k=20)
    assert plain.search("shoes", k=20, filters={"status": "on_sale"}).ids.tolist() == (
        everything.ids.tolist()
    )
    assert plain.search("shoes", filters={"status": "sold"}).total == 0
