"""AttributeClassifier on synthetic features with known structure."""

from __future__ import annotations

import numpy as np
import pytest

from furima.exceptions import DataError, NotFittedError
from furima.listing import MODES, AttributeClassifier


def _data(rows: int = 600, seed: int = 0) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Photo features encode the type (4 classes); text features encode the colour (3)."""
    rng = np.random.default_rng(seed)
    kind = rng.integers(0, 4, rows)
    colour = rng.integers(0, 3, rows)
    photos = rng.normal(0, 1, (rows, 16)).astype(np.float32)
    photos[np.arange(rows), kind] += 4.0
    texts = rng.normal(0, 0.05, (rows, 8)).astype(np.float32)
    texts[np.arange(rows), colour] += 1.0
    texts /= np.linalg.norm(texts, axis=1, keepdims=True)
    names = np.array(["shoe", "shirt", "bag", "watch"])[kind].astype(object)
    colours = np.array(["red", "blue", "black"])[colour].astype(object)
    return photos, texts, {"kind": names, "colour": colours}


@pytest.fixture(scope="module")
def fitted() -> AttributeClassifier:
    photos, texts, labels = _data()
    return AttributeClassifier(hidden=64, epochs=40, seed=0).fit(labels, photos=photos, texts=texts)


def test_each_field_is_learned_from_the_input_that_carries_it(fitted: AttributeClassifier) -> None:
    photos, texts, labels = _data(rows=300, seed=1)
    from_photo = fitted.predict(photos=photos)
    from_text = fitted.predict(texts=texts)
    from_both = fitted.predict(photos=photos, texts=texts)
    assert np.mean(from_photo["kind"] == labels["kind"]) > 0.95
    assert np.mean(from_text["colour"] == labels["colour"]) > 0.95
    assert np.mean(from_both["kind"] == labels["kind"]) > 0.95
    assert np.mean(from_both["colour"] == labels["colour"]) > 0.95
    # the photo says nothing about colour: close to chance (1/3), and not confident
    probabilities, modes = fitted.predict_proba(photos=photos)
    assert np.mean(from_photo["colour"] == labels["colour"]) < 0.5
    assert probabilities["colour"].max(axis=1).mean() < 0.6
    assert set(modes) == {"photo"}


def test_probabilities_have_one_column_per_class_and_sum_to_one(
    fitted: AttributeClassifier,
) -> None:
    photos, texts, _ = _data(rows=10, seed=2)
    probabilities, modes = fitted.predict_proba(
        photos=photos, texts=texts, has_text=np.arange(10) % 2 == 0
    )
    assert probabilities["kind"].shape == (10, 4)
    assert probabilities["colour"].shape == (10, 3)
    np.testing.assert_allclose(probabilities["kind"].sum(axis=1), 1.0, rtol=1e-5)
    assert modes[:2] == ["photo+text", "photo"]
    assert fitted.classes_["kind"].tolist() == ["bag", "shirt", "shoe", "watch"]


def test_calibration_is_measured_per_field_and_mode(fitted: AttributeClassifier) -> None:
    assert set(fitted.calibration_["kind"]) == set(MODES)
    photo = fitted.calibration_["kind"]["photo"]
    assert photo["rows"] == 60  # the 10% held out
    assert photo["accuracy"] > 0.9
    assert 0 <= photo["ece"] < 0.1
    assert 0 <= fitted.threshold("kind", "photo") <= 1
    # one threshold for every field; colour from a photo alone is near chance, so it is
    # rarely filled even though the type is easy (never below 0.5)
    assert fitted.threshold("colour", "photo") == fitted.threshold("kind", "photo") >= 0.5
    assert fitted.calibration_["colour"]["photo"]["filled"] < 0.1
    per_field = AttributeClassifier(hidden=64, epochs=40, per_field_thresholds=True)
    per_field.fit(_data()[2], photos=_data()[0], texts=_data()[1])
    assert per_field.threshold("colour", "photo") == 0.95
    assert per_field.threshold("kind", "photo") < 0.95


def test_state_round_trip_predicts_the_same(fitted: AttributeClassifier) -> None:
    arrays, learned = fitted.get_state()
    again = AttributeClassifier.from_state(arrays, learned, fitted.get_params())
    photos, texts, _ = _data(rows=20, seed=3)
    first, _ = fitted.predict_proba(photos=photos, texts=texts)
    second, _ = again.predict_proba(photos=photos, texts=texts)
    np.testing.assert_allclose(first["kind"], second["kind"], rtol=1e-6)


def test_members_train_side_by_side_to_the_same_weights_as_one_at_a_time() -> None:
    photos, texts, labels = _data(rows=200)

    def weights(threads: int) -> list[dict[str, np.ndarray]]:
        model = AttributeClassifier(hidden=32, epochs=3, members=3, seed=5, threads=threads)
        return model.fit(labels, photos=photos, texts=texts).weights_

    one_at_a_time, side_by_side = weights(1), weights(3)
    assert len(side_by_side) == 3
    for alone, together in zip(one_at_a_time, side_by_side, strict=True):
        for name in ("w1", "b1", "w2", "b2"):
            np.testing.assert_array_equal(alone[name], together[name])
    # each member starts from its own seed
    assert not np.allclose(side_by_side[0]["w1"], side_by_side[1]["w1"])


def test_calibration_rows_can_be_chosen() -> None:
    photos, texts, labels = _data(rows=200)
    chosen = np.arange(150, 200)
    model = AttributeClassifier(hidden=32, epochs=3)
    model.fit(labels, photos=photos, texts=texts, calibration_rows=chosen)
    assert model.calibration_["kind"]["photo"]["rows"] == 50
    with pytest.raises(DataError, match=r"row positions in \[0, 200\)"):
        model.fit(labels, photos=photos, calibration_rows=np.array([5, 200]))
    with pytest.raises(DataError, match="at least 2 labelled rows to train on, got 0"):
        model.fit(labels, photos=photos, calibration_rows=np.arange(200))


def test_unknown_labels_are_skipped_not_learned() -> None:
    photos, texts, labels = _data(rows=200)
    labels["kind"][::3] = None
    labels["colour"][::5] = ""
    model = AttributeClassifier(hidden=32, epochs=5).fit(labels, photos=photos, texts=texts)
    assert "" not in model.classes_["colour"].tolist()
    assert len(model.classes_["kind"]) == 4


def test_values_it_cannot_name_count_as_misses_and_keep_their_share() -> None:
    photos, texts, labels = _data(rows=600)
    rare = np.arange(600) % 5 == 0  # a fifth of the rows carry a type too rare to learn
    labels["kind"][rare] = [f"rare type {i}" for i in range(rare.sum())]
    model = AttributeClassifier(hidden=64, epochs=40, seed=0).fit(
        labels,
        photos=photos,
        texts=texts,
        calibration_rows=np.arange(0, 600, 6),  # 100 rows, 20 of them rare (multiples of 30)
        learnable={"kind": {"shoe", "shirt", "bag", "watch"}},
    )
    assert model.classes_["kind"].tolist() == ["bag", "shirt", "shoe", "watch"]
    held = model.calibration_["kind"]["photo"]
    assert held["rows"] == 100
    assert held["named_share"] == pytest.approx(0.8)
    assert held["accuracy"] == pytest.approx(0.8, abs=0.03)  # every rare row is a miss
    new_photos, _, new_labels = _data(rows=200, seed=1)
    probabilities, _ = model.predict_proba(photos=new_photos)
    # Never more than the share it can name; less only where the neighbours' evidence lowered
    # the top value below what the others would otherwise get.
    assert probabilities["kind"].sum(axis=1).max() <= 0.8 + 1e-6
    assert probabilities["kind"].sum(axis=1).mean() > 0.78
    assert probabilities["colour"].sum(axis=1).max() <= 1.0 + 1e-6
    assert np.mean(model.predict(photos=new_photos)["kind"] == new_labels["kind"]) > 0.95
    restored = AttributeClassifier.from_state(*model.get_state(), model.get_params())
    np.testing.assert_allclose(
        restored.predict_proba(photos=new_photos)[0]["kind"], probabilities["kind"]
    )
    with pytest.raises(DataError, match="learnable names fields without labels: \\['size'\\]"):
        model.fit(labels, photos=photos, learnable={"size": {"M"}})
    with pytest.raises(DataError, match="field 'kind' has no learnable labels"):
        model.fit(labels, photos=photos, learnable={"kind": {"hat"}})


def test_bad_input_is_named() -> None:
    photos, texts, labels = _data(rows=50)
    with pytest.raises(DataError, match="give photo features, text features, or both"):
        AttributeClassifier().fit(labels)
    with pytest.raises(DataError, match="same number of rows"):
        AttributeClassifier().fit(labels, photos=photos, texts=texts[:10])
    with pytest.raises(DataError, match="has no labels"):
        AttributeClassifier().fit({"kind": [None] * 50}, photos=photos)
    with pytest.raises(DataError, match="3 labels for 50 rows"):
        AttributeClassifier().fit({"kind": ["a", "b", "c"]}, photos=photos)
    with pytest.raises(ValueError, match="calibration_share must be in"):
        AttributeClassifier(calibration_share=0.9).fit(labels, photos=photos)
    with pytest.raises(NotFittedError):
        AttributeClassifier().predict(photos=photos)


def test_features_of_another_size_are_refused(fitted: AttributeClassifier) -> None:
    with pytest.raises(DataError, match="have 5 features but the classifier was trained on 16"):
        fitted.predict(photos=np.zeros((2, 5), np.float32))


def test_a_feature_the_catalog_never_filled_cannot_swamp_a_new_photo() -> None:
    # like a colour-histogram cell no catalog photo falls in: constant 0 while training
    photos, texts, labels = _data()
    empty_cell = np.zeros((len(photos), 1), np.float32)
    model = AttributeClassifier(hidden=64, epochs=40, seed=0).fit(
        labels, photos=np.hstack([photos, empty_cell]), texts=texts
    )
    new, _, truth = _data(rows=300, seed=1)
    filled_cell = np.full((len(new), 1), 0.5, np.float32)
    predicted = model.predict(photos=np.hstack([new, filled_cell]))
    assert np.mean(predicted["kind"] == truth["kind"]) > 0.9
