"""Duplicate finder: edited copies of real photos, near-duplicate texts, saving."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from PIL import Image, ImageOps

from furima.exceptions import DataError, ImageError, NotFittedError
from furima.safety._duplicates import DuplicateFinder
from furima.safety._text_duplicates import shingles

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CATALOG = 150
COPIED: dict[int, tuple[str, Any]] = {  # catalog row -> (edit, argument)
    3: ("reencode", 55),
    17: ("reencode", 70),
    30: ("resize", 0.6),
    44: ("resize", 1.4),
    58: ("crop", (0.07, 0.05, 0.09, 0.06)),
    71: ("crop", (0.1, 0.08, 0.06, 0.1)),
    85: ("mirror", None),
    99: ("mirror", None),
}


def edited(photo: bytes, edit: str, argument: Any) -> bytes:
    picture = Image.open(io.BytesIO(photo)).convert("RGB")
    quality = 90
    if edit == "reencode":
        quality = int(argument)
    elif edit == "resize":
        scale = float(argument)
        size = (round(picture.width * scale), round(picture.height * scale))
        picture = picture.resize(size, Image.Resampling.BICUBIC)
    elif edit == "crop":
        left, top, right, bottom = argument
        width, height = picture.size
        picture = picture.crop(
            (
                round(width * left),
                round(height * top),
                width - round(width * right),
                height - round(height * bottom),
            )
        )
    else:
        picture = ImageOps.mirror(picture)
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=quality)
    return out.getvalue()


@pytest.fixture(scope="module")
def listings() -> pd.DataFrame:
    table = pd.read_parquet(FIXTURES / "myntra_photos_240.parquet", columns=["id", "title", "jpeg"])
    return table.assign(id=table["id"].astype(str))


@pytest.fixture(scope="module")
def queries(listings: pd.DataFrame) -> pd.DataFrame:
    """The edited copies (new ids) and 12 photos the catalog does not hold."""
    copies = [
        {
            "id": f"copy-{row}",
            "original": listings["id"].iloc[row],
            "jpeg": edited(listings["jpeg"].iloc[row], *COPIED[row]),
        }
        for row in COPIED
    ]
    others = listings.iloc[CATALOG : CATALOG + 12]
    fresh = [
        {"id": f"new-{i}", "original": None, "jpeg": j}
        for i, j in zip(others["id"], others["jpeg"], strict=True)
    ]
    return pd.DataFrame(copies + fresh).astype({"original": object})


@pytest.fixture(scope="module")
def vectors(listings: pd.DataFrame, queries: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    from furima.features import PhotoEncoder

    encoder = PhotoEncoder(threads=2)
    return encoder.encode(list(listings["jpeg"].iloc[:CATALOG])), encoder.encode(
        list(queries["jpeg"])
    )


@pytest.fixture(scope="module")
def finder(listings: pd.DataFrame, vectors: tuple[np.ndarray, np.ndarray]) -> DuplicateFinder:
    catalog = listings.iloc[:CATALOG]
    return DuplicateFinder().fit(catalog["id"], catalog["title"], list(catalog["jpeg"]), vectors[0])


def test_edited_copies_are_found_and_other_photos_are_not(
    finder: DuplicateFinder, queries: pd.DataFrame, vectors: tuple[np.ndarray, np.ndarray]
) -> None:
    findings = finder.find(queries["id"], [None] * len(queries), list(queries["jpeg"]), vectors[1])
    for finding, original, listing in zip(
        findings, queries["original"], queries["id"], strict=True
    ):
        if pd.isna(original):
            assert finding.score == 0.0 and finding.reasons == (), listing
            continue
        assert finding.score >= 0.5, listing
        assert finding.evidence[0].listing_id == original, listing
        assert finding.evidence[0].kind == "duplicate"
        assert finding.reasons[0].startswith(f"the same photo as listing {original}, re-saved")


def test_pairs_name_how_each_copy_was_found(
    finder: DuplicateFinder, queries: pd.DataFrame, vectors: tuple[np.ndarray, np.ndarray]
) -> None:
    found = finder.pairs(queries["id"], [None] * len(queries), list(queries["jpeg"]), vectors[1])
    assert list(found.columns) == ["left_id", "right_id", "kind", "similarity", "score"]
    truth = dict(zip(queries["id"], queries["original"], strict=True))
    assert set(zip(found["left_id"], found["right_id"], strict=True)) == {
        (copy, original) for copy, original in truth.items() if not pd.isna(original)
    }
    kinds = dict(zip(found["left_id"], found["kind"], strict=True))
    assert kinds["copy-3"] == "photo_hash" and kinds["copy-85"] == "photo_hash"  # mirrored
    assert kinds["copy-71"] == "photo_vector"  # a 6-10% crop moves the hash too far
    assert found["similarity"].between(0.95, 1.0).all()


def test_without_vectors_the_hashes_find_all_but_crops(
    finder: DuplicateFinder, queries: pd.DataFrame
) -> None:
    found = finder.pairs(queries["id"], [None] * len(queries), list(queries["jpeg"]))
    truth = dict(zip(queries["id"], queries["original"], strict=True))
    assert all(
        truth[left] == right
        for left, right in zip(found["left_id"], found["right_id"], strict=True)
    )
    expected = {f"copy-{row}" for row, (edit, _) in COPIED.items() if edit != "crop"}
    assert expected <= set(found["left_id"]) <= expected | {"copy-58", "copy-71"}


def test_the_same_photo_pairs_exactly_and_never_with_itself(
    finder: DuplicateFinder, listings: pd.DataFrame
) -> None:
    catalog = listings.iloc[:CATALOG]
    exact = finder.find(["relisted"], [None], [catalog["jpeg"].iloc[5]], k=1)[0]
    assert exact.score == 1.0
    assert exact.reasons == (f"the same photo as listing {catalog['id'].iloc[5]}",)
    own = finder.pairs(catalog["id"], catalog["title"], list(catalog["jpeg"]))
    assert not (own["left_id"] == own["right_id"]).any()


def test_near_duplicate_texts_in_english_and_japanese(finder: DuplicateFinder) -> None:
    texts = [
        "Nike Air Max 90 running shoes white size 27 brand new in box never worn",
        "ナイキ エアマックス90 ランニングシューズ ホワイト 27cm 新品未使用 箱付き",
        "Vintage leather handbag with gold chain strap",
    ]
    texts_finder = DuplicateFinder().fit(["a", "b", "c"], texts)
    queries = [
        "Nike Air Max 90 running shoes white size 27 brand new in box, never worn!",
        "ナイキ エアマックス90 ランニングシューズ ホワイト 27cm 新品 未使用 箱付",
        "Canon EOS kiss camera body only",
    ]
    found = texts_finder.find(["x", "y", "z"], queries)
    assert [f.evidence[0].listing_id if f.evidence else None for f in found] == ["a", "b", None]
    assert found[0].reasons == ("almost the same text as listing a (Jaccard 1.00)",)
    assert found[1].reasons[0].startswith("almost the same text as listing b (Jaccard 0.")
    similarity = found[1].evidence[0].similarity
    assert similarity is not None and similarity >= 0.8
    assert texts_finder.find(["a"], [texts[0]])[0].score == 0.0  # itself
    assert "ナイ" in shingles(texts[1]) and "nike" in shingles(texts[0])


def test_empty_catalog_and_bad_input(finder: DuplicateFinder) -> None:
    with pytest.raises(NotFittedError, match="fit it on your listings first"):
        DuplicateFinder().find(["a"], ["text"])
    empty = DuplicateFinder().fit([], [])
    message = "the duplicate check has no catalog to compare with: fit it on your listings first."
    with pytest.raises(DataError, match=f"^{message}$"):
        empty.find(["a"], ["text"])
    with pytest.raises(ImageError, match=r"^the photo of listing 'x' is not an image"):
        finder.find(["x"], [None], [b"not a photo"])
    with pytest.raises(DataError, match="listing id 'a' appears twice"):
        finder.find(["a", "a"], ["one", "two"])
    with pytest.raises(DataError, match="texts has 1 values for 2 listing ids"):
        finder.find(["a", "b"], ["one"])


def test_add_grows_the_catalog_and_refuses_known_ids(listings: pd.DataFrame) -> None:
    grown = DuplicateFinder().fit(["a"], ["blue denim jacket size m"])
    grown.add(["b"], ["red wool scarf hand knitted"], [listings["jpeg"].iloc[0]])
    assert len(grown) == 2
    found = grown.find(["q"], ["red wool scarf hand knitted"], [listings["jpeg"].iloc[0]])[0]
    assert {e.listing_id for e in found.evidence} == {"b"}
    with pytest.raises(DataError, match=r"already in the duplicate catalog, e\.g\. 'a'"):
        grown.add(["a"], ["again"])


def test_write_read_round_trip(
    finder: DuplicateFinder,
    queries: pd.DataFrame,
    vectors: tuple[np.ndarray, np.ndarray],
    tmp_path: Path,
) -> None:
    description = finder.write(tmp_path)
    assert description["listings"] == CATALOG
    restored = DuplicateFinder.read(tmp_path, description)
    args = (queries["id"], ["Nike"] * len(queries), list(queries["jpeg"]), vectors[1])
    pd.testing.assert_frame_equal(restored.pairs(*args), finder.pairs(*args))
    np.testing.assert_array_equal(restored.ids_, finder.ids_)
    assert restored.find(*args) == finder.find(*args)
