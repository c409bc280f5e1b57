"""The review queue's claims and decisions: who holds a listing, what a decision records, and
no decision recorded twice from two threads or two processes."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import suppress
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

from furima.exceptions import ListingNotFoundError, ReviewConflictError, ReviewError
from furima.safety._queue import ReviewQueue

from .queue_checks import START, Clock, check, ids, listings


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def queue(tmp_path: Path, clock: Clock) -> Iterator[ReviewQueue]:
    with ReviewQueue(tmp_path / "review.duckdb", clock=clock) as opened:
        yield opened


# -- claims --------------------------------------------------------------------------------------


def test_a_live_claim_keeps_others_out_until_it_expires(queue: ReviewQueue, clock: Clock) -> None:
    queue.enqueue([check("a", {"spam": 0.9}), check("b", {"spam": 0.8})])
    held = queue.claim("a", "alice", ttl_seconds=60)
    assert (held.claimed_by, held.claimed_until) == ("alice", START + timedelta(seconds=60))
    message = (
        "listing 'a' is being reviewed by 'alice' until 2025-03-01T09:01:00+00:00; take "
        "another listing, or try again after that."
    )
    with pytest.raises(ReviewConflictError) as refused:
        queue.claim("a", "bob")
    assert str(refused.value) == message
    with pytest.raises(ReviewConflictError, match="being reviewed by 'alice'"):
        queue.decide("a", "bob", "remove")
    assert ids(queue, reviewer="bob") == ["b"]
    assert ids(queue, reviewer="alice") == ["a", "b"]
    assert queue.claim("a", "alice", ttl_seconds=120).claimed_until == START + timedelta(
        seconds=120
    )
    clock.advance(121)
    assert queue.claim("a", "bob").claimed_by == "bob"
    assert queue.decide("a", "bob", "remove").reviewer == "bob"
    with pytest.raises(ReviewError, match="`ttl_seconds` must be positive, but got 0"):
        queue.claim("b", "bob", ttl_seconds=0)


# -- decisions -----------------------------------------------------------------------------------


def test_decision_records_who_when_what(queue: ReviewQueue, clock: Clock) -> None:
    queue.enqueue(
        [
            check("a", {"spam": 0.9, "fake": 0.7}),
            check("b", {"spam": 0.8}),
            check("c", {"fake": 0.6}),
        ],
        listings("a", "b", "c"),
    )
    clock.advance(5)
    removed = queue.decide("a", " alice ", "remove", note="sells followers")
    assert removed.to_dict() == {
        "listing_id": "a",
        "reviewer": "alice",
        "outcome": "remove",
        "policies": ["spam", "fake"],
        "note": "sells followers",
        "decided_at": "2025-03-01T09:00:05+00:00",
    }
    assert queue.decide("b", "bob", "approve").policies == ()
    assert queue.decide("c", "bob", "remove", policies=["fake"]).policies == ("fake",)
    frame = queue.decisions()
    assert frame["listing_id"].tolist() == ["a", "b", "c"]
    assert frame["policies"].tolist() == [["spam", "fake"], [], ["fake"]]
    assert frame["name"].tolist() == ["Listing a", "Listing b", "Listing c"]
    assert frame["decided_at"].iloc[0] == pd.Timestamp("2025-03-01 09:00:05", tz="UTC")
    assert queue.stats() == {
        "pending": 0,
        "decided": 3,
        "removed": 2,
        "approved": 1,
        "by_policy": {
            "fake": {"pending": 0, "removed": 2, "approved": 0},
            "spam": {"pending": 0, "removed": 1, "approved": 1},
        },
    }


def test_bad_decisions_say_what_is_allowed(queue: ReviewQueue) -> None:
    queue.enqueue([check("a", {"spam": 0.9, "fake": 0.2})])
    with pytest.raises(ListingNotFoundError) as unknown:
        queue.decide("zzz", "alice", "remove")
    assert str(unknown.value) == (
        "listing 'zzz' is not in the review queue; only listings that a check flagged are "
        "enqueued. Check the id, or refresh the queue."
    )
    with pytest.raises(ReviewError) as outcome:
        queue.decide("a", "alice", "delete")
    assert str(outcome.value) == (
        "`outcome` must be one of ['approve', 'remove'], but got 'delete': 'approve' keeps the "
        "listing, 'remove' takes it down."
    )
    with pytest.raises(ReviewError, match=r"`reviewer` must be a non-empty name, but got ' '"):
        queue.decide("a", " ", "remove")
    with pytest.raises(ReviewError, match=r"`policies` \['fake'\] were not flagged"):
        queue.decide("a", "alice", "remove", policies=["fake"])
    with pytest.raises(ReviewError, match="an approval confirms no policy"):
        queue.decide("a", "alice", "approve", policies=["spam"])
    with pytest.raises(ReviewError, match="a removal must confirm at least one"):
        queue.decide("a", "alice", "remove", policies=[])
    assert len(queue) == 1 and queue.decisions().empty
    queue.decide("a", "alice", "remove")
    with pytest.raises(ReviewConflictError) as twice:
        queue.decide("a", "bob", "approve")
    assert str(twice.value) == (
        "listing 'a' was already decided by 'alice' at 2025-03-01T09:00:00+00:00 (remove); "
        "refresh the queue and take the next listing."
    )
    with pytest.raises(ReviewConflictError, match="already decided by 'alice'"):
        queue.claim("a", "bob")


@pytest.mark.parametrize("shared", [True, False], ids=["one-object", "one-object-each"])
def test_two_threads_deciding_at_once_record_exactly_one(tmp_path: Path, shared: bool) -> None:
    path = tmp_path / "race.duckdb"
    names = [f"l{n}" for n in range(12)]
    with ReviewQueue(path) as first:
        first.enqueue([check(name, {"spam": 0.9}) for name in names])
        second = first if shared else ReviewQueue(path)
        barrier = threading.Barrier(2)
        results: dict[str, list[str]] = {name: [] for name in names}

        def race(queue: ReviewQueue, reviewer: str) -> None:
            for name in names:
                barrier.wait()
                try:
                    queue.decide(name, reviewer, "remove")
                    results[name].append(f"ok {reviewer}")
                except ReviewConflictError as lost:
                    results[name].append(f"conflict: {lost}")

        threads = [
            threading.Thread(target=race, args=(first, "alice")),
            threading.Thread(target=race, args=(second, "bob")),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for outcome in results.values():
            assert sorted(o[:2] for o in outcome) == ["co", "ok"], outcome
            winner = outcome[0][3:] if outcome[0].startswith("ok") else outcome[1][3:]
            loser_message = next(o for o in outcome if o.startswith("conflict"))
            assert f"already decided by {winner!r}" in loser_message
        decided = first.decisions()
        assert sorted(decided["listing_id"]) == sorted(names)
        if not shared:
            second.close()


_OTHER_PROCESS = """
import sys
from furima.exceptions import ReviewConflictError
from furima.safety._queue import ReviewQueue
won = 0
with ReviewQueue(sys.argv[1], lock_wait_seconds=30) as queue:
    for n in range(int(sys.argv[3])):
        try:
            queue.decide(f"l{n}", sys.argv[2], "remove")
            won += 1
        except ReviewConflictError:
            pass
