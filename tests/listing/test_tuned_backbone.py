"""A listing assistant on a tuned photo backbone calibrates on the photos tuning held out,
and keeps the backbone (alone or joined to the stock features, mirror averaging included)
through save and load."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from furima.features import PhotoTuning, tune_photo_backbone
from furima.listing import AttributeClassifier, ListingAssistant, ListingFields

QUICK_TUNING = PhotoTuning(epochs=1, batch_size=8, image_size=64, device="cpu")  # on a GPU too


@pytest.fixture(scope="module")
def two_kinds(photo_catalog: pd.DataFrame) -> pd.DataFrame:
    """Watches and T-shirts: 60 listings."""
    chosen = photo_catalog["article_type"].isin(["Watches", "Tshirts"])
    return photo_catalog[chosen].reset_index(drop=True)


@pytest.fixture(scope="module")
def backbone(two_kinds: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Tuned on listings 20-59; listings 0-19 held out as validation."""
    folder = tmp_path_factory.mktemp("tuned") / "backbone"
    held, rest = two_kinds.iloc[:20], two_kinds.iloc[20:]
    tune_photo_backbone(
        rest["jpeg"].tolist(),
        {"article_type": rest["article_type"].tolist()},
        folder,
        settings=QUICK_TUNING,
        validation=(held["jpeg"].tolist(), {"article_type": held["article_type"].tolist()}),
    )
    return folder


def _fit(
    catalog: pd.DataFrame, backbone: Path, pooling: str = "auto", mirror: bool = False
) -> ListingAssistant:
    quick = AttributeClassifier(hidden=32, epochs=2, members=1)
    assistant = ListingAssistant(
        classifier=quick,
        train_embedder=False,
        photo_backbone=backbone,
        photo_pooling=pooling,
        photo_mirror=mirror,
    )
    return assistant.fit(catalog, fields=ListingFields.myntra_photos())


def test_confidences_are_calibrated_on_the_photos_tuning_held_out(
    two_kinds: pd.DataFrame, backbone: Path
) -> None:
    assistant = _fit(two_kinds, backbone)
    assert assistant.classifier_.calibration_["article_type"]["photo"]["rows"] == 20


def test_too_few_held_out_photos_warn_and_fall_back_to_a_random_split(
    two_kinds: pd.DataFrame, backbone: Path
) -> None:
    with pytest.warns(UserWarning, match="held out 10 of these 50 listings' photos"):
        assistant = _fit(two_kinds.iloc[10:], backbone)
    assert assistant.classifier_.calibration_["article_type"]["photo"]["rows"] == 5


def test_multiscale_joined_to_the_tuned_backbone_is_kept_through_save_and_load(
    two_kinds: pd.DataFrame, backbone: Path, tmp_path: Path
) -> None:
    assistant = _fit(two_kinds, backbone, pooling="multiscale", mirror=True)
    assert assistant.classifier_.calibration_["article_type"]["photo"]["rows"] == 20
    loaded = ListingAssistant.load(assistant.save(tmp_path / "assistant"))
    encoder = loaded.encoders.photo
    assert (encoder.dim, encoder.name) == (7456, assistant.encoders.photo.name)
    assert encoder.name.startswith("efficientnet-lite0-multiscale+tuned-")
    assert encoder.name.endswith("+mirror") and loaded.photo_mirror
    photo = two_kinds["jpeg"].iloc[0]
    assert loaded.suggest(photo=photo).to_dict() == assistant.suggest(photo=photo).to_dict()
