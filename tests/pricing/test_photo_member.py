"""Photos as a member of the price model: kept when they help, dropped when they do not.

No real data pairs photos with prices (the Myntra photos have none), so these tests give the
240 real Myntra photos of tests/fixtures a SIMULATED price. The simulation checks mechanics
only (the member learns what a photo shows, the fit measures whether that helps, the decision
is saved): it says nothing about how much photos help on a real marketplace.

- "photo-driven": log price = a level per article type (what the photo shows) + small noise,
  and names that never say the type (a random made-up word);
- "photo-blind": log price = a level per name word + noise, whatever the photo shows.

Each photo is encoded once for the module (the encoder is wrapped with a lookup by bytes).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from furima.cli import app
from furima.exceptions import DataError, ImageError, SchemaError
from furima.features._photo import PhotoEncoder
from furima.pricing import PriceSuggester, rmsle
from furima.pricing._photo_members import PHOTO_GAIN, PhotoPrices

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
_TYPE_LEVEL = {
    "Tops": 6.0,
    "Tshirts": 6.4,
    "Kurtas": 6.8,
    "Shirts": 7.2,
    "Handbags": 7.6,
    "Casual Shoes": 8.0,
    "Sports Shoes": 8.4,
    "Watches": 8.8,
}
_WORDS = ["zorp", "blick", "quan", "mesk", "tiv", "wrell", "dopa", "sarn"]


@pytest.fixture(scope="module")
def photos() -> pd.DataFrame:
    return pd.read_parquet(
        FIXTURES / "myntra_photos_240.parquet", columns=["id", "article_type", "jpeg"]
    )


@pytest.fixture(scope="module", autouse=True)
def encode_once(photos: pd.DataFrame) -> Iterator[None]:
    """Encode the 240 photos once; later encodes of the same bytes are looked up."""
    original = PhotoEncoder.encode
    vectors = original(PhotoEncoder(threads=1), list(photos["jpeg"]))
    known = dict(zip(photos["jpeg"], vectors, strict=True))

    def encode(self: PhotoEncoder, images: list[object], *, progress: bool = False) -> np.ndarray:
        data = [Path(i).read_bytes() if isinstance(i, str) else i for i in images]
        if all(isinstance(i, bytes) and i in known for i in data):
            return np.stack([known[i] for i in data if isinstance(i, bytes)])
        return original(self, images, progress=progress)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(PhotoEncoder, "encode", encode)
        yield


def _listings(photos: pd.DataFrame, *, photo_driven: bool, seed: int = 0) -> pd.DataFrame:
    """The simulation (see the module docstring)."""
    rng = np.random.default_rng(seed)
    words = rng.choice(_WORDS, len(photos))
    if photo_driven:
        level = photos["article_type"].map(_TYPE_LEVEL).to_numpy(float)
        noise = 0.1
    else:
        level = 6.0 + 0.4 * np.array([_WORDS.index(w) for w in words], dtype=float)
        noise = 0.2
    return pd.DataFrame(
        {
            "listing_id": photos["id"].astype(str),
            "name": [f"{w} item" for w in words],
            "price": np.expm1(level + rng.normal(0.0, noise, len(photos))).round(2),
            "jpeg": photos["jpeg"],
        }
    )


@pytest.fixture(scope="module")
def driven(photos: pd.DataFrame) -> pd.DataFrame:
    return _listings(photos, photo_driven=True)


@pytest.fixture(scope="module")
def held_out(photos: pd.DataFrame) -> pd.Index:
    """Five listings of each article type kept out of training (40)."""
    return photos.groupby("article_type").head(5).index


@pytest.fixture(scope="module")
def photo_model(driven: pd.DataFrame, held_out: pd.Index) -> PriceSuggester:
    train = driven.drop(index=held_out)
    return PriceSuggester(random_state=0).fit(train, photos="jpeg")


def test_photos_that_show_the_price_are_kept_and_help(
    photo_model: PriceSuggester, driven: pd.DataFrame, held_out: pd.Index
) -> None:
    decision = photo_model.training_["photos"]
    assert decision["column"] == "jpeg" and decision["kept"] is True
    assert decision["validation_rmsle_with"] < 0.6 * decision["validation_rmsle_without"]
    assert any(isinstance(m, PhotoPrices) for m in photo_model.members_)

    words_only = PriceSuggester(random_state=0).fit(driven.drop(index=held_out, columns="jpeg"))
    test = driven.loc[held_out]
    with_photos = rmsle(test["price"], photo_model.predict(test))
    without = rmsle(test["price"], words_only.predict(test.drop(columns="jpeg")))
    assert with_photos < 0.6 * without


def test_photos_that_say_nothing_are_dropped(photos: pd.DataFrame) -> None:
    listings = _listings(photos, photo_driven=False)
    model = PriceSuggester(random_state=0).fit(listings, photos="jpeg")
    decision = model.training_["photos"]
    assert decision["kept"] is False
    assert decision["validation_rmsle_with"] > decision["validation_rmsle_without"] * (
        1 - PHOTO_GAIN
    )
    assert "photos dropped" in decision["reason"]
    assert not any(isinstance(m, PhotoPrices) for m in model.members_)
    # the photo column is still accepted (and ignored) when pricing
    suggestion = model.suggest(listings.head(2))[0]
    assert suggestion.missing_attributes == ()


def test_save_and_load_give_the_same_prices(
    photo_model: PriceSuggester, driven: pd.DataFrame, held_out: pd.Index, tmp_path: Path
) -> None:
    loaded = PriceSuggester.load(photo_model.save(tmp_path / "model"))
    test = driven.loc[held_out]
    np.testing.assert_array_equal(loaded.predict_interval(test), photo_model.predict_interval(test))
    assert loaded.training_["photos"] == photo_model.training_["photos"]


def test_member_round_trips_through_arrays(
    photo_model: PriceSuggester, driven: pd.DataFrame
) -> None:
    member = next(m for m in photo_model.members_ if isinstance(m, PhotoPrices))
    meta, arrays = member.to_arrays()
    assert all(a.dtype != object for a in arrays.values())
    assert arrays["reference"].dtype == np.float32 and arrays["reference"].shape[1] <= 64
    restored = PhotoPrices.from_arrays(meta, arrays)
    sample = driven.head(20)
    np.testing.assert_array_equal(
        restored.predict(restored.encode(sample)), member.predict(member.encode(sample))
    )


def test_a_listing_without_a_photo_is_priced_and_says_so(
    photo_model: PriceSuggester, driven: pd.DataFrame, held_out: pd.Index
) -> None:
    test = driven.loc[held_out[:3]].copy()
    test["jpeg"] = [test["jpeg"].iloc[0], None, b""]
    suggestions = photo_model.suggest(test)
    assert [s.missing_attributes for s in suggestions] == [(), ("jpeg",), ("jpeg",)]
    no_column = photo_model.suggest(test.drop(columns="jpeg"))
    assert all(s.missing_attributes == ("jpeg",) for s in no_column)
    assert all(np.isfinite(s.price) and s.low <= s.price <= s.high for s in suggestions + no_column)
    # without a photo the answer falls back towards the catalog, not to any one type
    assert no_column[0].price != pytest.approx(suggestions[0].price)


def test_unknown_or_empty_photo_columns_are_refused(driven: pd.DataFrame) -> None:
    with pytest.raises(SchemaError, match=r"'photo'.*not in the listings"):
        PriceSuggester().fit(driven, photos="photo")
    with pytest.raises(DataError, match="Only 0 of 240 listings have a usable photo in 'jpeg'"):
        PriceSuggester().fit(driven.assign(jpeg=None), photos="jpeg")


def test_corrupt_photo_at_predict_names_the_row(
    photo_model: PriceSuggester, driven: pd.DataFrame, held_out: pd.Index
) -> None:
    test = driven.loc[held_out[:3]].copy()
    test["jpeg"] = [test["jpeg"].iloc[0], test["jpeg"].iloc[1][:200], test["jpeg"].iloc[2]]
    with pytest.raises(ImageError, match=r"'jpeg' photo of row 2 \(listing '\d+'\) is corrupt"):
        photo_model.predict(test)


def test_cli_fit_reports_the_photo_decision_and_suggest_reads_the_photos(
    driven: pd.DataFrame, held_out: pd.Index, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Photos as file paths beside a CSV, relative to it."""
    (tmp_path / "photos").mkdir()
    files = []
    for listing_id, jpeg in zip(driven["listing_id"], driven["jpeg"], strict=True):
        (tmp_path / "photos" / f"{listing_id}.jpg").write_bytes(jpeg)
        files.append(f"photos/{listing_id}.jpg")
    table = driven.drop(columns="jpeg").assign(photo=files)
    table.drop(index=held_out).to_csv(tmp_path / "train.csv", index=False)
    test = table.loc[held_out[:2]].drop(columns="price")
    test.assign(photo=[files[held_out[0]], ""]).to_csv(tmp_path / "ask.csv", index=False)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    fitted = runner.invoke(app, ["price", "fit", "train.csv", "--photos", "photo", "--model", "m"])
    assert fitted.exit_code == 0, fitted.output
    report = json.loads(fitted.stdout)["photos"]
    assert report["kept"] is True
    assert report["validation_rmsle_with"] < report["validation_rmsle_without"]

    asked = runner.invoke(app, ["price", "suggest", "--model", "m", "ask.csv"])
    assert asked.exit_code == 0, asked.output
    suggestions = json.loads(asked.stdout)["suggestions"]
    assert [s.get("missing_attributes", []) for s in suggestions] == [[], ["photo"]]

    unknown = runner.invoke(app, ["price", "fit", "train.csv", "--photos", "jpeg"])
    assert unknown.exit_code != 0 and "'jpeg' is not a column of 'train.csv'" in unknown.output


