"""Candidate generators: one contract suite for every generator, hand-computed values for
each, cold start for content, and quality on a real slice of Amazon Beauty."""

from __future__ import annotations

import io
import json
from collections.abc import Callable

import numpy as np
import pytest

from furima.catalog import Interactions, leave_last_out
from furima.datasets import demo_interactions_path
from furima.exceptions import DataError, NotFittedError
from furima.index import VectorIndex
from furima.recommend import (
    ALS,
    EASE,
    CandidateGenerator,
    ContentSimilarity,
    ItemKNN,
    Popularity,
    evaluate_scores,
)
from furima.search import PoolColumns, SimilarSearch

SEQUENCES = {
    "u1": ["a", "b", "c", "a"],
    "u2": ["b", "c", "d"],
    "u3": ["a", "c", "e", "f"],
    "u4": ["d", "e", "f", "b"],
    "u5": ["a", "b", "d", "e"],
    "u6": ["c", "f", "a"],
    "u7": ["e", "b", "c", "d", "g"],
}
N_ITEMS = 7


def content_vectors(n_items: int) -> np.ndarray:
    return np.random.default_rng(0).normal(size=(n_items, 5)).astype(np.float32)


MAKERS: dict[str, Callable[[], CandidateGenerator]] = {
    "popularity": Popularity,
    "item_knn": lambda: ItemKNN(neighbours=3, shrink=1.0),
    "ease": lambda: EASE(l2=1.0),
    "als": lambda: ALS(factors=3, iterations=5, alpha=5.0, regularization=0.1),
    "content": lambda: ContentSimilarity(content_vectors(N_ITEMS)),
}


@pytest.fixture(scope="module")
def events() -> Interactions:
    return Interactions.from_sequences(SEQUENCES)


@pytest.fixture(params=list(MAKERS))
def fitted(request: pytest.FixtureRequest, events: Interactions) -> CandidateGenerator:
    return MAKERS[request.param]().fit(events)


HISTORIES = [np.array([0, 1]), np.array([3]), np.array([2, 4, 5, 2])]


# ---------------------------------------------------------------- the contract, every generator


def test_scores_are_float32_one_row_per_history(fitted: CandidateGenerator) -> None:
    scores = fitted.score(HISTORIES)
    assert scores.shape == (3, N_ITEMS) and scores.dtype == np.float32
    assert np.isfinite(scores).all()
    assert fitted.score([]).shape == (0, N_ITEMS)


def test_recommend_leaves_the_history_out(fitted: CandidateGenerator) -> None:
    ids, scores = fitted.recommend(HISTORIES, k=3)
    assert ids.shape == scores.shape == (3, 3)
    for row, history in zip(ids, HISTORIES, strict=True):
        assert not set(row.tolist()) & set(history.tolist())
        assert (row >= 0).all()
    assert (np.diff(scores, axis=1) <= 0).all()  # best first
    unfiltered, _ = fitted.recommend(HISTORIES, k=N_ITEMS, filter_history=False)
    assert (unfiltered >= 0).all()  # every item, history included


def test_recommend_respects_the_allowed_mask(fitted: CandidateGenerator) -> None:
    allowed = np.ones(N_ITEMS, dtype=bool)
    allowed[[2, 6]] = False  # sold
    ids, _ = fitted.recommend(HISTORIES, k=N_ITEMS, allowed=allowed)
    assert not np.isin(ids, [2, 6]).any()
    expected = [N_ITEMS - len(set(h.tolist()) | {2, 6}) for h in HISTORIES]
    assert [(row >= 0).sum() for row in ids] == expected


def test_k_beyond_the_catalog_pads_with_minus_one(fitted: CandidateGenerator) -> None:
    ids, scores = fitted.recommend([np.array([0, 1])], k=N_ITEMS + 3)
    assert ids.shape == (1, N_ITEMS + 3)
    assert (ids[0, : N_ITEMS - 2] >= 0).all() and (ids[0, N_ITEMS - 2 :] == -1).all()
    assert np.isneginf(scores[0, N_ITEMS - 2 :]).all()


@pytest.mark.parametrize("name", list(MAKERS))
def test_not_fitted_is_said(name: str) -> None:
    model = MAKERS[name]()
    for call in (lambda: model.score(HISTORIES), model.get_state, lambda: model.recommend([])):
        with pytest.raises(NotFittedError, match="not fitted yet"):
            call()


def test_state_round_trip_gives_identical_scores(fitted: CandidateGenerator) -> None:
    params, arrays = fitted.get_state()
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    buffer.seek(0)
    with np.load(buffer, allow_pickle=False) as loaded:
        restored = type(fitted).from_state(json.loads(json.dumps(params)), dict(loaded))
    np.testing.assert_array_equal(restored.score(HISTORIES), fitted.score(HISTORIES))
    assert restored.n_items == N_ITEMS


