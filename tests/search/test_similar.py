"""SimilarSearch on 240 real Myntra listings: photo, text and listing queries, filters, errors."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from furima.exceptions import DataError, FilterError, ImageError, UnknownListingError
from furima.features import PhotoEncoder
from furima.search import PoolColumns, SimilarSearch

from .conftest import COLUMNS


def types_of(ids: np.ndarray, listings: pd.DataFrame) -> np.ndarray:
    lookup = listings.set_index("id")["article_type"]
    return lookup.loc[ids.ravel()].to_numpy().reshape(ids.shape)


def test_pool_holds_every_listing_once(pool: SimilarSearch) -> None:
    assert len(pool) == 240
    assert sorted(pool.indexes) == ["photos"]
    assert pool.embedder is not None and pool.embedder.classes_[0] == "Casual Shoes"


def test_more_like_this_listing_finds_the_same_type(
    pool: SimilarSearch, photo_listings: pd.DataFrame
) -> None:
    ids = photo_listings["id"].to_numpy()
    found = pool.similar(listing_ids=ids, k=5)
    assert found.ids.shape == (240, 5)
    assert not (found.ids == ids[:, None]).any()  # never itself
    same = types_of(found.ids, photo_listings) == photo_listings["article_type"].to_numpy()[:, None]
    assert same.mean() > 0.85


def test_photo_query_finds_its_own_listing_first(
    pool: SimilarSearch, photo_listings: pd.DataFrame
) -> None:
    found = pool.similar(photos=photo_listings["jpeg"].iloc[:20].tolist(), k=3)
    assert (found.ids[:, 0] == photo_listings["id"].iloc[:20].to_numpy()).all()
    assert (found.scores[:, 0] > 0.99).all()
    plain = SimilarSearch(
        columns=pool.columns, embedder=pool.embedder, indexes=pool.indexes, rerank=None
    ).similar(photos=photo_listings["jpeg"].iloc[:20].tolist(), k=3)
    assert (np.diff(plain.scores, axis=1) <= 1e-6).all()  # without re-ranking: best first


@pytest.mark.parametrize(
    ("text", "wanted"),
    [("wrist watch", "Watches"), ("women leather handbag", "Handbags"), ("kurta", "Kurtas")],
)
def test_text_finds_photos_of_that_type(
    pool: SimilarSearch, photo_listings: pd.DataFrame, text: str, wanted: str
) -> None:
    found = pool.similar(texts=[text], k=10)
    assert (types_of(found.ids, photo_listings) == wanted).mean() >= 0.8


def test_filters_hold(pool: SimilarSearch, photo_listings: pd.DataFrame) -> None:
    found = pool.similar(
        texts=["shoes"], k=10, filters={"category": "Footwear", "price": (2012, 2013)}
    )
    rows = photo_listings.set_index("id").loc[found.ids[0][found.ids[0] >= 0]]
    assert len(rows) > 0
    assert (rows["master_category"] == "Footwear").all()
    assert rows["year"].between(2012, 2013).all()


def test_delete_and_add_keep_the_pool_current(photo_listings: pd.DataFrame) -> None:
    small = photo_listings.iloc[:40]
    search = SimilarSearch.build(small, columns=COLUMNS, train_embedder=False)
    gone = int(small["id"].iloc[0])
    search.delete([gone])
    assert len(search) == 39
    found = search.similar(photos=[small["jpeg"].iloc[0]], k=39)
    assert gone not in found.ids
    search.add(small.iloc[:1])
    assert search.similar(photos=[small["jpeg"].iloc[0]], k=1).ids[0, 0] == gone


def test_raw_pool_searches_titles_by_text(photo_listings: pd.DataFrame) -> None:
    search = SimilarSearch.build(photo_listings.iloc[:60], columns=COLUMNS, train_embedder=False)
    assert search.embedder is None and sorted(search.indexes) == ["photos", "titles"]
    title = photo_listings["title"].iloc[5]
    assert search.similar(texts=[title], k=1).ids[0, 0] == photo_listings["id"].iloc[5]


def test_listings_without_a_photo_are_found_by_their_title(
    pool: SimilarSearch, photo_listings: pd.DataFrame
) -> None:
    extra = photo_listings.iloc[:2].copy()
    extra["id"] = [900001, 900002]
    extra["jpeg"] = [None, b""]
    pool.add(extra)
    try:
        assert len(pool) == 242
        found = pool.similar(texts=[extra["title"].iloc[0]], k=20)
        assert 900001 in found.ids
    finally:
        pool.delete([900001, 900002])


def test_save_load_round_trip(pool: SimilarSearch, tmp_path: Path) -> None:
    pool.save(tmp_path / "pool")
    again = SimilarSearch.load(tmp_path / "pool")
    queries = {"texts": ["red tshirt", "black watch"]}
    before, after = pool.similar(**queries, k=5), again.similar(**queries, k=5)
    np.testing.assert_array_equal(before.ids, after.ids)
    np.testing.assert_allclose(before.scores, after.scores, rtol=1e-5)


def test_pools_keep_the_photo_pooling_they_were_encoded_with(
    pool: SimilarSearch, photo_listings: pd.DataFrame, tmp_path: Path
) -> None:
    assert pool.photo_encoder.pooling == "multiscale"  # the default for new pools
    again = SimilarSearch.load(pool.save(tmp_path / "pool"))
    assert again.photo_encoder.pooling == "multiscale"
    photo = {"photos": [photo_listings["jpeg"].iloc[5]]}
    np.testing.assert_array_equal(pool.similar(**photo, k=5).ids, again.similar(**photo, k=5).ids)
    # A pool saved before multiscale pooling existed has no "photo_pooling": average.
    average = SimilarSearch.build(
        photo_listings.head(40), columns=COLUMNS, train_embedder=False, photo_encoder=PhotoEncoder()
    )
    folder = average.save(tmp_path / "old")
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest.pop("photo_pooling") == "average"
    (folder / "manifest.json").write_text(json.dumps(manifest))
    old = SimilarSearch.load(folder)
    assert (old.photo_encoder.pooling, old.photo_encoder.dim) == ("average", 1280)
    assert old.similar(**photo, k=3).ids.tolist() == average.similar(**photo, k=3).ids.tolist()


def test_bad_queries_get_clear_errors(pool: SimilarSearch) -> None:
    with pytest.raises(DataError, match="exactly one of listing_ids, photos or texts"):
        pool.similar(texts=["a"], photos=[b"x"])
    with pytest.raises(UnknownListingError):
        pool.similar(listing_ids=[123456789])
    with pytest.raises(ImageError, match="image 0 is not an image"):
        pool.similar(photos=[b"hello"])
    with pytest.raises(FilterError, match="colour"):
        pool.similar(texts=["shoe"], filters={"colour": "red"})
    with pytest.raises(DataError, match="wrap a single text in a list"):
        pool.similar(texts="shoe")  # type: ignore[arg-type]


def test_bad_tables_get_clear_errors(photo_listings: pd.DataFrame) -> None:
    with pytest.raises(DataError, match=r"lack the column\(s\) photo='photo'"):
        SimilarSearch.build(photo_listings, columns=PoolColumns())
    with pytest.raises(DataError, match="appears more than once"):
        SimilarSearch.build(pd.concat([photo_listings.iloc[:2]] * 2), columns=COLUMNS)
    broken = photo_listings.iloc[:3].copy()
    broken["jpeg"] = [broken["jpeg"].iloc[0], b"\xff\xd8 broken", broken["jpeg"].iloc[2]]
    with pytest.raises(ImageError, match="photo column 'jpeg': image 1 is corrupt"):
        SimilarSearch.build(broken, columns=COLUMNS, train_embedder=False)


def test_photo_from_a_phone_sized_png(pool: SimilarSearch, photo_listings: pd.DataFrame) -> None:
    big = Image.open(io.BytesIO(photo_listings["jpeg"].iloc[10])).resize((1200, 1600))
    buffer = io.BytesIO()
    big.save(buffer, format="PNG")
    found = pool.similar(photos=[buffer.getvalue()], k=1)
    assert found.ids[0, 0] == photo_listings["id"].iloc[10]


def test_raw_pool_deletes_listings_held_only_by_the_title_pool(
    photo_listings: pd.DataFrame,
) -> None:
    table = photo_listings.iloc[:12].copy()
    table.loc[table.index[0], "jpeg"] = None
    search = SimilarSearch.build(table, columns=COLUMNS, train_embedder=False)
    assert len(search.indexes["photos"]) == 11 and len(search.indexes["titles"]) == 12
    search.delete([int(table["id"].iloc[0])])
    assert len(search.indexes["titles"]) == 11
    with pytest.raises(UnknownListingError, match="not in the pool"):
        search.delete([int(table["id"].iloc[0])])
