"""Ranking examples from interaction logs: requests, candidates, labels and features.

A *request* is a user at a moment (the start of a day, say). Its candidates are the items the
user went on to interact with in the window after the moment, mixed with items they did not:
the generators' best guesses from the history (hard negatives), popular items and random
ones. Each candidate's label per event type says whether the user did that to it in the
window; its features come from :class:`~furima.ranking.FeatureBuilder`, from events strictly
before the moment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from furima.catalog._interactions import IdMap, Interactions
from furima.exceptions import DataError, SchemaError
from furima.ranking._base import RankingExamples, label_column
from furima.ranking._features import DAY_S, FeatureBuilder

__all__ = [
    "CandidateSettings",
    "build_examples",
    "daily_requests",
    "item_categories",
    "last_day_requests",
]


@dataclass(frozen=True)
class CandidateSettings:
    """How each request's candidate list is drawn.

    Attributes:
        size: Candidates per request; the window's items are all kept, negatives fill up to
            ``size``.
        generated: Negatives from the generators' top items for the history.
        popular: Negatives drawn from the items most interacted with before the moment
            (from the ``popular * 5`` most popular).
        seed: Seeds the draws and the shuffle of each list.
    """

    size: int = 100
    generated: int = 40
    popular: int = 20
    seed: int = 0

    def __post_init__(self) -> None:
        if self.size < 1 or min(self.generated, self.popular) < 0:
            raise DataError(
                f"candidate settings must be size >= 1 and counts >= 0, but got size={self.size}, "
                f"generated={self.generated}, popular={self.popular}."
            )


def item_categories(
    table: pd.DataFrame, items: IdMap, *, item: str = "item_id", category: str = "category_id"
) -> np.ndarray:
    """Each item's category, aligned with ``items``, from a table that names it per row (an
    event log such as Taobao's): its first value per item; "" for items the table lacks."""
    missing = [c for c in (item, category) if c not in table.columns]
    if missing:
        raise SchemaError(
            f"the table has no column(s) {missing} for item categories; it has "
            f"{', '.join(map(str, table.columns[:20]))}."
        )
    first = table.drop_duplicates(item)
    by_item = pd.Series(first[category].astype(str).to_numpy(), first[item].astype(str))
    return by_item.reindex([str(i) for i in items.ids]).fillna("").to_numpy()


def daily_requests(
    interactions: Interactions, *, start: int | None = None, day_s: int = DAY_S
) -> pd.DataFrame:
    """A request at the start of each day on which a user has events (from the day holding
    ``start``, Unix seconds, on); its window is that day. Columns ``user``, ``timestamp``,
    ``until``."""
    days = interactions.timestamp // day_s
    pairs = np.unique(np.stack([interactions.user.astype(np.int64), days], axis=1), axis=0)
    if start is not None:
        pairs = pairs[pairs[:, 1] >= start // day_s]
    return _requests(interactions, pairs[:, 0], pairs[:, 1] * day_s, day_s)


def last_day_requests(interactions: Interactions, *, day_s: int = DAY_S) -> pd.DataFrame:
    """One request per user at the start of their last day with events; the window is that
    day (the usual "rank what they did on their last day" test)."""
    offsets = interactions.offsets()
    users = np.flatnonzero(np.diff(offsets) > 0)
    last = interactions.timestamp[offsets[users + 1] - 1] // day_s
    return _requests(interactions, users, last * day_s, day_s)


def _requests(
    interactions: Interactions, users: np.ndarray, moments: np.ndarray, day_s: int
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "user": interactions.users.external(users),
            "timestamp": moments.astype(np.int64),
            "until": (moments + day_s).astype(np.int64),
        }
    )


def build_examples(
    interactions: Interactions,
    requests: pd.DataFrame,
    *,
    builder: FeatureBuilder,
    candidates: CandidateSettings | None = None,
    events: Sequence[str] | None = None,
) -> RankingExamples:
    """Candidates, labels and point-in-time features for each request.

    Args:
        interactions: The log the labels come from (the builder's log, or one with the same
            id maps).
        requests: Columns ``user`` (external id), ``timestamp`` (the moment, Unix seconds)
            and ``until`` (end of the label window; default the moment plus a day).
        builder: A fitted :class:`FeatureBuilder` (its generators fitted before the
            earliest request, or the features learn from the future).
        candidates: How candidate lists are drawn.
        events: The event types to label (default: all of the log's).

    Returns:
        Examples with requests numbered in time order, rows of each request adjacent.
    """
    settings = candidates or CandidateSettings()
    events = tuple(events or interactions.event_types)
    unknown = [e for e in events if e not in interactions.event_types]
    if unknown:
        raise DataError(f"events {unknown} are not in the log (it has {interactions.event_types}).")
    users, moments, until = _checked_requests(interactions, requests)
    lists = _candidate_lists(interactions, builder, users, moments, until, settings)
    sizes = np.array([len(items) for items, _ in lists], np.int64)
    items = np.concatenate([items for items, _ in lists]) if lists else np.zeros(0, np.int64)
    row_user, row_moment = np.repeat(users, sizes), np.repeat(moments, sizes)
    frame = pd.DataFrame(
        {
            "request": np.repeat(np.arange(len(lists), dtype=np.int64), sizes),
            "user": interactions.users.external(row_user),
            "item": interactions.items.external(items),
            "timestamp": row_moment,
        }
    )
    features = pd.DataFrame(
        builder.matrix(row_user, items, row_moment), columns=list(builder.features)
    )
    labels = _labels(lists, sizes, events, interactions)
    frame = pd.concat([frame, features, labels], axis=1)
    return RankingExamples(frame, builder.features, events, builder.categorical)


