"""Point-in-time features for (user, item, moment) rows, computed from events before the moment.

A ranker learns from requests in the past and answers requests now; its features must say
only what was known at each request's moment, or it learns from the future and fails in
production. :class:`FeatureBuilder` keeps every event in sorted key/time arrays
(:class:`Timeline`) and answers "how many ``view`` events had user ``u`` before ``t``" for
whole columns of rows at once with :func:`numpy.searchsorted`: the same numbers as from the log
cut at ``t``, with no loop per row. Candidate-generator scores come from generators fitted on
events before a cut-off (the training window's start), scored on each user's history up to
the row's moment.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Self

import numpy as np
import pandas as pd

from furima.catalog._interactions import Interactions
from furima.exceptions import DataError, NotFittedError
from furima.ranking._feature_scores import GeneratorScores

if TYPE_CHECKING:
    from furima.recommend._items import ItemColumns

__all__ = ["DEFAULT_FEATURE_GENERATORS", "FeatureBuilder", "Timeline"]

DEFAULT_FEATURE_GENERATORS: tuple[str, ...] = ("popularity", "item_knn", "als")
DAY_S = 86_400
_HISTORY_CAP = 200  # the latest items of a history that generators score


class Timeline:
    """Events as (key, time) pairs, sorted, to count and date them before any moment.

    ``count(keys, t)`` is the number of events with each key strictly before each ``t``;
    ``last``/``first`` the latest/earliest such time (NaN when none).
    """

    def __init__(self, keys: np.ndarray, times: np.ndarray) -> None:
        keys, times = np.asarray(keys, np.int64), np.asarray(times, np.int64)
        order = np.lexsort((times, keys))
        self.keys_ = np.unique(keys)
        self.t0_ = int(times.min()) if len(times) else 0
        self.span_ = (int(times.max()) - self.t0_ + 2) if len(times) else 2
        group = np.searchsorted(self.keys_, keys[order])
        self.times_ = times[order]
        self.sorted_ = group * self.span_ + (self.times_ - self.t0_)

    def _bounds(self, keys: np.ndarray, moments: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        keys = np.asarray(keys, np.int64)
        if not len(self.keys_):  # no events at all: nothing before any moment
            nothing = np.zeros(len(keys), np.int64)
            return nothing, nothing
        group = np.searchsorted(self.keys_, keys)
        inside = group < len(self.keys_)
        present = inside & (self.keys_[np.minimum(group, len(self.keys_) - 1)] == keys)
        offset = np.clip(np.asarray(moments, np.int64) - self.t0_, 0, self.span_ - 1)
        base = group * self.span_
        low = np.searchsorted(self.sorted_, base, "left")
        high = np.searchsorted(self.sorted_, base + offset, "left")
        high = np.where(present, high, low)
        return low, high

    def count(self, keys: np.ndarray, moments: np.ndarray) -> np.ndarray:
        low, high = self._bounds(keys, moments)
        counts: np.ndarray = (high - low).astype(np.float32)
        return counts

    def last(self, keys: np.ndarray, moments: np.ndarray) -> np.ndarray:
        low, high = self._bounds(keys, moments)
        found = high > low
        times = self.times_[np.maximum(high - 1, 0)] if len(self.times_) else np.zeros(len(low))
        return np.where(found, times, np.nan)

    def first(self, keys: np.ndarray, moments: np.ndarray) -> np.ndarray:
        low, high = self._bounds(keys, moments)
        found = high > low
        times = self.times_[np.minimum(low, len(self.times_) - 1)] if len(self.times_) else low
        return np.where(found, times, np.nan)


class FeatureBuilder:
    """Features of (user, item, moment) rows from the events strictly before each moment.

    Args:
        generators: Candidate generators whose history scores become features
            (:data:`furima.recommend.GENERATORS` names); ``()`` for none.
        recent_s: The recent window of the ``*_recent_*`` counts, in seconds.
        conversion_prior: Views added to each item's denominator of its conversion ratios,
            so that an item seen twice and bought once does not look like a sure sale.
        als_factors: Latent dimensions of the ``als`` generator (also the embedding of the
            user-item similarity feature).
        seed: Seeds the generators.
    """

    def __init__(
        self,
        *,
        generators: Sequence[str] = DEFAULT_FEATURE_GENERATORS,
        recent_s: int = DAY_S,
        conversion_prior: float = 10.0,
        als_factors: int = 32,
        seed: int = 0,
    ) -> None:
        self.generators = tuple(generators)
        self.recent_s = int(recent_s)
        self.conversion_prior = float(conversion_prior)
        self.als_factors = als_factors
        self.seed = seed

    # ------------------------------------------------------------------ fitting
    def fit(
        self,
        interactions: Interactions,
        *,
        listings: pd.DataFrame | None = None,
        columns: ItemColumns | None = None,
        category: np.ndarray | Sequence[Any] | None = None,
        generators_before: int | None = None,
    ) -> Self:
        """Index the events; fit the generators on the events before ``generators_before``
        (Unix seconds; ``None``: on all events).

        Args:
            interactions: The event log.
            listings: The catalog (category and price per listing through ``columns``).
            columns: Which listing columns hold the id, category and price.
            category: A category per item of ``interactions.items`` (for logs such as
                Taobao's that carry one), instead of or besides the listings'.
        """
        if len(interactions) == 0:
            raise DataError("the interaction log is empty; features need past events.")
        self.events_ = interactions
        self.event_types_ = tuple(interactions.event_types)
        codes, names, prices = _item_attributes(interactions, listings, columns, category)
        self.category_, self.category_names_, self.price_ = codes, names, prices
        self._index()
        early = interactions
        if generators_before is not None:
            early = interactions.subset(interactions.timestamp < generators_before)
        self.scores_ = GeneratorScores(self.generators, self.als_factors, self.seed).fit(early)
        self.generators_before_ = generators_before
        return self

    def refit_generators(self, interactions: Interactions | None = None) -> Self:
        """Fit the generators again on all events (the builder's, or ``interactions`` with the
        same id maps): for serving, once the ranker has learned from point-in-time rows."""
        self._check_fitted()
        events = interactions if interactions is not None else self.events_
        self.scores_ = GeneratorScores(self.generators, self.als_factors, self.seed).fit(events)
        self.generators_before_ = None
        return self

    def _index(self) -> None:
        """Build the timelines (also after loading: they are derived, not saved)."""
        ev = self.events_
        n_types, n_items = len(self.event_types_), max(ev.n_items, 1)
        n_cats = max(len(self.category_names_), 1)
        user, item = ev.user.astype(np.int64), ev.item.astype(np.int64)
        cat = self.category_[item] if len(self.category_) else np.full(len(item), -1)
        typed = ev.event.astype(np.int64)
        t = ev.timestamp
        has_cat = cat >= 0
        pair, user_cat = user * n_items + item, user * n_cats + cat
        self.keys_ = {"n_types": n_types, "n_items": n_items, "n_cats": n_cats}
        self.by_user_ = Timeline(user * n_types + typed, t)
        self.user_any_ = Timeline(user, t)
        self.by_item_ = Timeline(item * n_types + typed, t)
        self.item_any_ = Timeline(item, t)
        self.by_cat_ = Timeline((cat * n_types + typed)[has_cat], t[has_cat])
        self.by_pair_ = Timeline(pair * n_types + typed, t)
        self.pair_any_ = Timeline(pair, t)
        self.by_user_cat_ = Timeline((user_cat * n_types + typed)[has_cat], t[has_cat])
        self.user_cat_any_ = Timeline(user_cat[has_cat], t[has_cat])
        first_pair = _firsts(pair, t)
        self.user_items_ = Timeline(user[first_pair], t[first_pair])
        self.item_users_ = Timeline(item[first_pair], t[first_pair])
        first_cat = _firsts(user_cat, t) & has_cat
        self.user_cats_ = Timeline(user[first_cat], t[first_cat])
        self.offsets_ = ev.offsets()
        self.popularity_ = np.bincount(item, minlength=ev.n_items)

    def popular(self, k: int) -> np.ndarray:
        """The ``k`` items with the most events (dense indices), most first."""
        self._check_fitted()
        order: np.ndarray = np.argsort(-self.popularity_, kind="stable")[:k]
        return order.astype(np.int64)

    # ------------------------------------------------------------------ describing
    @property
    def features(self) -> tuple[str, ...]:
        """Feature column names, in the order :meth:`matrix` returns them."""
        self._check_fitted()
        names = [_safe(e) for e in self.event_types_]
        conversions = [f"item_conv_{n}" for n in names[1:]]
        return (
            *[f"user_n_{n}" for n in names],
            *[f"user_recent_{n}" for n in names],
            "user_items",
            "user_categories",
            "user_since_last",
            *[f"item_n_{n}" for n in names],
            *[f"item_recent_{n}" for n in names],
            "item_users",
            *conversions,
            "item_since_first",
            "item_since_last",
            *[f"cat_n_{n}" for n in names],
            *[f"cat_recent_{n}" for n in names],
            *[f"ui_n_{n}" for n in names],
            "ui_since_last",
            *[f"uc_n_{n}" for n in names],
            "uc_share",
            "uc_since_last",
            "item_category",
            "item_price",
            *self.scores_.names,
        )

    @property
    def categorical(self) -> tuple[str, ...]:
        return ("item_category",)

    # ------------------------------------------------------------------ computing
    def matrix(
        self,
        users: np.ndarray,
        items: np.ndarray,
        moments: np.ndarray,
        *,
        histories: Sequence[np.ndarray] | None = None,
        requests: np.ndarray | None = None,
    ) -> np.ndarray:
        """Features float32 ``[rows, features]`` for dense user/item indices at ``moments``.

        Args:
            users: Dense user index per row; ``-1`` for a user the log does not know.
            items: Dense item index per row (known items only).
            moments: Unix seconds per row; only events strictly before count.
            histories: Explicit histories (dense item indices) per request, for visitors
                scored by what they just looked at, instead of the logged ones.
            requests: Index into ``histories`` per row (required with ``histories``).
        """
        self._check_fitted()
        users = np.asarray(users, np.int64)
        items = np.asarray(items, np.int64)
        moments = np.asarray(moments, np.int64)
        if not len(items):
            return np.zeros((0, len(self.features)), np.float32)
        if items.min() < 0 or items.max() >= self.events_.n_items:
            raise DataError("feature rows name items outside the builder's catalog.")
        columns = [
            *self._user_columns(users, moments),
            *self._item_columns(items, moments),
            *self._pair_columns(users, items, moments),
        ]
        request_of, request_histories = self._histories(users, moments, histories, requests)
        columns.extend(self.scores_.columns(items, request_of, request_histories))
        return np.column_stack(columns).astype(np.float32, copy=False)

    def frame(self, users: np.ndarray, items: np.ndarray, moments: np.ndarray) -> pd.DataFrame:
        """:meth:`matrix` as a frame with the feature names."""
        return pd.DataFrame(self.matrix(users, items, moments), columns=list(self.features))

    def history(self, user: int, moment: int) -> np.ndarray:
        """The user's items (dense indices) before ``moment``, oldest first."""
        self._check_fitted()
        if user < 0:
            return np.zeros(0, np.int64)
        start, stop = int(self.offsets_[user]), int(self.offsets_[user + 1])
        cut = start + int(np.searchsorted(self.events_.timestamp[start:stop], moment, "left"))
        return self.events_.item[start:cut].astype(np.int64)

    def _typed(self, timeline: Timeline, keys: np.ndarray, moments: np.ndarray) -> list[Any]:
        """Counts per event type, one searchsorted pass for every type (fast for small
        requests, where each numpy call's overhead counts)."""
        n_types = self.keys_["n_types"]
        typed = (keys[None, :] * n_types + np.arange(n_types)[:, None]).ravel()
        counts = timeline.count(typed, np.tile(moments, n_types)).reshape(n_types, len(keys))
        return list(counts)

    def _counts(self, timeline: Timeline, keys: np.ndarray, moments: np.ndarray) -> list[Any]:
        """All-time and recent counts per event type."""
        both = self._typed(timeline, np.tile(keys, 2), np.r_[moments, moments - self.recent_s])
        rows = len(keys)
        total = [c[:rows] for c in both]
        return [*total, *[c[:rows] - c[rows:] for c in both]]

    def _user_columns(self, users: np.ndarray, moments: np.ndarray) -> list[Any]:
        return [
            *self._counts(self.by_user_, users, moments),
            self.user_items_.count(users, moments),
            self.user_cats_.count(users, moments),
            moments - self.user_any_.last(users, moments),
        ]

    def _item_columns(self, items: np.ndarray, moments: np.ndarray) -> list[Any]:
        counts = self._counts(self.by_item_, items, moments)
        n_types = self.keys_["n_types"]
        base = counts[0] + self.conversion_prior
        category = self.category_[items] if len(self.category_) else np.full(len(items), -1)
        return [
            *counts,
            self.item_users_.count(items, moments),
            *[counts[e] / base for e in range(1, n_types)],
            moments - self.item_any_.first(items, moments),
            moments - self.item_any_.last(items, moments),
            *self._counts(self.by_cat_, np.where(category >= 0, category, -1), moments),
        ]

    def _pair_columns(self, users: np.ndarray, items: np.ndarray, moments: np.ndarray) -> list[Any]:
        n_items, n_cats = self.keys_["n_items"], self.keys_["n_cats"]
        category = self.category_[items] if len(self.category_) else np.full(len(items), -1)
        known = users >= 0
        pair = np.where(known, users * n_items + items, -1)
        user_cat = np.where(known & (category >= 0), users * n_cats + category, -1)
        uc_counts = self._typed(self.by_user_cat_, user_cat, moments)
        user_total = self.user_any_.count(users, moments)
        return [
            *self._typed(self.by_pair_, pair, moments),
            moments - self.pair_any_.last(pair, moments),
            *uc_counts,
            np.sum(uc_counts, axis=0) / np.maximum(user_total, 1.0),
            moments - self.user_cat_any_.last(user_cat, moments),
            category.astype(np.float32),
            self.price_[items] if len(self.price_) else np.full(len(items), np.nan),
        ]

    def _histories(
        self,
        users: np.ndarray,
        moments: np.ndarray,
        histories: Sequence[np.ndarray] | None,
        requests: np.ndarray | None,
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Each row's request and each request's (capped) history."""
        if histories is not None:
            if requests is None:
                raise DataError("explicit histories need requests= (a history index per row).")
            return np.asarray(requests, np.int64), [np.asarray(h, np.int64) for h in histories]
        pairs = np.stack([users, moments], axis=1)
        unique, request_of = np.unique(pairs, axis=0, return_inverse=True)
        found = [self.history(int(u), int(t))[-_HISTORY_CAP:] for u, t in unique]
        return request_of.reshape(-1), found

    def _check_fitted(self) -> None:
        if not hasattr(self, "scores_"):
            raise NotFittedError("This FeatureBuilder is not fitted yet; call fit() first.")


def _safe(name: str) -> str:
    return re.sub(r"[^0-9A-Za-z_]+", "_", name).strip("_").lower() or "event"


def _firsts(keys: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Mask of each key's earliest event."""
    order = np.lexsort((times, keys))
    first = np.ones(len(keys), bool)
    first[1:] = keys[order][1:] != keys[order][:-1]
    mask = np.zeros(len(keys), bool)
    mask[order[first]] = True
    return mask


def _item_attributes(
    interactions: Interactions,
    listings: pd.DataFrame | None,
    columns: ItemColumns | None,
    category: np.ndarray | Sequence[Any] | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Category codes (``-1``: unknown), category names and prices per item."""
    n_items = interactions.n_items
    names = np.full(n_items, "", dtype=object)
    prices = np.full(n_items, np.nan, np.float32)
    if listings is not None:
        from furima.recommend._items import ItemCatalog, ItemColumns

        catalog = ItemCatalog.from_listings(listings, columns or ItemColumns(), interactions.items)
        names = catalog.categories.astype(str).astype(object)
        prices = catalog.prices.astype(np.float32)
    if category is not None:
        given = np.asarray(category).astype(str).astype(object)
        if len(given) != n_items:
            raise DataError(
                f"category= has {len(given)} values but the log names {n_items} items; give "
                "one category per item of interactions.items, in its order."
            )
        names = np.where(given != "", given, names)
    codes, uniques = pd.factorize(pd.Series(names).replace("", None), use_na_sentinel=True)
    return codes.astype(np.int64), np.asarray(uniques, dtype=object), prices