def test_empty_history_scores_popularity_or_zeros(fitted: CandidateGenerator) -> None:
    scores = fitted.score([np.array([], dtype=np.int64), []])
    if isinstance(fitted, Popularity):
        np.testing.assert_array_equal(scores[0], [5, 5, 5, 4, 4, 3, 1])  # event counts
    else:
        np.testing.assert_array_equal(scores, np.zeros((2, N_ITEMS)))
    ids, _ = fitted.recommend([[]], k=N_ITEMS)
    assert sorted(ids[0].tolist()) == list(range(N_ITEMS))  # ties, but every item comes back


@pytest.mark.parametrize(
    ("history", "message"),
    [
        (np.array([0, N_ITEMS]), "outside the model's catalog 0..6"),
        (np.array([-1]), "holds item index -1"),
        (np.array([0.0, 1.0]), "integer item indices"),
    ],
)
def test_bad_item_indices_are_refused(
    fitted: CandidateGenerator, history: np.ndarray, message: str
) -> None:
    with pytest.raises(DataError, match=message):
        fitted.score([np.array([1]), history])


def test_a_flat_history_is_refused_with_advice(fitted: CandidateGenerator) -> None:
    with pytest.raises(DataError, match=r"wrap a single history in a list"):
        fitted.score(np.array([0, 1]))  # type: ignore[arg-type]


# ---------------------------------------------------------------- values on hand-made data


def three_by_three() -> Interactions:
    # users x items [[1, 1, 0], [1, 0, 1], [1, 1, 1]]: n = (3, 2, 2), c01 = c02 = 2, c12 = 1
    return Interactions.from_sequences({"x": ["0", "1"], "y": ["0", "2"], "z": ["0", "1", "2"]})


def test_item_knn_is_the_shrunk_cosine() -> None:
    scores = ItemKNN(shrink=0.0, decay=1.0).fit(three_by_three()).score([[0], [1]])
    cos01, cos12 = 2 / np.sqrt(6), 1 / 2
    np.testing.assert_allclose(scores, [[0, cos01, cos01], [cos01, 0, cos12]], rtol=1e-6)
    shrunk = ItemKNN(shrink=1.0, decay=1.0).fit(three_by_three()).score([[1]])
    np.testing.assert_allclose(shrunk, [[2 / (np.sqrt(6) + 1), 0, 1 / (2 + 1)]], rtol=1e-6)
    damped = ItemKNN(shrink=0.0, popularity_damping=0.5).fit(three_by_three()).score([[1]])
    np.testing.assert_allclose(damped, [[cos01 / np.sqrt(3), 0, cos12 / np.sqrt(2)]], rtol=1e-6)


def test_item_knn_weighs_recent_items_and_keeps_top_neighbours() -> None:
    cos01, cos12 = 2 / np.sqrt(6), 1 / 2
    recent = ItemKNN(shrink=0.0, decay=0.5).fit(three_by_three()).score([[1, 2]])
    np.testing.assert_allclose(recent, [[1.5 * cos01, cos12, 0.5 * cos12]], rtol=1e-6)
    one = ItemKNN(neighbours=1, shrink=0.0).fit(three_by_three())
    np.testing.assert_allclose(one.score([[0], [2]]), [[0, cos01, 0], [cos01, 0, 0]], rtol=1e-6)
    assert one.similarity_.nnz == 3  # one neighbour per item (ties: the lower index)


def test_ease_matches_the_closed_form_in_numpy() -> None:
    sequences = {"p": ["0", "1"], "q": ["1", "2"], "r": ["0", "1", "2"], "s": ["2", "0"]}
    x = np.array([[1, 1, 0], [0, 1, 1], [1, 1, 1], [1, 0, 1]], dtype=np.float64)
    p = np.linalg.inv(x.T @ x + 2.0 * np.eye(3))
    b = np.eye(3) - p / np.diag(p)[None, :]
    np.fill_diagonal(b, 0.0)
    model = EASE(l2=2.0, decay=1.0).fit(Interactions.from_sequences(sequences))
    np.testing.assert_allclose(model.weights_, b, atol=1e-6)
    np.testing.assert_allclose(model.score([[0, 2]]), [b[0] + b[2]], atol=1e-6)
    recent = EASE(l2=2.0, decay=0.5).fit(Interactions.from_sequences(sequences))
    np.testing.assert_allclose(recent.score([[0, 2]]), [0.5 * b[0] + b[2]], atol=1e-6)


def test_ease_refuses_a_catalog_too_large_for_a_dense_matrix(events: Interactions) -> None:
    with pytest.raises(DataError, match=r"dense 7 x 7 .* Use ItemKNN"):
        EASE(max_items=5).fit(events)


