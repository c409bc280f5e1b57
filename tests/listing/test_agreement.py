"""Neighbour agreement: nearest catalog photos, their features, and re-estimated confidences."""

from __future__ import annotations

import numpy as np
import pytest

from furima.listing import AttributeClassifier
from furima.listing._agreement import (
    AgreementModel,
    CatalogNeighbours,
    agreement_features,
    neighbour_votes,
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


def test_votes_weigh_the_nearest_most_and_lean_on_the_catalog_shares() -> None:
    votes = neighbour_votes(
        np.array([[0, 1, -1], [2, 2, 2]]),  # -1: a neighbour without a value
        np.array([[0.9, 0.9, 0.9], [0.9, 0.8, 0.7]]),
        prior=np.array([0.5, 0.25, 0.25]),
    )
    np.testing.assert_allclose(votes[0], [1.5 / 4, 1.25 / 4, 0.25 / 4])
    weights = np.exp(30 * np.array([0.0, -0.1, -0.2]))
    np.testing.assert_allclose(
        votes[1], np.array([0.5, 0.25, 0.25 + weights.sum()]) / (weights.sum() + 1)
    )
    np.testing.assert_allclose(votes.sum(axis=1), [0.75, 1.0])  # a blank neighbour: no vote


def test_an_agreement_model_mixes_in_the_votes_and_needs_enough_rows() -> None:
    rng = np.random.default_rng(0)
    rows = 400
    labels = rng.integers(0, 3, rows)
    probabilities = np.full((rows, 3), 1 / 3)  # the classifier knows nothing
    neighbour_codes = np.where(rng.random((rows, 10)) < 0.7, labels[:, None], 0)  # they do
    similarity = np.sort(rng.uniform(0.5, 1.0, (rows, 10)), axis=1)[:, ::-1]
    votes = neighbour_votes(neighbour_codes, similarity, np.full(3, 1 / 3))
    fitted = AgreementModel.fit(probabilities, votes, labels, neighbour_codes, similarity)
    assert fitted is not None
    model, held_out, correct = fitted
    assert model.mix[1] > 0.5  # the votes carry the answer
    assert correct.mean() > 0.8 and held_out.shape == (rows,)
    mixed = model.apply(probabilities, votes, neighbour_codes, similarity)
    assert np.mean(mixed.argmax(axis=1) == labels) == pytest.approx(correct.mean())
    assert mixed[correct == 1].max(axis=1).mean() > mixed[correct == 0].max(axis=1).mean()
    restored = AgreementModel.from_list(model.to_list())
    np.testing.assert_allclose(
        restored.apply(probabilities, votes, neighbour_codes, similarity), mixed
    )
    few = [a[:50] for a in (probabilities, votes, labels, neighbour_codes, similarity)]
    assert AgreementModel.fit(*few) is None
    sure = np.where(np.eye(3)[labels] == 1, 0.9, 0.05)  # a classifier that names the labels
    nearly_all_right = np.where(np.arange(rows) < 3, (labels + 1) % 3, labels)
    lonely = [sure, np.full_like(votes, 1 / 3), nearly_all_right, neighbour_codes, similarity]
    assert AgreementModel.fit(*lonely) is None  # 3 wrong: fewer than the 5 folds
    with pytest.raises(ValueError, match="has 9 coefficients"):
        AgreementModel.from_list([0.0, 1.0])


def _copies_of_products(products: int = 600, copies: int = 3, seed: int = 0) -> tuple:
    """Each product photographed ``copies`` times (its photo plus a little noise); its type
    shows only weakly in the photo, so the copies tell more than the classifier learns."""
    rng = np.random.default_rng(seed)
    base = np.repeat(rng.normal(0, 1, (products, 16)).astype(np.float32), copies, axis=0)
    photos = base + rng.normal(0, 0.05, base.shape).astype(np.float32)
    kind = np.repeat(rng.integers(0, 4, products), copies)
    relabelled = rng.random(len(kind)) < 0.1  # labels are not always consistent
    kind[relabelled] = rng.integers(0, 4, relabelled.sum())
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
    assert with_agreement[2] > without[2] + 0.1  # the copies' votes name the type
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
