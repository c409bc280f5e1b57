"""The Recommender: blend, reasons, filters, notes, fold-in, saving and bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from furima.catalog._interactions import Interactions
from furima.catalog._splits import leave_last_out
from furima.datasets import demo_interactions_path
from furima.exceptions import DataError, FilterError, ModelFormatError, NotFittedError
from furima.recommend import ItemColumns, Recommender, evaluate_scores
from furima.recommend._items import ItemCatalog

FIXTURE = demo_interactions_path()


def _sequences() -> Interactions:
    lines = FIXTURE.read_text().split("\n")
    return Interactions.from_sequences({p[0]: p[1:] for p in map(str.split, lines) if p})


@pytest.fixture(scope="module")
def beauty() -> Interactions:
    return _sequences()


@pytest.fixture(scope="module")
def fitted(beauty: Interactions) -> Recommender:
    split = leave_last_out(beauty)
    return Recommender(generators=("popularity", "item_knn")).fit(split.train, valid=split.valid)


def _catalog(ids: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": ids,
            "name": [f"Product {i}" for i in ids],
            "category": ["Lipstick" if int(i) % 2 else "Shampoo" for i in ids],
            "price": [float(int(i) % 50 + 1) for i in ids],
            "status": ["sold" if int(i) % 7 == 0 else "on_sale" for i in ids],
        }
    )


# A tiny log: users who view 1 then view 2; user "solo" viewed only 1.
TOY = {f"u{i}": ["1", "2", "3", "4"] for i in range(6)} | {
    "v0": ["5", "6", "1", "2"],
    "v1": ["5", "6", "7", "2"],
}


def test_blend_is_learned_on_validation_and_beats_popularity(
    beauty: Interactions, fitted: Recommender
) -> None:
    split = leave_last_out(beauty)
    assert fitted.blend_.weights["item_knn"] > 0
    assert fitted.validation_["blend"] >= max(fitted.validation_["item_knn"], 0.0)
    blended = evaluate_scores(lambda h: fitted.blend_.combine(fitted._scores(h)), split.test)
    popular = evaluate_scores(fitted.fallback_.score, split.test)
    assert blended["ndcg@10"] > 2 * popular["ndcg@10"]
    assert blended["ndcg@10"] > 0.02


def test_feed_leaves_out_history_and_gives_reasons(fitted: Recommender) -> None:
    user = fitted.users_sample(1)[0]
    answer = fitted.recommend([user], k=20)[0]
    history = set(fitted.interactions_.items.external(fitted._user_history(user)[0]))
    assert len(answer.items) == 20 and answer.notes == []
    assert not history & set(answer.ids)
    scores = [item.score for item in answer.items]
    assert scores == sorted(scores, reverse=True)
    assert all(item.reason for item in answer.items)
    assert any(item.reason.startswith("because you viewed listing ") for item in answer.items)


def test_unknown_user_gets_popular_listings_with_a_note(fitted: Recommender) -> None:
    answer = fitted.recommend(["nobody"], k=5)[0]
    popular = np.argsort(-fitted.fallback_.item_scores_)[:5]
    assert answer.ids == list(fitted.interactions_.items.external(popular))
    assert answer.notes == ["user 'nobody' is unknown: popular listings instead"]
    assert {item.source for item in answer.items} == {"popularity"}


def test_fold_in_history_and_unknown_listings(fitted: Recommender) -> None:
    user = fitted.users_sample(1)[0]
    history = list(fitted.interactions_.items.external(fitted._user_history(user)[0]))
    by_user = fitted.recommend([user], k=10)[0]
    folded = fitted.recommend(histories=[[*history, "no-such-listing"]], k=10)[0]
    assert folded.ids == by_user.ids
    assert folded.notes == ["left out 1 unknown listing(s): no-such-listing"]
    empty = fitted.recommend(histories=[[]], k=3)[0]
    assert empty.notes == ["the history is empty: popular listings instead"]


def test_more_like_this_explains_by_co_views() -> None:
    model = Recommender(generators=("item_knn",)).fit(Interactions.from_sequences(TOY))
    answer = model.similar_items(["1"], k=2)[0]
    assert answer.ids[0] == "2"
    assert answer.items[0].reason == "viewed together with this"
    assert "1" not in answer.ids


def test_sold_and_filtered_listings_never_come_back(beauty: Interactions) -> None:
    listings = _catalog([*beauty.items.to_list(), "100000"])
    model = Recommender(generators=("popularity", "item_knn")).fit(beauty, listings=listings)
    users = model.users_sample(20)
    for answer in model.recommend(users, k=30):
        assert all(int(i) % 7 for i in answer.ids)  # listings with ids divisible by 7 are sold
    cheap = model.recommend(users, k=10, filters={"category": "Shampoo", "price": (None, 20)})
    for answer in cheap:
        rows = listings.set_index("id").loc[answer.ids]
        assert (rows["category"] == "Shampoo").all() and (rows["price"] <= 20).all()
    reasons = model.recommend(["nobody"], k=3)[0]
    assert {item.reason for item in reasons.items} <= {"popular in Lipstick", "popular in Shampoo"}
    assert model.listing("33") == {
        "id": "33",
        "title": "Product 33",
        "category": "Lipstick",
        "price": 34.0,
        "status": "on_sale",
        "has_photo": False,
    }
    with pytest.raises(FilterError, match="cannot filter on 'colour'"):
        model.recommend(users, k=3, filters={"colour": "red"})


def test_k_larger_than_the_catalog_says_so() -> None:
    model = Recommender(generators=("popularity",)).fit(Interactions.from_sequences(TOY))
    answer = model.recommend(["u0"], k=50)[0]
    assert sorted(answer.ids) == ["5", "6", "7"]
    assert answer.notes == ["only 3 listing(s) can be recommended here"]


def test_bad_input_gets_clear_errors(fitted: Recommender) -> None:
    with pytest.raises(NotFittedError, match="not fitted yet"):
        Recommender().recommend(["u"])
    with pytest.raises(DataError, match="exactly one of users or histories"):
        fitted.recommend(k=3)
    with pytest.raises(DataError, match=r"k must be an integer in \[1, 1000\], but got 0"):
        fitted.recommend(["1"], k=0)
    with pytest.raises(DataError, match="not one string"):
        fitted.recommend(histories=["12 13"], k=3)
    with pytest.raises(DataError, match="unknown generator 'magic'"):
        Recommender(generators=("magic",)).fit(Interactions.from_sequences(TOY))
    with pytest.raises(DataError, match="needs content_vectors"):
        Recommender(generators=("content",)).fit(Interactions.from_sequences(TOY))


def test_save_and_load_answer_the_same(fitted: Recommender, tmp_path: Path) -> None:
    users = fitted.users_sample(5)
    fitted.save(tmp_path / "model")
    loaded = Recommender.load(tmp_path / "model")
    before = [a.to_dict() for a in fitted.recommend(users, k=10)]
    assert [a.to_dict() for a in loaded.recommend(users, k=10)] == before
    (tmp_path / "model" / "events.npz").write_bytes(b"broken")
    with pytest.raises(ModelFormatError, match="does not match its checksum"):
        Recommender.load(tmp_path / "model")
    with pytest.raises(ModelFormatError, match=r"has no manifest\.json"):
        Recommender.load(tmp_path)


def test_partial_fit_learns_new_users_and_refuses_new_listings() -> None:
    model = Recommender(generators=("item_knn",)).fit(Interactions.from_sequences(TOY))
    assert model.recommend(["w"], k=1)[0].notes  # unknown before
    model.partial_fit(Interactions.from_sequences({"w": ["5", "6"], "w2": ["5", "6", "7"]}))
    answer = model.recommend(["w"], k=1)[0]
    assert answer.notes == [] and answer.ids == ["7"]
    with pytest.raises(DataError, match="unknown to the model"):
        model.partial_fit(Interactions.from_sequences({"w": ["99"]}))


def test_photos_travel_with_the_model(tmp_path: Path) -> None:
    listings = _catalog([str(i) for i in range(1, 8)])
    listings["jpeg"] = [bytes([i]) * 3 for i in range(7)]
    columns = ItemColumns(photo="jpeg")
    model = Recommender(generators=("popularity",)).fit(
        Interactions.from_sequences(TOY), listings=listings, columns=columns
    )
    model.save(tmp_path / "m")
    loaded = Recommender.load(tmp_path / "m")
    assert loaded.photo("3") == bytes([2]) * 3
    assert loaded.photo("missing") is None


def test_a_log_with_other_ids_than_the_catalog_is_refused() -> None:
    listings = _catalog([str(i) for i in range(1000, 1010)])
    with pytest.raises(DataError, match="do not use the same ids"):
        Recommender(generators=("popularity",)).fit(
            Interactions.from_sequences(TOY), listings=listings
        )
    with pytest.raises(DataError, match="no id column 'listing_id'"):
        Recommender(generators=("popularity",)).fit(
            Interactions.from_sequences(TOY),
            listings=listings,
            columns=ItemColumns(id="listing_id"),
        )


def test_new_listings_without_events_are_recommended_by_content() -> None:
    listings = _catalog([str(i) for i in range(1, 10)])  # 8 and 9: nobody has seen them
    vectors = np.eye(9, dtype=np.float32)
    vectors[8] = vectors[0] + 0.1  # listing 9 looks like listing 1
    model = Recommender(generators=("content",)).fit(
        Interactions.from_sequences(TOY), listings=listings, content_vectors=vectors
    )
    answer = model.recommend(histories=[["1"]], k=1)[0]
    assert answer.ids == ["9"]
    assert answer.items[0].reason == "looks like “Product 1”, which you viewed"


def test_listing_categories_become_the_sequence_model_s_side_information() -> None:
    listings = _catalog([str(i) for i in range(1, 8)])
    model = Recommender(generators=("sequential",))
    model.items_ = ItemCatalog.from_listings(
        listings, ItemColumns(), Interactions.from_sequences(TOY).items
    )
    sequential = model._template("sequential", None)
    ids = sequential.item_attributes  # type: ignore[attr-defined]
    assert ids.shape == (7, 1)
    # the toy log's items are 1, 2, 3, 4, 5, 6, 7 in order: odd ids are Lipstick (0)
    assert ids[:, 0].tolist() == [0, 1, 0, 1, 0, 1, 0]
