"""SequentialRecommender: learns an obvious order, folds in unseen histories, saves and exports
exactly, grows for new items, refuses bad input, and beats popularity on real Beauty data."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from furima.catalog import IdMap, Interactions
from furima.catalog._splits import leave_last_out
from furima.datasets import demo_interactions_path
from furima.exceptions import DataError, ModelFormatError, NotFittedError
from furima.recommend import (
    Popularity,
    SequentialRecommender,
    attribute_matrix,
    evaluate_scores,
)

N_ITEMS = 12


def cyclic_sequences(n_users: int = 120, length: int = 8) -> dict[str, list[str]]:
    """Item ``i`` is always followed by ``i + 1`` (mod N_ITEMS); users start anywhere."""
    rng = np.random.default_rng(0)
    return {
        f"u{u}": [f"i{(start + step) % N_ITEMS}" for step in range(length)]
        for u, start in enumerate(rng.integers(0, N_ITEMS, n_users))
    }


def with_items(sequences: dict[str, list[str]], items: list[str]) -> Interactions:
    """Events of ``sequences`` under a given item id order (a model's indices stay valid)."""
    events = Interactions.from_sequences(sequences)
    item_map = IdMap(np.array(items, dtype=object))
    return dataclasses.replace(
        events, item=item_map.index(events.items.external(events.item)).astype(np.int32),
        items=item_map,
    )  # fmt: skip


def small(**overrides: object) -> SequentialRecommender:
    params: dict[str, object] = dict(
        max_len=10, dim=16, layers=1, heads=2, dropout=0.1, attention_dropout=0.1,
        lr=1e-2, epochs=30, batch_size=32, seed=0,
    )  # fmt: skip
    params.update(overrides)
    return SequentialRecommender(**params)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def cyclic() -> Interactions:
    return Interactions.from_sequences(cyclic_sequences())


@pytest.fixture(scope="module")
def fitted(cyclic: Interactions) -> SequentialRecommender:
    return small().fit(cyclic)


def index_of(events: Interactions, name: str) -> int:
    return int(events.items.index([name])[0])


def test_learns_the_next_item(cyclic: Interactions, fitted: SequentialRecommender) -> None:
    histories = [events_of(cyclic, [k, k + 1, k + 2]) for k in range(N_ITEMS)]
    ids, _ = fitted.recommend(histories, k=1)
    expected = [index_of(cyclic, f"i{(k + 3) % N_ITEMS}") for k in range(N_ITEMS)]
    assert ids[:, 0].tolist() == expected
    assert fitted.score(histories).shape == (N_ITEMS, N_ITEMS)
    assert fitted.score(histories).dtype == np.float32


def events_of(events: Interactions, steps: list[int]) -> np.ndarray:
    return np.array([index_of(events, f"i{s % N_ITEMS}") for s in steps])


def test_folds_in_an_unseen_history(cyclic: Interactions, fitted: SequentialRecommender) -> None:
    """A history no training user had (one item, and a long one past max_len) still works."""
    one = events_of(cyclic, [5])
    long = events_of(cyclic, list(range(3, 3 + 25)))  # 25 items, max_len 10: the last 10 read
    ids, _ = fitted.recommend([one, long], k=1, filter_history=False)
    assert ids[:, 0].tolist() == [index_of(cyclic, "i6"), index_of(cyclic, "i4")]


def test_state_round_trip_and_onnx(
    cyclic: Interactions, fitted: SequentialRecommender, tmp_path: Path
) -> None:
    histories = [events_of(cyclic, [1, 2]), events_of(cyclic, list(range(9)))]
    params, arrays = fitted.get_state()
    np.savez(tmp_path / "state.npz", **arrays)
    with np.load(tmp_path / "state.npz", allow_pickle=False) as saved:
        loaded = SequentialRecommender.from_state(params, dict(saved))
    np.testing.assert_array_equal(loaded.score(histories), fitted.score(histories))
    torch_scores = fitted._score_torch(histories)
    np.testing.assert_allclose(fitted.score(histories), torch_scores, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(loaded._score_torch(histories), torch_scores, rtol=1e-6)
    fitted.export_onnx(str(tmp_path / "model.onnx"))
    import onnxruntime

    session = onnxruntime.InferenceSession(str(tmp_path / "model.onnx"))
    items = np.zeros((1, 2), dtype=np.int64)
    items[0] = histories[0] + 1
    (scores,) = session.run(None, {"items": items, "lengths": np.array([2])})
    np.testing.assert_allclose(scores[0], torch_scores[0], rtol=1e-4, atol=1e-4)


def test_incomplete_state_is_refused(fitted: SequentialRecommender) -> None:
    params, arrays = fitted.get_state()
    del arrays["onnx"]
    with pytest.raises(ModelFormatError, match="refit"):
        SequentialRecommender.from_state(params, arrays)


def test_partial_fit_learns_a_new_item(cyclic: Interactions, fitted: SequentialRecommender) -> None:
    """New users show ``i11, i5, new, i7`` (i11 -> i5 never happens in the old data): after
    partial_fit the new item is predicted after i11, i5 and predicts i7 itself."""
    model = SequentialRecommender.from_state(*fitted.get_state())
    sequences = cyclic_sequences(60)
    for u in range(40):
        sequences[f"n{u}"] = ["i11", "i5", "new", "i7"]
    events = with_items(sequences, [*cyclic.items.to_list(), "new"])
    new = index_of(events, "new")
    assert events.n_items == N_ITEMS + 1 and new == N_ITEMS
    model.partial_fit(events, epochs=15)
    assert model.n_items_ == N_ITEMS + 1
    before = np.array([index_of(events, "i11"), index_of(events, "i5")])
    ids, _ = model.recommend([before, np.array([*before, new])], k=2)
    assert new in ids[0]
    assert ids[1, 0] == index_of(events, "i7")
    ids, _ = model.recommend([events_of(events, [2, 3])], k=1)
    assert ids[0, 0] == index_of(events, "i4")  # the old pattern is kept


def test_bad_input_is_refused(fitted: SequentialRecommender, cyclic: Interactions) -> None:
    with pytest.raises(DataError, match="empty"):
        fitted.score([np.array([1, 2]), np.array([], dtype=np.int64)])
    with pytest.raises(DataError, match=r"item index 12, outside the fitted catalog 0\.\.11"):
        fitted.score([np.array([3, 12])])
    with pytest.raises(DataError, match="item index -1"):
        fitted.score([np.array([-1])])
    with pytest.raises(NotFittedError):
        SequentialRecommender().score([np.array([1])])
    with pytest.raises(ValueError, match="`heads` must divide `dim`"):
        SequentialRecommender(dim=10, heads=3).fit(cyclic)
    with pytest.raises(ValueError, match="`loss` must be one of"):
        SequentialRecommender(loss="bce").fit(cyclic)
    with pytest.raises(DataError, match="one row per item"):
        SequentialRecommender(item_attributes=np.zeros((3, 2), dtype=np.int64)).fit(cyclic)


def test_seeded_fits_are_identical(cyclic: Interactions, fitted: SequentialRecommender) -> None:
    again = small().fit(cyclic)
    histories = [events_of(cyclic, [2, 3, 4])]
    np.testing.assert_array_equal(again.score(histories), fitted.score(histories))


def test_sampled_loss_and_side_information_learn_too(cyclic: Interactions) -> None:
    attributes = np.arange(N_ITEMS).reshape(-1, 1) % 3
    model = small(loss="sampled", n_negatives=6, item_attributes=attributes).fit(cyclic)
    histories = [events_of(cyclic, [k, k + 1]) for k in range(N_ITEMS)]
    ids, _ = model.recommend(histories, k=1)
    hits = ids[:, 0] == [index_of(cyclic, f"i{(k + 2) % N_ITEMS}") for k in range(N_ITEMS)]
    assert hits.mean() >= 0.9


def test_attribute_matrix_aligns_with_the_item_map() -> None:
    items = IdMap(np.array(["a", "b", "c"], dtype=object))
    matrix = attribute_matrix(items, {"c": ["brand-x"], "a": [5, 7, 5], "z": [1]})
    assert matrix.tolist() == [[0, 1], [-1, -1], [2, -1]]


def test_beats_popularity_on_real_beauty_sequences() -> None:
    """Amazon Beauty restricted to its 500 commonest items (2,646 users), leave-last-out."""
    lines = demo_interactions_path().read_text().splitlines()
    events = Interactions.from_sequences({p[0]: p[1:] for p in map(str.split, lines)})
    split = leave_last_out(events)
    model = SequentialRecommender(dim=32, epochs=5, lr=5e-3, batch_size=128).fit(split.train)
    popularity = evaluate_scores(Popularity().fit(split.train).score, split.test)["ndcg@10"]
    ndcg = evaluate_scores(model.score, split.test)["ndcg@10"]
    assert popularity == pytest.approx(0.0117, abs=0.001)
    assert ndcg > 0.12, ndcg  # measured 0.142: twelve times popularity


def test_large_catalog_batches_are_cut_to_bound_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    from furima.recommend import _sequence_training as training

    lengths = np.array([2, 11, 11, 11, 3])  # 1 and 10 target positions
    rng = np.random.default_rng(0)
    assert sorted(map(len, training._batches(lengths, 4, rng, n_items=100))) == [1, 4]
    monkeypatch.setattr(training, "MAX_LOGITS", 2_000)  # 2 rows of 10 positions x 100 items
    batches = list(training._batches(lengths, 4, rng, n_items=100))
    assert sorted(map(len, batches)) == [1, 2, 2]
    assert sorted(np.concatenate(batches).tolist()) == [0, 1, 2, 3, 4]
