"""Interaction mappings: which column of an event log feeds each canonical event field.

The interaction counterpart of :class:`~furima.catalog.ColumnMapping`: a preset
(:func:`get_interaction_mapping`), a JSON file, or an :class:`InteractionMapping`::

    {"user": "buyer_id", "item": "listing_id", "timestamp": "created_at",
     "event": "action", "events": {"fav": "like", "buy": "purchase"}}

``events`` renames the log's own event values to the marketplace's types (Taobao's ``pv`` is a
``view``). A log whose columns carry the canonical names (``user``, ``item``, ``timestamp``,
optional ``event`` and ``value``) needs no mapping.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from furima.catalog._mapping_file import MappingFile, resolve_mapping
from furima.exceptions import SchemaError

__all__ = [
    "INTERACTION_PRESETS",
    "TIMESTAMP_UNITS",
    "InteractionMapping",
    "detect_interaction_mapping",
    "get_interaction_mapping",
    "resolve_interaction_mapping",
]

_FIELDS = ("user", "item", "timestamp", "event", "value")
_REQUIRED = ("user", "item", "timestamp")
_KEYS = (*_FIELDS, "events", "timestamp_unit")
TIMESTAMP_UNITS: tuple[str, ...] = ("auto", "s", "ms")
"""Units of numeric timestamps; ``auto``: milliseconds when the column's median is >= 1e11
(1e11 seconds is the year 5138, 1e11 milliseconds 1973)."""


@dataclass(frozen=True)
class InteractionMapping(MappingFile):
    """Source column of each canonical event field (``event`` and ``value``: ``None`` when the
    log has none: every event is an ``"interaction"`` of value 1).

    Attributes:
        events: The log's event values renamed to the marketplace's types (``{"pv": "view"}``);
            values not listed keep their own name.
        timestamp_unit: Unit of numeric timestamps (:data:`TIMESTAMP_UNITS`); date-time text
            and typed date-time columns need none.
    """

    user: str = "user"
    item: str = "item"
    timestamp: str = "timestamp"
    event: str | None = None
    value: str | None = None
    events: Mapping[str, str] = field(default_factory=dict)
    timestamp_unit: str = "auto"

    def __post_init__(self) -> None:
        for key in _REQUIRED:
            if not isinstance(getattr(self, key), str) or not getattr(self, key):
                raise SchemaError(
                    f"an interaction mapping must name the {key!r} column, "
                    f'e.g. {{"{key}": "<column>"}}; got {getattr(self, key)!r}.'
                )
        if self.timestamp_unit not in TIMESTAMP_UNITS:
            raise SchemaError(
                f"timestamp_unit must be one of {list(TIMESTAMP_UNITS)}, "
                f"got {self.timestamp_unit!r}."
            )
        if self.events and self.event is None:
            raise SchemaError(
                "the mapping renames events but names no 'event' column; add "
                '{"event": "<event column>"} or drop "events".'
            )
        object.__setattr__(self, "events", dict(_event_names(self.events)))

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> InteractionMapping:
        """Build from ``{"user": ..., "item": ..., "timestamp": ..., "event": ..., ...}``.

        Raises:
            SchemaError: Unknown keys, or values of the wrong kind.
        """
        unknown = sorted(str(key) for key in data if key not in _KEYS)
        if unknown:
            raise SchemaError(f"unknown mapping keys {unknown}; valid keys are {list(_KEYS)}.")
        values: dict[str, Any] = {}
        for key in _FIELDS:
            if key in data:
                values[key] = _column_name(key, data[key])
        if "events" in data:
            values["events"] = _event_names(data["events"])
        if "timestamp_unit" in data:
            values["timestamp_unit"] = data["timestamp_unit"]
        return cls(**values)

    def to_dict(self) -> dict[str, object]:
        """The mapping as :meth:`from_dict` reads it."""
        data: dict[str, object] = {key: getattr(self, key) for key in _FIELDS}
        return {**data, "events": dict(self.events), "timestamp_unit": self.timestamp_unit}

    def fields(self) -> dict[str, str]:
        """``{canonical field: source column}`` for the mapped fields."""
        return {key: getattr(self, key) for key in _FIELDS if getattr(self, key) is not None}

    def source_columns(self) -> list[str]:
        """Every source column the mapping reads, without repeats."""
        return list(dict.fromkeys(self.fields().values()))

    def apply(self, raw: pd.DataFrame) -> pd.DataFrame:
        """Rename and select: the source frame as canonical (still untyped) columns."""
        return pd.DataFrame(
            {key: raw[source] for key, source in self.fields().items()}, index=raw.index
        )


def _column_name(key: str, value: object) -> str | None:
    if value is None or (isinstance(value, str) and value):
        return value
    raise SchemaError(f"mapping key {key!r} must be a column name or null, got {value!r}.")


def _event_names(value: object) -> dict[str, str]:
    if isinstance(value, Mapping) and all(
        isinstance(k, str) and isinstance(v, str) and k and v for k, v in value.items()
    ):
        return dict(value)
    raise SchemaError(
        "mapping key 'events' must map the log's event values to event types, e.g. "
        f'{{"pv": "view", "buy": "purchase"}}; got {value!r}.'
    )


_PRESETS: dict[str, InteractionMapping] = {
    # Alibaba Tianchi UserBehavior: pv (page view), cart, fav (favourite), buy; Unix seconds.
    "taobao": InteractionMapping(
        user="user_id",
        item="item_id",
        timestamp="timestamp",
        event="behavior_type",
        events={"pv": "view", "cart": "cart", "fav": "like", "buy": "purchase"},
        timestamp_unit="s",
    ),
}
INTERACTION_PRESETS: tuple[str, ...] = tuple(_PRESETS)
_SIGNATURES = {"taobao": frozenset({"user_id", "item_id", "behavior_type", "timestamp"})}
# Column names read without a mapping, canonical first.
_ALIASES = {
    "user": ("user", "user_id"),
    "item": ("item", "item_id", "listing_id"),
    "timestamp": ("timestamp", "time"),
    "event": ("event", "event_type"),
    "value": ("value",),
}


def get_interaction_mapping(name: str) -> InteractionMapping:
    """The preset mapping called ``name`` (one of :data:`INTERACTION_PRESETS`)."""
    key = name.strip().lower()
    if key not in _PRESETS:
        raise SchemaError(
            f"unknown interaction mapping preset {name!r}; presets are "
            f"{list(INTERACTION_PRESETS)}, or pass a JSON mapping file."
        )
    return _PRESETS[key]


def detect_interaction_mapping(columns: Iterable[str], *, file: str) -> InteractionMapping:
    """The mapping for a log from its header: a preset's native header, else canonical (or
    common: ``user_id``, ``item_id``, ``listing_id``, ``time``, ``event_type``) column names."""
    present = [str(column) for column in columns]
    for name, signature in _SIGNATURES.items():
        if signature <= set(present):
            return _PRESETS[name]
    found = {
        key: next((name for name in names if name in present), None)
        for key, names in _ALIASES.items()
    }
    missing = [key for key in _REQUIRED if found[key] is None]
    if missing:
        raise SchemaError(
            f"cannot tell which columns hold the event fields {missing}; the file has "
            f"{present}. An event log needs user, item and timestamp columns. Pass mapping= a "
            f"preset {list(INTERACTION_PRESETS)}, an InteractionMapping, or a JSON file such as "
            '{"user": "<user column>", "item": "<item column>", "timestamp": "<time column>"}.',
            file=file,
        )
    return InteractionMapping(**found)  # type: ignore[arg-type]


def resolve_interaction_mapping(
    mapping: InteractionMapping | Mapping[str, object] | str | Path | None,
    columns: Iterable[str],
    *,
    file: str,
) -> InteractionMapping:
    """Any accepted form of ``mapping`` (or ``None``: detect), checked against ``columns``."""
    return resolve_mapping(
        mapping,
        columns,
        file=file,
        kind=InteractionMapping,
        detect=lambda present: detect_interaction_mapping(present, file=file),
        preset=lambda name, _: get_interaction_mapping(name),
    )