def test_als_folds_in_by_implicit_least_squares(events: Interactions) -> None:
    model = ALS(factors=3, iterations=5, alpha=5.0, regularization=0.1, decay=0.7).fit(events)
    again = ALS(factors=3, iterations=5, alpha=5.0, regularization=0.1, decay=0.7).fit(events)
    np.testing.assert_array_equal(model.item_factors_, again.item_factors_)  # seeded
    y = model.item_factors_.astype(np.float64)
    history = [2, 4, 5]
    confidence = 5.0 * np.array([0.49, 0.7, 1.0])  # alpha * decay ** (steps from the end)
    a = y.T @ y + 0.1 * np.eye(3) + (y[history].T * (confidence - 1.0)) @ y[history]
    expected = np.linalg.solve(a, confidence @ y[history])
    np.testing.assert_allclose(model.user_factors([history])[0], expected, rtol=1e-4)
    np.testing.assert_allclose(model.score([history])[0], y @ expected, rtol=1e-4, atol=1e-6)


def test_content_is_the_cosine_with_the_weighted_mean() -> None:
    vectors = np.array([[2, 0], [0, 1], [1, 1], [0, 0]], dtype=np.float32)
    events = Interactions.from_sequences({"u": ["0", "1", "2", "3"]})
    model = ContentSimilarity(vectors, decay=0.5).fit(events)
    mean = np.array([0.5, 1.0]) / np.sqrt(1.25)  # 0.5 * item 0 + 1 * item 1, normalised
    expected = [[1, 0, 1 / np.sqrt(2), 0], [mean[0], mean[1], mean.sum() / np.sqrt(2), 0]]
    np.testing.assert_allclose(model.score([[0], [0, 1]]), expected, rtol=1e-6)
    assert (model.score([[3]]) == 0).all()  # a history without vectors


def test_content_recommends_a_listing_nobody_has_touched_yet() -> None:
    catalog = Interactions.from_sequences({**SEQUENCES, "u8": ["new"]})
    events = catalog.subset(catalog.item != catalog.items.index(["new"])[0])
    new = int(catalog.items.index(["new"])[0])
    vectors = content_vectors(catalog.n_items)
    vectors[new] = vectors[3] + 0.05  # looks like item "d"
    content = ContentSimilarity(vectors).fit(events)
    ids, _ = content.recommend([[3]], k=1)
    assert ids[0, 0] == new
    knn_scores = ItemKNN().fit(events).score([[3]])[0]
    assert knn_scores[new] == 0 and (knn_scores > 0).sum() > 0  # co-occurrence cannot


def test_content_takes_vectors_from_a_feature_pool() -> None:
    stored = np.random.default_rng(1).normal(size=(3, 4)).astype(np.float32)
    index = VectorIndex(4, backend="exact").add(np.array([10, 20, 30]), stored)
    pool = SimilarSearch(columns=PoolColumns(), embedder=None, indexes={"titles": index})
    events = Interactions.from_sequences({"u": ["20", "99", "10"]})
    model = ContentSimilarity.from_pool(pool, events.items).fit(events)
    unit = stored / np.linalg.norm(stored, axis=1, keepdims=True)
    np.testing.assert_allclose(model.vectors_, [unit[1], np.zeros(4), unit[0]], rtol=1e-5)
    with pytest.raises(DataError, match="none of the 2 item ids are in the pool"):
        ContentSimilarity.from_pool(pool, ["7", "8"])
    with pytest.raises(DataError, match="one row per item"):
        ContentSimilarity(stored[:2]).fit(events)


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (ItemKNN(decay=0.0), r"`decay` must be in \(0, 1\]"),
        (ItemKNN(neighbours=0), "`neighbours` must be >= 1"),
        (EASE(l2=0.0), "`l2` must be positive"),
        (ALS(alpha=0.0), "`alpha` > 0"),
        (ContentSimilarity(content_vectors(N_ITEMS), decay=1.5), "`decay` must be in"),
    ],
)
def test_bad_hyperparameters_are_named(
    model: CandidateGenerator, message: str, events: Interactions
) -> None:
    with pytest.raises(ValueError, match=message):
        model.fit(events)


# ---------------------------------------------------------------- quality on real purchases


def test_every_learned_generator_beats_popularity_on_real_sequences() -> None:
    """Amazon Beauty, 500 most bought items (furima/datasets/PROVENANCE.md), leave-last-out:
    NDCG@10 of each generator on the validation targets, full ranking."""
    lines = demo_interactions_path().read_text().splitlines()
    split = leave_last_out(
        Interactions.from_sequences({p[0]: p[1:] for p in map(str.split, lines)})
    )
    models: dict[str, CandidateGenerator] = {
        "popularity": Popularity(),
        "item_knn": ItemKNN(neighbours=50, shrink=0.0, decay=0.5),
        "ease": EASE(l2=50.0, decay=0.7),
        "als": ALS(factors=32, regularization=0.1, alpha=10.0, decay=0.7),
    }
    ndcg = {
        name: evaluate_scores(model.fit(split.train).score, split.valid)["ndcg@10"]
        for name, model in models.items()
    }
    measured = {"popularity": 0.0197, "item_knn": 0.1922, "ease": 0.1938, "als": 0.1597}
    for name, value in measured.items():
        assert ndcg[name] == pytest.approx(value, abs=0.01), name
    for name in ("item_knn", "ease", "als"):
        assert ndcg[name] > ndcg["popularity"] + 0.1, name
