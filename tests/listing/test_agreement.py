"""Neighbour agreement: nearest catalog photos, their features, and re-estimated confidences."""

from __future__ import annotations

import numpy as np
import pytest

from furima.listing import AttributeClassifier
from furima.listing._agreement import (
    AgreementModel,
    CatalogNeighbours,
    agreement_features,
    with_top_confidence,
)


def test_the_nearest_photos_leave_each_row_itself_out() -> None:
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(30, 8)).astype(np.float32)
    vectors[29] = vectors[0] * 2  # a copy of photo 0 (another size: the same direction)
    neighbours = CatalogNeighbours.of(vectors, np.arange(30)[:, None])
    positions, similarity = neighbours.search(vectors[[0, 5]], own=np.array([0, 5]))
    assert positions.shape == similarity.shape == (2, 10)
    assert positions[0, 0] == 29 and similarity[0, 0] == pytest.approx(1.0, abs=1e-3)
    assert 0 not in positions[0] and 5 not in positions[1]
    assert np.all(np.diff(similarity, axis=1) <= 1e-6)  # nearest first
    found, _ = neighbours.search(vectors[[0]])
    assert set(found[0, :2]) == {0, 29}  # a new photo may match any catalog photo


def test_agreement_features_on_known_rows() -> None:
    features = agreement_features(
        confidence=np.array([0.5, 0.9]),
        predicted=np.array([1, 2]),
        neighbour_codes=np.array([[1, 1, 0], [0, 2, 2]]),
        similarity=np.array([[0.9, 0.8, 0.7], [0.95, 0.9, 0.5]]),
    )
    weights = np.exp(10 * (np.array([[0.9, 0.8, 0.7], [0.95, 0.9, 0.5]]) - [[0.9], [0.95]]))
    share = [weights[0, :2].sum() / weights[0].sum(), weights[1, 1:].sum() / weights[1].sum()]
    np.testing.assert_allclose(features[:, 0], [0.0, np.log(9)], atol=1e-9)  # logit
    np.testing.assert_allclose(features[:, 1], [1, 0])  # the nearest agrees
    np.testing.assert_allclose(features[:, 2], [0.9, 0.95])
    np.testing.assert_allclose(features[:, 3], share)
    np.testing.assert_allclose(features[:, 4], [0.9, 0.0])
    np.testing.assert_allclose(features[:, 5], [0.0, share[1] * np.log(9)])


def test_a_new_top_confidence_keeps_the_ranking_and_the_total() -> None:
    probabilities = np.array([[0.5, 0.3, 0.2], [0.2, 0.6, 0.2], [0.5, 0.2, 0.1]])
    result = with_top_confidence(probabilities, np.array([0.8, 0.3, 0.95]))
    np.testing.assert_allclose(result[0], [0.8, 0.12, 0.08])  # raised: the others give way
    np.testing.assert_allclose(result[1], [0.1, 0.3, 0.1])  # lowered: the whole row halves
    np.testing.assert_allclose(result[2], [0.8, 0.0, 0.0], atol=1e-12)  # at most the row's total
    assert (result.argmax(axis=1) == probabilities.argmax(axis=1)).all()


def test_an_agreement_model_needs_enough_rows_and_both_outcomes() -> None:
    rng = np.random.default_rng(0)
    features = rng.normal(size=(200, 6))
    assert AgreementModel.fit(features[:50], (features[:50, 0] > 0).astype(float)) is None
    assert AgreementModel.fit(features, np.ones(200)) is None
    model = AgreementModel.fit(features, (features[:, 0] > 0).astype(float))
    assert model is not None and model.coefficients[1] > 1  # learns the informative feature
    restored = AgreementModel.from_list(model.to_list())
    np.testing.assert_allclose(restored.confidence(features), model.confidence(features))
    with pytest.raises(ValueError, match="has 7 coefficients"):
        AgreementModel.from_list([0.0, 1.0])


def _copies_of_products(products: int = 600, copies: int = 3, seed: int = 0) -> tuple:
    """Each product photographed ``copies`` times (its photo plus a little noise); its type
    shows only weakly in the photo, so the copies tell more than the classifier can."""
    rng = np.random.default_rng(seed)
    base = np.repeat(rng.normal(0, 1, (products, 16)).astype(np.float32), copies, axis=0)
    photos = base + rng.normal(0, 0.05, base.shape).astype(np.float32)
    kind = np.repeat(rng.integers(0, 4, products), copies)
    photos[np.arange(len(kind)), kind] += 1.0
    return photos, {"kind": np.array(["shoe", "shirt", "bag", "watch"])[kind].astype(object)}


def test_agreeing_neighbours_fill_more_fields_at_the_same_precision() -> None:
    photos, labels = _copies_of_products()
    rng = np.random.default_rng(5)
    new_photos = photos[::3] + rng.normal(0, 0.05, photos[::3].shape).astype(np.float32)
    truth = labels["kind"][::3]
    outcomes = {}
    for agreement in (True, False):
        model = AttributeClassifier(hidden=64, epochs=40, neighbour_agreement=agreement)
        model.fit(labels, photos=photos)
        probabilities, _ = model.predict_proba(photos=new_photos)
        filled = probabilities["kind"].max(axis=1) >= model.threshold("kind", "photo")
        right = model.predict(photos=new_photos)["kind"] == truth
        outcomes[agreement] = (filled.mean(), right[filled].mean(), right.mean(), model)
    with_agreement, without = outcomes[True], outcomes[False]
    assert without[0] < 0.05  # the photo alone is rarely sure
    assert with_agreement[0] > 0.4 and with_agreement[1] >= 0.95
    assert with_agreement[2] == without[2]  # the same predictions, other confidences
    model = with_agreement[3]
    held = model.calibration_["kind"]["photo"]
    assert held["ece"] < held["ece_temperature"] / 2
    restored = AttributeClassifier.from_state(*model.get_state(), model.get_params())
    np.testing.assert_allclose(
        restored.predict_proba(photos=new_photos)[0]["kind"],
        model.predict_proba(photos=new_photos)[0]["kind"],
        rtol=1e-5,
    )
    assert without[3].neighbours_ is None and "neighbour_vectors" not in without[3].get_state()[0]
    # saved before neighbour agreement: loads, with the calibrated confidences alone
    arrays, learned = model.get_state()
    old = AttributeClassifier.from_state(
        {name: a for name, a in arrays.items() if not name.startswith("neighbour_")},
        {name: value for name, value in learned.items() if name != "agreement"},
        model.get_params(),
    )
    np.testing.assert_allclose(
        old.predict_proba(photos=new_photos)[0]["kind"],
        without[3].predict_proba(photos=new_photos)[0]["kind"],
        rtol=1e-5,
    )
