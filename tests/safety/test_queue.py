"""The review queue: order, enqueue rules, labels, atomic writes and the file."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from furima.catalog import InteractionStore
from furima.exceptions import DataError, ReviewError, StoreError
from furima.safety._queue import ReviewQueue

from .queue_checks import START, Clock, check, ids, listings


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def queue(tmp_path: Path, clock: Clock) -> Iterator[ReviewQueue]:
    with ReviewQueue(tmp_path / "review.duckdb", clock=clock) as opened:
        yield opened


# -- order and filters --------------------------------------------------------------------------


def test_order_is_risk_plus_half_uncertainty_then_blocked_first_then_oldest(
    queue: ReviewQueue, clock: Clock
) -> None:
    added = queue.enqueue(
        [
            check("calm", {"spam": 0.2}),  # allow: never enqueued
            check("sure", {"spam": 0.95}, uncertainty=0.0),  # 0.95
            check("review-old", {"spam": 0.75}, uncertainty=0.5),  # 1.0, review
        ]
    )
    clock.advance(60)
    added += queue.enqueue(
        [
            check("blocked", {"weapons": 0.875}, block=("weapons",), uncertainty=0.25),  # 1.0
            check("review-new", {"spam": 0.5}, uncertainty=1.0),  # 1.0, review, newer
            check("faint", {"spam": 0.55}, uncertainty=0.0),  # 0.55
        ]
    )
    assert added == 5
    assert ids(queue) == ["blocked", "review-old", "review-new", "sure", "faint"]
    first = queue.pending(1)[0]
    assert (first.priority, first.decision, first.flagged) == (1.0, "block", ("weapons",))
    assert ids(queue, limit=2) == ["blocked", "review-old"]
    assert ids(queue, policy="weapons") == ["blocked"]
    assert ids(queue, policy="nudity") == []
    assert len(queue) == 5
    with pytest.raises(
        ReviewError, match=r"`limit` must be a whole number of at least 1, but got 0"
    ):
        queue.pending(0)


def test_snapshot_and_verdicts_come_back(queue: ReviewQueue) -> None:
    queue.enqueue([check("a", {"spam": 0.9, "weapons": 0.1})], listings("a", "b"))
    item = queue.pending()[0]
    assert (item.name, item.description, item.price, item.brand, item.category) == (
        "Listing a",
        "About a",
        100.0,
        "Puma",
        "Shoes",
    )
    assert item.has_photo and queue.photo("a") == b"\xff\xd8\xff\xe0 photo a"
    assert queue.photo("b") is None and queue.photo("nowhere") is None
    assert [v["policy"] for v in item.verdicts] == ["spam", "weapons"]
    assert item.verdicts[0]["evidence"] == [{"kind": "rule", "detail": "spam rule"}]
    assert item.enqueued_at == START
    assert item.to_dict()["enqueued_at"] == "2025-03-01T09:00:00+00:00"


# -- enqueue rules -------------------------------------------------------------------------------


def test_pending_listing_takes_the_new_check_and_keeps_its_place(
    queue: ReviewQueue, clock: Clock
) -> None:
    queue.enqueue(
        [check("a", {"spam": 0.6}), check("b", {"spam": 0.7}, uncertainty=0.0)], listings("a", "b")
    )
    clock.advance(30)
    assert queue.enqueue([check("a", {"spam": 0.6})]) == 0  # nothing new
    assert queue.enqueue([check("a", {"spam": 0.99}, uncertainty=0.0)]) == 1
    item = queue.item("a")
    assert (item.risk, item.enqueued_at, item.name) == (0.99, START, "Listing a")
    assert ids(queue) == ["a", "b"]
    renamed = listings("a").assign(name="Renamed")
    assert queue.enqueue([check("a", {"spam": 0.99}, uncertainty=0.0)], renamed) == 1
    assert queue.item("a").name == "Renamed"
    assert len(queue) == 2


def test_decided_listing_comes_back_only_with_a_different_check(
    queue: ReviewQueue, clock: Clock
) -> None:
    first = check("a", {"spam": 0.6})
    queue.enqueue([first], listings("a"))
    queue.decide("a", "alice", "approve")
    assert queue.enqueue([first]) == 0
    assert len(queue) == 0
    clock.advance(10)
    assert queue.enqueue([check("a", {"spam": 0.8})]) == 1
    again = queue.item("a")
    assert (again.risk, again.reviewed, again.enqueued_at) == (
        0.8,
        None,
        START + timedelta(seconds=10),
    )
    assert again.name == "Listing a" and again.has_photo  # the last snapshot is kept
    queue.decide("a", "bob", "remove")
    history = queue.decisions()
    assert history[["reviewer", "outcome", "round"]].to_numpy().tolist() == [
        ["alice", "approve", 0],
        ["bob", "remove", 1],
    ]


# -- labels ----------------------------------------------------------------------------------------


def test_labels_teach_what_reviewers_confirmed(queue: ReviewQueue) -> None:
    queue.enqueue(
        [
            check("a", {"spam": 0.9, "fake": 0.7, "weapons": 0.1}),
            check("b", {"spam": 0.8}),
            check("c", {"fake": 0.6, "spam": 0.3}),
            check("d", {"spam": 0.9}),
        ],
        listings("a", "b", "c", "d"),
    )
    queue.decide("a", "alice", "remove", policies=["spam"])
    queue.decide("b", "alice", "approve")
    queue.decide("c", "bob", "remove")
    labels = queue.labels()
    assert labels.columns.tolist() == ["listing_id", "text", "spam", "fake"]
    assert labels["listing_id"].tolist() == ["a", "b", "c"]
    assert labels["text"].tolist() == [  # as the checker reads a listing
        "Listing a\nAbout a",
        "Listing b\nAbout b",
        "Listing c\nAbout c",
    ]
    np.testing.assert_array_equal(
        labels[["spam", "fake"]].to_numpy(), [[1, 0], [0, np.nan], [np.nan, 1]]
    )
    # the text checker learns only text policies: the others' columns, and the listings
    # labelled for none of the chosen policies, are left out
    spam_only = queue.labels(policies=["spam", "nudity"])
    assert spam_only.columns.tolist() == ["listing_id", "text", "spam"]
    assert spam_only["listing_id"].tolist() == ["a", "b"]
    assert spam_only["spam"].tolist() == [1.0, 0.0]


def test_labels_of_an_empty_queue(queue: ReviewQueue) -> None:
    assert queue.labels().columns.tolist() == ["listing_id", "text"]
    assert queue.stats() == {
        "pending": 0,
        "decided": 0,
        "removed": 0,
        "approved": 0,
        "by_policy": {},
    }


# -- atomic writes and the file ----------------------------------------------------------------


def test_a_bad_row_leaves_the_queue_as_it_was(queue: ReviewQueue) -> None:
    queue.enqueue([check("a", {"spam": 0.6})], listings("a"))
    before = queue.pending()
    broken = listings("a", "b", "c").astype({"price": object})
    broken.loc[2, "price"] = "cheap"
    with pytest.raises(DataError, match="listing 'c' has price 'cheap', which is not a number"):
        queue.enqueue([check(i, {"spam": 0.9}) for i in "abc"], broken)
    with pytest.raises(DataError, match=r"`listings` has no row for the flagged listings \['c'\]"):
        queue.enqueue([check(i, {"spam": 0.9}) for i in "abc"], listings("a", "b"))
    with pytest.raises(DataError, match=r"checks\[1\] is a dict, not a ListingCheck"):
        queue.enqueue([check("b", {"spam": 0.9}), {"listing_id": "c"}])  # type: ignore[list-item]
    with pytest.raises(DataError, match="listing 'b' is checked twice in one batch"):
        queue.enqueue([check("b", {"spam": 0.9}), check("b", {"spam": 0.8})])
    assert queue.pending() == before


def test_a_failure_mid_write_rolls_everything_back(
    queue: ReviewQueue, monkeypatch: pytest.MonkeyPatch
) -> None:
    queue.enqueue([check("a", {"spam": 0.6})], listings("a"))
    before = queue.pending()
    import furima.safety._queue as module

    # the pending update runs, then the insert of the new listings fails
    monkeypatch.setattr(module, "INSERT_ROUNDS", "INSERT INTO review_items SELECT 1")
    with pytest.raises(StoreError):
        queue.enqueue([check("a", {"spam": 0.99}), check("b", {"spam": 0.9})], listings("a", "b"))
    assert queue.pending() == before
    monkeypatch.undo()
    assert queue.enqueue([check("b", {"spam": 0.9})]) == 1


def test_reopening_keeps_items_claims_decisions_and_photos(tmp_path: Path, clock: Clock) -> None:
    path = tmp_path / "kept.duckdb"
    with ReviewQueue(path, clock=clock) as queue:
        queue.enqueue([check(i, {"spam": 0.9}) for i in "abc"], listings("a", "b", "c"))
        queue.claim("b", "alice")
        queue.decide("a", "alice", "remove", note="spam")
        pending, decisions = queue.pending(), queue.decisions()
    with ReviewQueue(path, clock=clock) as again:
        assert again.pending() == pending
        assert again.item("b").claimed_by == "alice"
        pd.testing.assert_frame_equal(again.decisions(), decisions)
        assert again.photo("c") == b"\xff\xd8\xff\xe0 photo c"
    with pytest.raises(StoreError, match="is closed"):
        queue.pending()


def test_a_file_that_is_not_a_queue_is_refused(tmp_path: Path) -> None:
    events = tmp_path / "events.duckdb"
    InteractionStore(events).close()
    with pytest.raises(StoreError) as refused:
        ReviewQueue(events)
    assert str(refused.value) == (
        f"{str(events)!r} is not a furima review queue (format 'furima.review_queue' version "
        "'1'): it has tables ['event_types', 'events', 'furima_meta'] and format "
        "'furima-events'. Keep the queue in a file of its own, e.g. review.duckdb."
    )
    text = tmp_path / "notes.txt"
    text.write_text("not a database\n" * 100)
    with pytest.raises(StoreError, match=r"cannot open .* as a furima review queue store"):
        ReviewQueue(text)