def _checked_requests(
    interactions: Interactions, requests: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    missing = [c for c in ("user", "timestamp") if c not in requests.columns]
    if missing:
        raise SchemaError(f"requests lack the columns {missing}; give user and timestamp.")
    users = interactions.users.index(requests["user"].astype(str).tolist())
    if (users < 0).any():
        strangers = requests["user"][users < 0].astype(str).tolist()[:3]
        raise DataError(
            f"{int((users < 0).sum())} requests name users not in the log: {strangers}."
        )
    moments = requests["timestamp"].to_numpy(np.int64)
    until = requests["until"].to_numpy(np.int64) if "until" in requests.columns else moments + DAY_S
    order = np.lexsort((users, moments))
    return users[order], moments[order], until[order]


def _candidate_lists(
    interactions: Interactions,
    builder: FeatureBuilder,
    users: np.ndarray,
    moments: np.ndarray,
    until: np.ndarray,
    settings: CandidateSettings,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per request: candidate items (shuffled) and the events (item, type) in its window."""
    rng = np.random.default_rng(settings.seed)
    histories = [
        builder.history(int(u), int(t))[-200:] for u, t in zip(users, moments, strict=True)
    ]
    generated = builder.scores_.top(histories, settings.generated)
    popular = _popular_before(interactions, moments, settings.popular * 5)
    offsets = interactions.offsets()
    lists = []
    for row, (user, moment, end) in enumerate(zip(users, moments, until, strict=True)):
        start, stop = int(offsets[user]), int(offsets[user + 1])
        times = interactions.timestamp[start:stop]
        low = start + int(np.searchsorted(times, moment, "left"))
        high = start + int(np.searchsorted(times, end, "left"))
        window = interactions.item[low:high].astype(np.int64)
        window_events = np.stack([window, interactions.event[low:high].astype(np.int64)], axis=1)
        drawn = rng.choice(popular[moment], min(settings.popular, len(popular[moment])), False)
        pool = [np.unique(window), generated[row][generated[row] >= 0], drawn]
        items = _fill(pool, settings.size, interactions.n_items, rng)
        lists.append((rng.permutation(items), window_events))
    return lists


def _popular_before(
    interactions: Interactions, moments: np.ndarray, top: int
) -> dict[int, np.ndarray]:
    """Per distinct moment, the ``top`` items with the most events before it."""
    order = np.argsort(interactions.timestamp, kind="stable")
    times, items = interactions.timestamp[order], interactions.item[order]
    popular = {}
    for moment in np.unique(moments):
        cut = int(np.searchsorted(times, moment, "left"))
        counts = np.bincount(items[:cut], minlength=interactions.n_items)
        best = np.argsort(-counts, kind="stable")[:top]
        popular[int(moment)] = best[counts[best] > 0]
    return popular


def _fill(pool: list[np.ndarray], size: int, n_items: int, rng: np.random.Generator) -> np.ndarray:
    """The pool's items in order without repeats, then random items up to ``size``."""
    chosen = list(dict.fromkeys(int(i) for part in pool for i in part))
    wanted = max(size - len(chosen), 0)
    if wanted:
        taken = set(chosen)
        extra = rng.choice(n_items, min(n_items, wanted * 2 + 10), replace=False)
        chosen.extend([int(i) for i in extra if int(i) not in taken][:wanted])
    return np.asarray(chosen, np.int64)


def _labels(
    lists: list[tuple[np.ndarray, np.ndarray]],
    sizes: np.ndarray,
    events: tuple[str, ...],
    interactions: Interactions,
) -> pd.DataFrame:
    """0/1 per row and event: did the user do it to the candidate in the window?"""
    columns = {label_column(e): np.zeros(int(sizes.sum()), np.int8) for e in events}
    codes = {e: interactions.event_types.index(e) for e in events}
    start = 0
    for (items, window), size in zip(lists, sizes, strict=True):
        for event, code in codes.items():
            done = window[window[:, 1] == code, 0]
            columns[label_column(event)][start : start + size] = np.isin(items, done)
        start += int(size)
    return pd.DataFrame(columns)
