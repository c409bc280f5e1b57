"""Interaction logs in memory: who did what to which listing, when, with dense indices.

Recommenders learn from events ``(user, item, timestamp, event, value)``. :class:`Interactions`
holds them validated and sorted by user then time, with explicit id maps (external ids <->
dense indices) that every saved model carries, so a model answers in the marketplace's own ids.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from furima.catalog._event_frame import (
    DEFAULT_EVENT_WEIGHTS,
    EVENT_COLUMNS,
    as_seconds,
    event_codes,
    external_ids,
    seconds_column,
    values_column,
)
from furima.exceptions import DataError

if TYPE_CHECKING:
    import scipy.sparse as sp

__all__ = ["DEFAULT_EVENT_WEIGHTS", "EVENT_COLUMNS", "IdMap", "Interactions", "as_seconds"]


@dataclass(frozen=True, eq=False)
class IdMap:
    """External ids (as strings) <-> dense indices ``0..n-1`` (the position in ``ids``)."""

    ids: np.ndarray
    _lookup: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        ids = np.asarray(self.ids).astype(str).astype(object)
        object.__setattr__(self, "ids", ids)
        lookup = {value: i for i, value in enumerate(ids)}
        if len(lookup) != len(ids):
            raise ValueError("an IdMap's ids must be unique")
        object.__setattr__(self, "_lookup", lookup)

    @classmethod
    def of(cls, values: Iterable[Any]) -> IdMap:
        """The map of the distinct values, in order of first appearance."""
        return cls(np.asarray(list(dict.fromkeys(str(v) for v in values)), dtype=object))

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, external: object) -> bool:
        return str(external) in self._lookup

    def index(self, external: Sequence[Any] | np.ndarray) -> np.ndarray:
        """Dense indices of external ids; ``-1`` for ids the map does not know."""
        return np.fromiter(
            (self._lookup.get(str(value), -1) for value in external),
            dtype=np.int64,
            count=len(external),
        )

    def external(self, indices: Sequence[int] | np.ndarray) -> np.ndarray:
        """External ids of dense indices."""
        return self.ids[np.asarray(indices, dtype=np.int64)]

    def to_list(self) -> list[str]:
        return [str(v) for v in self.ids]


@dataclass(frozen=True, eq=False)
class Interactions:
    """Validated events, sorted by user then time (ties keep file order).

    Attributes:
        user: Dense user index per event (int32).
        item: Dense item index per event (int32).
        timestamp: Event time (int64: Unix seconds, or the position in a sequence file).
        event: Index into ``event_types`` per event (int16).
        value: The event's own value (rating, quantity; 1.0 when the log has none).
        users: User id map.
        items: Item id map (its length is the catalog size models score over).
        event_types: Names of the event types.
        event_weights: Weight of each event type, aligned with ``event_types``.
    """

    user: np.ndarray
    item: np.ndarray
    timestamp: np.ndarray
    event: np.ndarray
    value: np.ndarray
    users: IdMap
    items: IdMap
    event_types: tuple[str, ...] = ("interaction",)
    event_weights: np.ndarray = field(default_factory=lambda: np.ones(1, dtype=np.float32))

    def __len__(self) -> int:
        return len(self.user)

    @property
    def n_users(self) -> int:
        return len(self.users)

    @property
    def n_items(self) -> int:
        return len(self.items)

    @property
    def weight(self) -> np.ndarray:
        """Per-event weight: the event type's weight times the event's value."""
        weight: np.ndarray = (self.event_weights[self.event] * self.value).astype(np.float32)
        return weight

    @classmethod
    def from_sequences(cls, sequences: Mapping[str, Sequence[str]]) -> Interactions:
        """Events from time-ordered item sequences per user (the public benchmarks' format);
        each event's timestamp is its position in the user's sequence."""
        users = IdMap(np.asarray(list(sequences), dtype=object))
        items = IdMap.of(item for seq in sequences.values() for item in seq)
        lengths = np.fromiter((len(s) for s in sequences.values()), dtype=np.int64)
        flat = [item for seq in sequences.values() for item in seq]
        return cls(
            user=np.repeat(np.arange(len(users), dtype=np.int32), lengths),
            item=items.index(flat).astype(np.int32),
            timestamp=np.concatenate([np.arange(n, dtype=np.int64) for n in lengths])
            if len(lengths)
            else np.zeros(0, dtype=np.int64),
            event=np.zeros(len(flat), dtype=np.int16),
            value=np.ones(len(flat), dtype=np.float32),
            users=users,
            items=items,
        )

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        *,
        event_weights: Mapping[str, float] | None = None,
        items: IdMap | None = None,
    ) -> Interactions:
        """Events from a frame of :data:`EVENT_COLUMNS` (external ids, int64 seconds; ``event``
        and ``value`` optional), sorted by user then time, ties in frame order.

        Users are indexed in order of first appearance; items by ``items`` (the catalog's map,
        so indices match the catalog: an unknown item is an error) or in order of first
        appearance. Event types are ``event_weights``' keys (any other type is an error), else
        the types present, weighted as in :data:`DEFAULT_EVENT_WEIGHTS` (1.0 for others).

        Raises:
            SchemaError: A required column is missing. DataError: missing ids, non-integer
                timestamps, bad values, unknown items or event types.
        """
        user = external_ids(frame, "user")
        item = external_ids(frame, "item")
        timestamp = seconds_column(frame)
        event_types, weights, event = event_codes(frame, event_weights)
        value = values_column(frame)
        users = IdMap.of(user)
        items = items if items is not None else IdMap.of(item)
        item_index = items.index(item)
        if (item_index < 0).any():
            unknown = list(dict.fromkeys(item[item_index < 0]))
            raise DataError(
                f"{len(unknown)} items are not in the item map, e.g. {unknown[:3]}; drop their "
                "events or pass the map that holds them (read_interactions reports them by row)."
            )
        user_index = users.index(user)
        order = np.lexsort((timestamp, user_index))
        return cls(
            user=user_index[order].astype(np.int32),
            item=item_index[order].astype(np.int32),
            timestamp=timestamp[order],
            event=event[order],
            value=value[order],
            users=users,
            items=items,
            event_types=event_types,
            event_weights=weights,
        )

    def to_frame(self) -> pd.DataFrame:
        """The events with external ids and event names (:data:`EVENT_COLUMNS`), in order."""
        return pd.DataFrame(
            {
                "user": self.users.external(self.user),
                "item": self.items.external(self.item),
                "timestamp": self.timestamp.astype(np.int64),
                "event": np.asarray(self.event_types, dtype=object)[self.event],
                "value": self.value.astype(np.float64),
            }
        )

    @property
    def weights_by_event(self) -> dict[str, float]:
        """``{event type: weight}``, as ``event_weights=`` takes it."""
        return {t: float(w) for t, w in zip(self.event_types, self.event_weights, strict=True)}

    def validate(self) -> Interactions:
        """Check the invariants (aligned arrays, indices in range, user-then-time order,
        finite non-negative weights and values); returns self.

        Raises:
            DataError: Naming the first invariant that fails.
        """
        for problem in _invariant_problems(self):
            raise DataError(f"inconsistent interactions: {problem}.")
        return self

    def offsets(self) -> np.ndarray:
        """``offsets[u]:offsets[u + 1]`` are user ``u``'s events (length ``n_users + 1``)."""
        counts = np.bincount(self.user, minlength=self.n_users)
        return np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)

    def histories(self) -> list[np.ndarray]:
        """Each user's items in time order (one array per dense user index)."""
        offsets = self.offsets()
        return [self.item[offsets[u] : offsets[u + 1]] for u in range(self.n_users)]

    def matrix(self) -> sp.csr_matrix:
        """Users x items, the weights of repeated events summed."""
        import scipy.sparse as sp

        return sp.csr_matrix(
            (self.weight, (self.user, self.item)), shape=(self.n_users, self.n_items)
        )

    def subset(self, mask: np.ndarray) -> Interactions:
        """The events where ``mask`` holds, with the same id maps."""
        return Interactions(
            user=self.user[mask],
            item=self.item[mask],
            timestamp=self.timestamp[mask],
            event=self.event[mask],
            value=self.value[mask],
            users=self.users,
            items=self.items,
            event_types=self.event_types,
            event_weights=self.event_weights,
        )


def _invariant_problems(data: Interactions) -> Iterable[str]:
    n = len(data.user)
    arrays = {"item": data.item, "timestamp": data.timestamp, "event": data.event}
    for name, array in {**arrays, "value": data.value}.items():
        if len(array) != n:
            yield f"{len(array)} {name}s for {n} events"
    if len(data.event_weights) != len(data.event_types):
        yield f"{len(data.event_weights)} event weights for {len(data.event_types)} event types"
    for name, index, size in (
        ("user", data.user, data.n_users),
        ("item", data.item, data.n_items),
        ("event", data.event, len(data.event_types)),
    ):
        if n and (index.min() < 0 or index.max() >= size):
            yield f"{name} indices outside 0..{size - 1}"
    if not np.all(np.isfinite(data.value) & (data.value >= 0)):
        yield "values must be finite and >= 0"
    if not np.all(np.isfinite(data.event_weights) & (data.event_weights >= 0)):
        yield "event weights must be finite and >= 0"
    same_user = data.user[1:] == data.user[:-1]
    if np.any(data.user[1:] < data.user[:-1]) or np.any(
        same_user & (data.timestamp[1:] < data.timestamp[:-1])
    ):
        yield "events must be sorted by user, then time"