print(won)
"""


def test_two_processes_deciding_record_each_listing_once(tmp_path: Path) -> None:
    path = tmp_path / "shared.duckdb"
    with ReviewQueue(path) as queue:
        queue.enqueue([check(f"l{n}", {"spam": 0.9}) for n in range(20)])
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", _OTHER_PROCESS, str(path), reviewer, "20"],
            stdout=subprocess.PIPE,
            text=True,
        )
        for reviewer in ("alice", "bob")
    ]
    wins = [int(run.communicate(timeout=60)[0]) for run in runs]
    assert sum(wins) == 20
    with ReviewQueue(path) as queue:
        decided = queue.decisions()
    assert len(decided) == 20 and decided["listing_id"].is_unique


def test_one_queue_shared_by_threads_reading_and_writing(queue: ReviewQueue) -> None:
    names = [f"l{n}" for n in range(8)]
    queue.enqueue([check(name, {"spam": 0.9}) for name in names], listings(*names))
    problems: list[BaseException] = []

    def work(reviewer: str) -> None:
        try:
            for name in names:
                queue.pending(5, reviewer=reviewer)
                assert queue.photo(name) is not None
                queue.stats()
                with suppress(ReviewConflictError):
                    queue.claim(name, reviewer, ttl_seconds=0.001)
                len(queue)
        except BaseException as problem:
            problems.append(problem)

    threads = [threading.Thread(target=work, args=(f"r{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert problems == []
