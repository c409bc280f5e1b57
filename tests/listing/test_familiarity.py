"""PhotoFamiliarity: photos unlike the catalog's, told apart on the encoder's own features."""

from __future__ import annotations

import numpy as np
import pandas as pd

from furima.features import PhotoEncoder
from furima.listing import ListingAssistant, PhotoFamiliarity

CENTRES = np.random.default_rng(42).random((5, 32)) ** 4  # 5 product-like photo types


def _clusters(rng: np.random.Generator, n: int) -> np.ndarray:
    """Non-negative rows (like the encoder's) around the product types."""
    return np.abs(CENTRES[rng.integers(0, 5, n)] + rng.normal(0, 0.03, (n, 32)))


def test_the_threshold_is_the_catalogs_own_leave_one_out_quantile() -> None:
    photos = _clusters(np.random.default_rng(0), 300)
    familiarity = PhotoFamiliarity.fit(photos, sample=100, quantile=0.05, seed=1)
    unit = familiarity.reference.astype(np.float32)
    similarity = unit @ unit.T
    np.fill_diagonal(similarity, -np.inf)
    assert familiarity.reference.shape == (100, 32)
    assert np.isclose(familiarity.threshold, np.quantile(similarity.max(axis=1), 0.05))
    assert np.allclose(np.linalg.norm(unit, axis=1), 1.0, atol=1e-3)


def test_new_photos_of_the_same_products_are_familiar_and_others_are_not() -> None:
    rng = np.random.default_rng(0)
    catalog = _clusters(rng, 500)
    familiarity = PhotoFamiliarity.fit(catalog, sample=200, seed=0)
    unseen = _clusters(rng, 100)
    unrelated = rng.random((20, 32))
    assert familiarity.familiar(unseen).mean() >= 0.96
    assert not familiarity.familiar(unrelated).any()
    assert familiarity.scores(unrelated).max() < familiarity.threshold


def test_a_tiny_catalog_finds_every_photo_familiar() -> None:
    familiarity = PhotoFamiliarity.fit(np.random.default_rng(0).random((19, 8)))
    assert familiarity.threshold == -1.0
    assert familiarity.reference.shape == (0, 8)
    assert familiarity.familiar(np.zeros((3, 8))).all()


def test_noise_and_blank_photos_are_unfamiliar_to_a_real_catalog_in_both_poolings(
    photo_catalog: pd.DataFrame, unseen: pd.DataFrame, assistant: ListingAssistant
) -> None:
    from PIL import Image

    rng = np.random.default_rng(0)
    odd = [Image.fromarray(rng.integers(0, 256, (80, 60, 3), dtype=np.uint8)) for _ in range(3)]
    odd += [Image.new("RGB", (60, 80), colour) for colour in ("white", "black", (200, 30, 30))]
    catalog = photo_catalog[~photo_catalog["id"].isin(unseen["id"])]
    for pooling in ("average", "multiscale"):
        encoder = PhotoEncoder(pooling=pooling)
        familiarity = PhotoFamiliarity.fit(encoder.encode(catalog["jpeg"].tolist()))
        assert familiarity.familiar(encoder.encode(unseen["jpeg"].tolist())).all(), pooling
        assert not familiarity.familiar(encoder.encode(odd)).any(), pooling
    assert assistant.familiarity_.threshold > 0.5  # the fitted assistant (average pooling)
