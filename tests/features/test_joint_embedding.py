"""PhotoTextEmbedder on synthetic pairs with a known link, and on real photo/title pairs."""

from __future__ import annotations

import numpy as np
import pytest

from furima.exceptions import DataError, NotFittedError
from furima.features import PhotoTextEmbedder


def linked_pairs(n: int = 600, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Photos and texts generated from one latent per item; 6 product types."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 6, n)
    centres = rng.normal(size=(6, 16)) * 2
    latent = centres[labels] + rng.normal(size=(n, 16))
    photos = np.tanh(latent @ rng.normal(size=(16, 64))) + 0.1 * rng.normal(size=(n, 64))
    texts = latent @ rng.normal(size=(16, 24)) + 0.1 * rng.normal(size=(n, 24))
    return photos.astype(np.float32), texts.astype(np.float32), labels


def recall_at(k: int, texts: np.ndarray, photos: np.ndarray) -> float:
    ranks = np.argsort(-(texts @ photos.T), axis=1)[:, :k]
    return float((ranks == np.arange(len(texts))[:, None]).any(axis=1).mean())


def fitted(**params: object) -> tuple[PhotoTextEmbedder, tuple[np.ndarray, ...]]:
    photos, texts, labels = linked_pairs()
    settings = {"dim": 16, "hidden": 64, "epochs": 40, "batch_size": 128, **params}
    model = PhotoTextEmbedder(**settings).fit(photos[:500], texts[:500], labels[:500].tolist())
    return model, (photos[500:], texts[500:], labels[500:])


def test_text_finds_its_photo_on_held_out_pairs() -> None:
    model, (photos, texts, _) = fitted()
    found = recall_at(5, model.transform_texts(texts), model.transform_photos(photos))
    assert found > 0.5  # chance is 0.05
    assert model.history_[-1] < model.history_[0]


def test_label_loss_groups_photos_by_type() -> None:
    model, (photos, _, labels) = fitted(label_weight=1.0)
    embedded = model.transform_photos(photos)
    similarity = embedded @ embedded.T
    np.fill_diagonal(similarity, -np.inf)
    nearest = np.argsort(-similarity, axis=1)[:, :5]
    assert float((labels[nearest] == labels[:, None]).mean()) > 0.8
    assert model.classes_ == ["0", "1", "2", "3", "4", "5"]


def test_outputs_are_unit_rows_in_the_shared_width() -> None:
    model, (photos, texts, _) = fitted(epochs=2)
    for rows in (model.transform_photos(photos), model.transform_texts(texts)):
        assert rows.shape == (100, 16)
        np.testing.assert_allclose(np.linalg.norm(rows, axis=1), 1.0, rtol=1e-5)


def test_state_round_trip_gives_identical_embeddings() -> None:
    model, (photos, texts, _) = fitted(epochs=2)
    again = PhotoTextEmbedder.from_state(model.get_state(), **model.get_params())
    np.testing.assert_array_equal(again.transform_photos(photos), model.transform_photos(photos))
    np.testing.assert_array_equal(again.transform_texts(texts), model.transform_texts(texts))
    assert again.classes_ == model.classes_


def test_same_seed_same_model() -> None:
    first, (photos, _, _) = fitted(epochs=2)
    second, _ = fitted(epochs=2)
    np.testing.assert_allclose(first.transform_photos(photos), second.transform_photos(photos))


def test_errors_name_the_problem() -> None:
    photos, texts, labels = linked_pairs(10)
    with pytest.raises(NotFittedError, match="call fit"):
        PhotoTextEmbedder().transform_photos(photos)
    with pytest.raises(DataError, match="got 10 photo rows and 9 text rows"):
        PhotoTextEmbedder().fit(photos, texts[:9])
    with pytest.raises(DataError, match="labels must have one entry per listing"):
        PhotoTextEmbedder().fit(photos, texts, labels[:3].tolist())
    bad = photos.copy()
    bad[0, 0] = np.nan
    with pytest.raises(DataError, match="NaN"):
        PhotoTextEmbedder().fit(bad, texts)
    model = PhotoTextEmbedder(dim=8, hidden=16, epochs=1).fit(photos, texts)
    with pytest.raises(DataError, match="must have 64 columns"):
        model.transform_photos(photos[:, :10])