def test_the_price_endpoint_reads_a_base64_photo_and_never_a_path(
    photo_model: PriceSuggester, driven: pd.DataFrame, held_out: pd.Index
) -> None:
    import base64

    from pydantic import ValidationError

    from furima.serve._task_price import PRICE_TASK, PriceRequest

    listing = driven.loc[held_out[0]]
    jpeg = base64.b64encode(listing["jpeg"]).decode()
    bodies = [
        {"name": listing["name"], "photo": jpeg},
        {"name": listing["name"]},
        {"name": listing["name"], "attributes": {"jpeg": str(FIXTURES / "flipkart_150.jsonl")}},
    ]
    with_photo, without, path_given = PRICE_TASK.predict(
        photo_model, [PriceRequest.model_validate(b) for b in bodies]
    )
    (direct,) = photo_model.suggest(driven.loc[[held_out[0]]])
    assert with_photo["price"] == pytest.approx(direct.price)
    assert "missing_attributes" not in with_photo
    assert without["missing_attributes"] == ["jpeg"] == path_given["missing_attributes"]
    assert path_given["price"] == pytest.approx(without["price"])  # the path was not opened
    with pytest.raises(ValidationError, match="Base64"):
        PriceRequest.model_validate({"name": "x", "photo": "not base64 !"})
    text = base64.b64encode(b"plain words, not a photo").decode()
    with pytest.raises(ValidationError, match="not an image furima can read"):
        PriceRequest.model_validate({"name": "x", "photo": text})


def test_the_listing_assistant_shows_its_photo_to_a_price_model_that_reads_photos(
    photo_model: PriceSuggester, photos: pd.DataFrame
) -> None:
    from furima.listing import ListingAssistant
    from furima.listing._requests import Query

    assistant = ListingAssistant.__new__(ListingAssistant)
    assistant.price_model_ = photo_model
    assistant.fields_ = type("Fields", (), {"category": (), "brand": None, "attributes": ()})()
    jpeg = photos["jpeg"].iloc[0]
    draft = assistant._draft_listing(Query(jpeg, "a bag", None, None), [], None)
    assert draft["jpeg"].tolist() == [jpeg]
    assert photo_model.suggest(draft)[0].missing_attributes == ()
