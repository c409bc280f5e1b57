"""Event-log plumbing for the Recommender: the catalog's listings joined to the item map,
the validation hold-out, and new events merged under a fitted model's id maps."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from furima.catalog._interactions import IdMap, Interactions
from furima.catalog._splits import NextItemTargets, leave_last_out
from furima.exceptions import DataError

if TYPE_CHECKING:
    import pandas as pd

    from furima.recommend._items import ItemColumns

__all__ = ["listing_ids", "merge_events", "reindexed", "training_split", "with_catalog"]


def listing_ids(listings: pd.DataFrame, columns: ItemColumns) -> np.ndarray:
    if columns.id not in listings.columns:
        raise DataError(
            f"the listings have no id column {columns.id!r}; pass ItemColumns(id=...) naming "
            f"the column that holds the log's item ids."
        )
    ids: np.ndarray = listings[columns.id].astype(str).to_numpy(dtype=object)
    return ids


def with_catalog(interactions: Interactions, listing_ids: np.ndarray) -> Interactions:
    """The events with every catalog listing in the item map (listings nobody has touched
    yet are appended, so content similarity can recommend them). A log whose items are
    mostly missing from the catalog is refused: its ids are probably of another system."""
    logged = interactions.items.ids
    known = np.isin(logged, listing_ids)
    if known.mean() < 0.5:
        raise DataError(
            f"{int((~known).sum())} of the log's {len(logged)} listings are not in the catalog "
            f"(log ids like {', '.join(map(str, logged[~known][:3]))}; catalog ids like "
            f"{', '.join(map(str, listing_ids[:3]))}): the log and the catalog do not use the "
            f"same ids. Map them to one id, or pass ItemColumns(id=...) naming the right column."
        )
    fresh = listing_ids[~np.isin(listing_ids, logged)]
    if not len(fresh):
        return interactions
    items = IdMap(np.concatenate([logged, np.asarray(list(dict.fromkeys(fresh)), dtype=object)]))
    return replace(interactions, items=items)


def training_split(
    interactions: Interactions, valid: NextItemTargets | None
) -> tuple[Interactions, NextItemTargets | None]:
    """Without given validation queries, hold out each user's last event to learn the blend."""
    if valid is not None:
        return interactions, valid
    counts = np.diff(interactions.offsets())
    if not (counts >= 3).any():
        return interactions, None
    split = leave_last_out(interactions)
    held = interactions.subset(~_last_events(interactions) | ~np.repeat(counts >= 3, counts))
    return held, split.test


def _last_events(interactions: Interactions) -> np.ndarray:
    offsets = interactions.offsets()
    last = np.zeros(len(interactions), dtype=bool)
    ends = offsets[1:][np.diff(offsets) > 0] - 1
    last[ends] = True
    return last


def merge_events(old: Interactions, new: Interactions) -> Interactions:
    """``old`` and ``new`` events under ``old``'s id maps (new users appended)."""
    items = old.items.index(new.items.external(new.item))
    if (items < 0).any():
        unknown = sorted(set(new.items.external(new.item[items < 0])))
        raise DataError(
            f"{len(unknown)} listing(s) in the new events are unknown to the model "
            f"(e.g. {', '.join(unknown[:5])}); refit the recommender to learn new listings."
        )
    external_users = new.users.external(new.user)
    users = IdMap(np.concatenate([old.users.ids, _new_ids(old.users, external_users)]))
    types = list(old.event_types)
    new_types = [t for t in new.event_types if t not in types]
    if new_types:
        raise DataError(
            f"new event type(s) {new_types} are not among the model's {types}; refit to add them."
        )
    event = np.array([types.index(new.event_types[e]) for e in new.event], dtype=np.int16)
    user = np.concatenate([old.user, users.index(external_users)]).astype(np.int32)
    order = np.lexsort((np.concatenate([old.timestamp, new.timestamp]), user))
    return Interactions(
        user=user[order],
        item=np.concatenate([old.item, items]).astype(np.int32)[order],
        timestamp=np.concatenate([old.timestamp, new.timestamp])[order],
        event=np.concatenate([old.event, event])[order],
        value=np.concatenate([old.value, new.value]).astype(np.float32)[order],
        users=users,
        items=old.items,
        event_types=old.event_types,
        event_weights=old.event_weights,
    )


def _new_ids(known: IdMap, external: np.ndarray) -> np.ndarray:
    fresh = [u for u in dict.fromkeys(str(u) for u in external) if u not in known]
    return np.asarray(fresh, dtype=object)


def reindexed(new: Interactions, merged: Interactions) -> Interactions:
    """``new``'s events under the merged id maps and event types."""
    types = list(merged.event_types)
    return Interactions(
        user=merged.users.index(new.users.external(new.user)).astype(np.int32),
        item=merged.items.index(new.items.external(new.item)).astype(np.int32),
        timestamp=new.timestamp,
        event=np.array([types.index(new.event_types[e]) for e in new.event], dtype=np.int16),
        value=new.value,
        users=merged.users,
        items=merged.items,
        event_types=merged.event_types,
        event_weights=merged.event_weights,
    )
