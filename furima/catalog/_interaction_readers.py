"""``read_interactions``: an event log file to validated :class:`Interactions`.

The listings machinery does the reading (formats, row numbers, rejects files); this module
holds what is particular to events: ids, timestamps, event types and their weights, the items
the catalog knows, duplicates and time order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from furima._progress import tracker
from furima.catalog._event_frame import DEFAULT_EVENT, EVENT_COLUMNS
from furima.catalog._formats import RawTable, resolve_format
from furima.catalog._interaction_mapping import InteractionMapping, resolve_interaction_mapping
from furima.catalog._interactions import IdMap, Interactions
from furima.catalog._readers import OnError, ReadReport, checked_raw, settle_problems
from furima.catalog._schema import Problem, _as_number, _Found, _text_column, shown
from furima.exceptions import DataError, EmptyDataError, SchemaError

__all__ = ["InteractionsResult", "read_interactions"]

_SKIP_HINT = (
    "Fix these rows, or pass on_error='skip' to drop bad rows and write them to a rejects file."
)
_SHOWN_IDS = 3
_MAX_SECONDS = 1e11  # the year 5138: larger values are micro- or nanoseconds
_EPOCH = pd.Timestamp(0, tz="UTC")


@dataclass(kw_only=True)
class InteractionsResult(ReadReport):
    """What :func:`read_interactions` read (and the :class:`ReadReport` fields).

    Attributes:
        interactions: The valid events, sorted by user then time.
        n_duplicates: Exact repeats of an earlier event (all five fields equal), dropped.
        n_out_of_order: Events the file listed after a later event of the same user; they are
            kept, sorted into place (stable: ties keep file order).
        mapping: The column mapping used.
    """

    interactions: Interactions
    n_duplicates: int
    n_out_of_order: int
    mapping: InteractionMapping


def read_interactions(
    path: str | Path,
    *,
    format: str | None = None,
    mapping: InteractionMapping | Mapping[str, object] | str | Path | None = None,
    event_weights: Mapping[str, float] | None = None,
    known_items: IdMap | Iterable[str] | None = None,
    on_error: OnError = "fail",
    rejects_path: str | Path | None = None,
    progress: bool = False,
) -> InteractionsResult:
    """Read and validate an event log ``(user, item, timestamp[, event][, value])``.

    Args:
        path: A ``.csv``, ``.tsv``, ``.parquet`` or ``.jsonl``/``.json`` file.
        format: ``"csv"``, ``"tsv"``, ``"parquet"`` or ``"jsonl"``; default from the extension.
        mapping: An :class:`InteractionMapping`, a dict as in its JSON form, a preset name
            (``"taobao"``), a path to a JSON mapping file, or ``None`` to detect from the header.
        event_weights: The marketplace's event types and their weights; any other type is a
            row error. ``None``: every type is accepted, weighted as in
            :data:`~furima.catalog.DEFAULT_EVENT_WEIGHTS` (1.0 for types it does not list).
        known_items: The catalog's item ids (an :class:`IdMap` keeps its dense indices). An
            event on any other item is a row error; when most events are, the log and the
            catalog do not match and that is one clear error. Pass every listing the log may
            name, sold ones included: events on sold listings happened and say what a user
            likes (keep sold listings out of recommendations with ``allowed=``).
        on_error: ``"fail"`` raises on any bad row; ``"skip"`` drops bad rows.
        rejects_path: With ``"skip"``, write the dropped rows here as CSV (atomically).
        progress: Show a progress bar on stderr.

    Timestamps may be Unix seconds or milliseconds (see the mapping's ``timestamp_unit``),
    ISO 8601 text (naive times are UTC) or typed date-times; they become int64 seconds. Rows
    in errors and rejects are 1-based data rows, as for listings.

    Raises:
        DataError: The file is missing or unreadable, or its items do not match the catalog.
        EmptyDataError: No data rows, or none valid. SchemaError: columns cannot be mapped.
        ValidationError: Bad rows with ``"fail"``.
    """
    if on_error not in ("fail", "skip"):
        raise ValueError(f"on_error must be 'fail' or 'skip', got {on_error!r}.")
    weights = _checked_weights(event_weights)
    catalog = _item_map(known_items)
    path = Path(path)
    source = str(path)
    fmt = _format(path, format)
    with tracker(progress) as track:
        raw = checked_raw(path, fmt, track)
        used = resolve_interaction_mapping(mapping, raw.frame.columns, file=source)
        _check_event_column(used, weights, source)
        track.start("validating")
        events, problems = _conform(raw, used, weights, catalog, source)
    report, bad = settle_problems(
        raw,
        problems,
        used,
        used.fields(),
        source=source,
        on_error=on_error,
        rejects_path=rejects_path,
        hint=_SKIP_HINT,
        broken="are not valid events",
    )
    kept, n_duplicates, n_out_of_order = _kept(
        events.drop(index=events.index[bad]), report.n_read, source
    )
    return InteractionsResult(
        interactions=Interactions.from_frame(kept, event_weights=weights, items=catalog),
        n_duplicates=n_duplicates,
        n_out_of_order=n_out_of_order,
        mapping=used,
        **report.report_fields(),
    )


def _format(path: Path, format: str | None) -> str:
    if format is None and path.suffix.lower() == ".txt":
        raise DataError(
            "a .txt file is not an event table; for 'user item item ...' lines (one user a "
            "line, items in time order) use read_sequences(), else pass format=.",
            file=str(path),
        )
    return resolve_format(path, format)


def _item_map(known_items: IdMap | Iterable[str] | None) -> IdMap | None:
    if known_items is None or isinstance(known_items, IdMap):
        return known_items
    if isinstance(known_items, str):
        raise ValueError("known_items must be a sequence of item ids or an IdMap, not one string.")
    return IdMap.of(known_items)


def _checked_weights(event_weights: Mapping[str, float] | None) -> dict[str, float] | None:
    if event_weights is None:
        return None
    weights = {str(name): weight for name, weight in event_weights.items()}
    wrong = {
        name: weight
        for name, weight in weights.items()
        if not isinstance(weight, int | float) or not np.isfinite(weight) or weight < 0
    }
    if not weights or wrong:
        raise ValueError(
            "event_weights must map each event type to a finite weight >= 0, e.g. "
            f'{{"view": 1.0, "purchase": 5.0}}; got {event_weights!r}.'
        )
    return {name: float(weight) for name, weight in weights.items()}


def _check_event_column(
    mapping: InteractionMapping, weights: dict[str, float] | None, file: str
) -> None:
    if mapping.event is None and weights is not None and DEFAULT_EVENT not in weights:
        raise SchemaError(
            f"the log has no event column, so every event is an {DEFAULT_EVENT!r}, but "
            f"event_weights has types {list(weights)} only. Map the event column "
            f'(mapping {{"event": "<column>"}}) or give {DEFAULT_EVENT!r} a weight.',
            file=file,
        )


# -- validation -------------------------------------------------------------------------------


def _conform(
    raw: RawTable,
    mapping: InteractionMapping,
    weights: dict[str, float] | None,
    catalog: IdMap | None,
    file: str,
) -> tuple[pd.DataFrame, list[Problem]]:
    """Typed canonical events (placeholders in bad cells) and problems by frame position."""
    frame = mapping.apply(raw.frame)
    found = _Found()
    check = not raw.valid_utf8
    user = _ids("user", frame["user"], found, check)
    item = _ids("item", frame["item"], found, check)
    if catalog is not None:
        _check_catalog(item, catalog, found, file)
    event = _events(frame.get("event"), mapping, weights, found, check, len(frame))
    events = pd.DataFrame(
        {
            "user": user,
            "item": item,
            "timestamp": _timestamps(frame["timestamp"], mapping.timestamp_unit, found),
            "event": event,
            "value": _values(frame.get("value"), found, len(frame)),
        },
        index=frame.index,
    )
    return events, found.problems()


def _ids(column: str, raw: pd.Series, found: _Found, check_encoding: bool) -> pd.Series:
    text, flagged = _text_column(column, raw, found, check_encoding)
    missing = (text.isna() | (text == "")).to_numpy(dtype=bool)
    found.add(missing & ~flagged, column, lambda i: f"{column} is missing")
    return text


def _check_catalog(item: pd.Series, catalog: IdMap, found: _Found, file: str) -> None:
    present = item.notna().to_numpy(dtype=bool)
    unknown = present & (catalog.index(item.fillna("").to_numpy()) < 0)
    if present.any() and unknown.sum() > present.sum() / 2:
        theirs = list(dict.fromkeys(item[unknown]))[:_SHOWN_IDS]
        raise DataError(
            f"the log's item ids do not match the catalog: {int(unknown.sum())} of "
            f"{int(present.sum())} events name items that are not in it. The log has ids such "
            f"as {theirs}, the catalog {catalog.to_list()[:_SHOWN_IDS]}. Check that the "
            "mapping's 'item' column holds the catalog's listing ids, or pass the catalog "
            "these events belong to.",
            file=file,
        )
    found.add(
        unknown,
        "item",
        lambda i: (
            f"item {shown(item.iloc[i])} is not in the catalog; events must name its "
            "listings (sold ones included)"
        ),
    )


def _events(
    raw: pd.Series | None,
    mapping: InteractionMapping,
    weights: dict[str, float] | None,
    found: _Found,
    check_encoding: bool,
    n: int,
) -> pd.Series | np.ndarray:
    if raw is None:
        return np.full(n, DEFAULT_EVENT, dtype=object)
    text = _ids("event", raw, found, check_encoding)
    names = text.map(lambda value: mapping.events.get(value, value), na_action="ignore")
    if weights is not None:
        unknown = (names.notna() & ~names.isin(list(weights))).to_numpy(dtype=bool)
        found.add(
            unknown,
            "event",
            lambda i: (
                f"event {_event_shown(text.iloc[i], names.iloc[i])} is not an event type of "
                f"this log; the allowed types are {list(weights)} (give it a weight in "
                "event_weights, or rename it with the mapping's 'events')"
            ),
        )
    return names


def _event_shown(raw: str, name: str) -> str:
    return shown(raw) if raw == name else f"{shown(raw)} (read as {shown(name)})"


def _timestamps(raw: pd.Series, unit: str, found: _Found) -> np.ndarray:
    """Int64 seconds (0 in bad cells)."""
    if pd.api.types.is_datetime64_any_dtype(raw.dtype):
        seconds = _stamp_seconds(pd.to_datetime(raw, utc=True))
        missing = np.isnan(seconds)
    else:
        numbers, text = _as_number(raw)
        seconds = numbers * (1e-3 if _in_milliseconds(numbers, unit) else 1.0)
        if text.any():
            stamps = pd.to_datetime(
                raw[text].astype(str).str.strip(), utc=True, errors="coerce", format="ISO8601"
            )
            seconds[text] = _stamp_seconds(stamps)
        missing = np.isnan(numbers) & ~text
    with np.errstate(invalid="ignore"):
        bad = ~missing & ~((seconds >= 0) & (seconds < _MAX_SECONDS))
    found.add(missing, "timestamp", lambda i: "timestamp is missing")
    found.add(
        bad,
        "timestamp",
        lambda i: (
            f"timestamp must be an ISO 8601 date-time or Unix seconds/milliseconds "
            f"from 1970 on, got {shown(raw.iloc[i])}"
        ),
    )
    seconds[missing | bad] = 0
    whole: np.ndarray = np.floor(seconds).astype(np.int64)
    return whole


def _in_milliseconds(numbers: np.ndarray, unit: str) -> bool:
    if unit != "auto":
        return unit == "ms"
    finite = numbers[np.isfinite(numbers)]
    return bool(finite.size) and float(np.median(np.abs(finite))) >= _MAX_SECONDS


def _stamp_seconds(stamps: pd.Series) -> np.ndarray:
    """UTC date-times as float seconds (NaN where missing)."""
    delta = (stamps - _EPOCH) / pd.Timedelta(seconds=1)
    return np.array(delta.to_numpy(dtype=float, na_value=np.nan), dtype=float)


def _values(raw: pd.Series | None, found: _Found, n: int) -> np.ndarray:
    if raw is None:
        return np.ones(n, dtype=np.float64)
    values, not_number = _as_number(raw)
    with np.errstate(invalid="ignore"):
        bad = not_number | (~np.isnan(values) & ~(np.isfinite(values) & (values >= 0)))
    found.add(
        bad, "value", lambda i: f"value must be a finite number >= 0, got {shown(raw.iloc[i])}"
    )
    values[np.isnan(values) | bad] = 1.0
    return values


# -- results ----------------------------------------------------------------------------------


def _kept(events: pd.DataFrame, n_read: int, file: str) -> tuple[pd.DataFrame, int, int]:
    """The valid events without exact duplicates, their count, and the events out of order."""
    if events.empty:
        raise EmptyDataError(
            f"no valid events: all {n_read} rows were rejected (see the rejects).", file=file
        )
    duplicated = events.duplicated(subset=list(EVENT_COLUMNS), keep="first")
    events = events[~duplicated].reset_index(drop=True)
    timestamp = events["timestamp"]
    late = timestamp < timestamp.groupby(events["user"]).cummax()
    return events, int(duplicated.sum()), int(late.sum())
