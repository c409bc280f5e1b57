"""Tuning the photo backbone on labels, and running the tuned backbone on CPU."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from furima.exceptions import DataError, ImageError, ModelFormatError
from furima.features import PhotoEncoder, PhotoTuning, tune_photo_backbone

# Small and fast: 64-pixel inputs, a few steps on CPU (also where a GPU is seen: its bf16 steps
# and random streams differ, and the accuracy asserted below is for these CPU steps).
QUICK = PhotoTuning(epochs=3, batch_size=8, image_size=64, learning_rate=2e-3, device="cpu")


@pytest.fixture(scope="module")
def two_kinds(myntra_photos: pd.DataFrame) -> pd.DataFrame:
    """Watches and T-shirts: 30 photos each, easy to tell apart."""
    chosen = myntra_photos[myntra_photos["article_type"].isin(["Watches", "Tshirts"])]
    return chosen.reset_index(drop=True)


@pytest.fixture(scope="module")
def tuned(two_kinds: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    held = two_kinds.groupby("article_type").head(4).index
    train = two_kinds.drop(held)
    folder = tmp_path_factory.mktemp("backbone") / "tuned"
    tune_photo_backbone(
        train["jpeg"].tolist(),
        {"article_type": train["article_type"].tolist(), "gender": train["gender"].tolist()},
        folder,
        settings=QUICK,
        validation=(
            two_kinds.loc[held, "jpeg"].tolist(),
            {
                "article_type": two_kinds.loc[held, "article_type"].tolist(),
                "gender": two_kinds.loc[held, "gender"].tolist(),
            },
        ),
    )
    return folder


def test_tuning_writes_a_backbone_with_its_manifest_and_held_out_accuracy(tuned: Path) -> None:
    manifest = json.loads((tuned / "manifest.json").read_text())
    assert sorted(path.name for path in tuned.iterdir()) == ["backbone.onnx", "manifest.json"]
    assert manifest["format"] == "furima.photo_backbone"
    assert manifest["labels"]["article_type"] == ["Tshirts", "Watches"]
    assert manifest["rows"] == 52
    assert manifest["image_size"] == 64
    assert manifest["device"] == "cpu"
    # 8 held-out photos of two very different kinds: the trained head tells them apart.
    assert manifest["validation_top1"]["article_type"] >= 0.875


def test_the_tuned_backbone_runs_in_the_photo_encoder(tuned: Path, two_kinds: pd.DataFrame) -> None:
    encoder = PhotoEncoder(backbone=tuned, threads=2)
    photos = two_kinds["jpeg"].tolist()[:6]
    features = encoder.encode(photos)
    stock = PhotoEncoder(image_size=64, threads=2).encode(photos)

    assert encoder.image_size == 64
    assert encoder.name.startswith("efficientnet-lite0-tuned-")
    assert features.shape == (6, 1280)
    np.testing.assert_allclose(np.linalg.norm(features, axis=1), 1.0, rtol=1e-5)
    assert np.abs(features - stock).max() > 0.01  # the weights did change


def test_multiscale_with_a_tuned_backbone_joins_the_stock_features_to_the_tuned_ones(
    tuned: Path, two_kinds: pd.DataFrame
) -> None:
    joined = PhotoEncoder(backbone=tuned, pooling="multiscale", threads=2)
    photos = two_kinds["jpeg"].tolist()[:5]
    features = joined.encode(photos)
    stock = PhotoEncoder(pooling="multiscale", threads=2).encode(photos)
    tuned_only = PhotoEncoder(backbone=tuned, threads=2).encode(photos)

    assert joined.dim == 7456 and features.shape == (5, 7456)
    assert joined.name.startswith("efficientnet-lite0-multiscale+tuned-")
    assert joined.image_size == 64  # the tuned half; the stock half runs at 224
    assert joined.held_out_photos == PhotoEncoder(backbone=tuned).held_out_photos != frozenset()
    np.testing.assert_allclose(features[:, :6176], stock / np.sqrt(2), atol=1e-5)
    np.testing.assert_allclose(features[:, 6176:], tuned_only / np.sqrt(2), atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(features, axis=1), 1.0, rtol=1e-5)


def test_on_a_cpu_photos_are_tuned_near_their_own_size(
    two_kinds: pd.DataFrame, tmp_path: Path
) -> None:
    photos = two_kinds["jpeg"].tolist()[:16]  # 60x80 pixels
    manifest = tune_photo_backbone(
        photos,
        {"article_type": two_kinds["article_type"].tolist()[:16]},
        tmp_path / "auto",
        settings=PhotoTuning(epochs=1, batch_size=8, device="cpu"),
    )
    assert (manifest["image_size"], manifest["settings"]["image_size"]) == (96, 96)
    assert PhotoEncoder(backbone=tmp_path / "auto").image_size == 96


def test_the_automatic_device_is_a_seen_gpu_and_the_size_224_there_else_within_64_to_224(
    two_kinds: pd.DataFrame,
) -> None:
    import torch
    from PIL import Image

    from furima.features._photo_tuning import _resolved

    photos = two_kinds["jpeg"].tolist()
    _, size, device = _resolved(PhotoTuning(), photos)
    assert (device, size) == (("cuda", 224) if torch.cuda.is_available() else ("cpu", 96))
    large, tiny = Image.new("RGB", (1200, 900)), Image.new("RGB", (20, 30))
    assert _resolved(PhotoTuning(device="cuda"), photos)[1] == 224
    assert _resolved(PhotoTuning(device="cpu"), photos)[1] == 96
    assert _resolved(PhotoTuning(device="cpu"), [large] * 3)[1] == 224
    assert _resolved(PhotoTuning(device="cpu"), [tiny] * 3)[1] == 64
    assert _resolved(PhotoTuning(device="cpu", image_size=128), [tiny])[1] == 128
    with pytest.raises(ImageError, match="photo 0 is not an image"):
        _resolved(PhotoTuning(device="cpu"), [b"not a photo"])


def test_a_folder_that_is_not_a_backbone_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelFormatError, match="not a tuned furima photo backbone"):
        PhotoEncoder(backbone=tmp_path)


def test_a_damaged_backbone_is_refused(tuned: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(tuned, copy)
    (copy / "backbone.onnx").write_bytes(b"truncated")
    with pytest.raises(ModelFormatError, match="does not match its checksum"):
        PhotoEncoder(backbone=copy)


def test_labels_must_match_the_photos_and_hold_two_classes(
    two_kinds: pd.DataFrame, tmp_path: Path
) -> None:
    photos = two_kinds["jpeg"].tolist()[:4]
    with pytest.raises(DataError, match="has 3 values for 4 photos"):
        tune_photo_backbone(photos, {"article_type": ["a", "b", "a"]}, tmp_path / "x")
    with pytest.raises(DataError, match="needs at least 2"):
        tune_photo_backbone(photos, {"gender": ["Men", "Men", None, ""]}, tmp_path / "x")
    with pytest.raises(DataError, match="at least one label column"):
        tune_photo_backbone(photos, {}, tmp_path / "x")
    with pytest.raises(DataError, match="at least 2 photos, got 0"):
        tune_photo_backbone([], {"article_type": []}, tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_a_broken_photo_is_named_and_nothing_is_written(
    two_kinds: pd.DataFrame, tmp_path: Path
) -> None:
    from furima.exceptions import ImageError

    photos = [*two_kinds["jpeg"].tolist()[:3], b"not a photo"]
    with pytest.raises(ImageError, match="photo 3"):
        tune_photo_backbone(photos, {"kind": ["a", "b", "a", "b"]}, tmp_path / "x", settings=QUICK)
    assert list(tmp_path.iterdir()) == []


def test_a_saved_pool_carries_its_tuned_backbone(
    tuned: Path, two_kinds: pd.DataFrame, tmp_path: Path
) -> None:
    from furima.search import PoolColumns, SimilarSearch

    backbone = tmp_path / "backbone"
    shutil.copytree(tuned, backbone)
    listings = two_kinds.iloc[:12]
    search = SimilarSearch.build(
        listings,
        columns=PoolColumns(photo="jpeg"),
        train_embedder=False,
        photo_encoder=PhotoEncoder(backbone=backbone),
    )
    search.save(tmp_path / "pool")
    shutil.rmtree(backbone)  # the saved pool must not depend on the original folder

    loaded = SimilarSearch.load(tmp_path / "pool")
    found = loaded.similar(photos=[listings["jpeg"].iloc[5]], k=1)

    assert loaded.photo_encoder.name == search.photo_encoder.name
    assert found.ids[0][0] == listings["id"].iloc[5]


def test_an_encoder_keeps_the_backbone_it_loaded(
    tuned: Path, two_kinds: pd.DataFrame, tmp_path: Path
) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(tuned, copy)
    encoder = PhotoEncoder(backbone=copy, threads=2)
    shutil.rmtree(copy)  # e.g. replaced by a newer tuning before the first photo
    photo = two_kinds["jpeg"].iloc[0]
    expected = PhotoEncoder(backbone=tuned, threads=2).encode([photo])
    np.testing.assert_allclose(encoder.encode([photo]), expected, atol=1e-6)
