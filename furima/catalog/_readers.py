"""``read_listings``: any supported file to a validated, canonical listings frame."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from furima._progress import Tracker, tracker
from furima.catalog import _encoding
from furima.catalog._formats import RawTable, read_raw, resolve_format
from furima.catalog._ids import content_ids
from furima.catalog._mapping import ColumnMapping, detect_mapping, get_mapping
from furima.catalog._mapping_file import MappingFile, resolve_mapping
from furima.catalog._schema import ListingSchema, Problem, validation_error
from furima.catalog._typed_attributes import infer_numeric_columns
from furima.exceptions import DataError, EmptyDataError

__all__ = [
    "REJECTS_COLUMNS",
    "IngestResult",
    "ReadReport",
    "checked_raw",
    "read_listings",
    "settle_problems",
    "write_rejects",
]

OnError = Literal["fail", "skip"]
REJECTS_COLUMNS: tuple[str, ...] = ("row", "column", "reason")
_SKIP_HINT = (
    "Fix these rows, or pass on_error='skip' (CLI: --on-error skip) to drop bad rows and "
    "write them to a rejects file."
)


@dataclass(kw_only=True)
class ReadReport:
    """What a reader did with a file's rows; listings and event logs alike.

    Attributes:
        n_read: Data rows in the file, rejected ones included.
        n_rejected: Rows dropped by ``on_error="skip"``.
        rejects_path: Where the rejects were written, if anywhere.
        source: The file read.
        ignored_columns: Source columns the mapping did not use.
        rejects: One line per problem: ``row``, ``column``, ``reason``, then the raw row.
    """

    n_read: int
    n_rejected: int
    rejects_path: Path | None
    source: str
    ignored_columns: tuple[str, ...] = ()
    rejects: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=REJECTS_COLUMNS))

    def report_fields(self) -> dict[str, Any]:
        """This report's fields by name (not copied), to build a result that extends it."""
        return {item.name: getattr(self, item.name) for item in fields(ReadReport)}


@dataclass(kw_only=True)
class IngestResult(ReadReport):
    """What :func:`read_listings` read (and the :class:`ReadReport` fields).

    Attributes:
        listings: The valid listings, canonical columns then attributes.
        mapping: The column mapping used (with any inferred numeric columns).
        inferred_numeric: Extra columns read as numeric attributes because the mapping was
            detected from canonical column names and all their values are numbers (see
            ``infer_numeric``); empty when the mapping was given.
    """

    listings: pd.DataFrame
    mapping: ColumnMapping
    inferred_numeric: tuple[str, ...] = ()


def read_listings(
    path: str | Path,
    *,
    format: str | None = None,
    mapping: ColumnMapping | Mapping[str, object] | str | Path | None = None,
    on_error: OnError = "fail",
    rejects_path: str | Path | None = None,
    require_price: bool = False,
    numeric: Iterable[str] = (),
    infer_numeric: bool = True,
    progress: bool = False,
) -> IngestResult:
    """Read and validate a listings file.

    Args:
        path: A ``.tsv`` (Mercari), ``.csv``, ``.parquet`` or ``.jsonl``/``.json`` file.
        format: ``"tsv"``, ``"csv"``, ``"parquet"`` or ``"jsonl"``; default from the extension.
        mapping: A :class:`ColumnMapping`, its dict form, a preset name (``"mercari"``,
            ``"myntra"``, ``"flipkart"``), a path to a JSON mapping file, or ``None`` to detect
            from the header (a preset's native header, else canonical column names).
        on_error: ``"fail"`` raises on any bad row; ``"skip"`` drops bad rows.
        rejects_path: With ``"skip"``, write the dropped rows here as CSV (atomically).
        require_price: A missing price is an error too (training data).
        numeric: Source columns to read as numeric attributes, added to the mapping
            (moved out of its ``attributes`` when listed there), kept under their own names.
        infer_numeric: When the mapping is detected from canonical column names, keep the
            file's other columns whose values are all numbers as numeric attributes, and name
            them in ``inferred_numeric`` (identifier-like columns such as ``*_id``, ``sku``,
            ``zip`` or values with a leading zero are left out). ``False`` ignores them, as
            before; a given mapping is never extended.
        progress: Show a progress bar on stderr.

    Rows in errors and rejects are 1-based data rows: for TSV/CSV the record number after the
    header (blank lines count; a quoted multi-line field is one row), for JSON lines the line
    number, for Parquet the row number. With ``"skip"`` and no bad rows, no file is written.

    Raises:
        DataError: The file is missing or unreadable. EmptyDataError: it has no data rows.
        SchemaError: Columns cannot be mapped. ValidationError: bad rows with ``"fail"``.
    """
    if on_error not in ("fail", "skip"):
        raise ValueError(f"on_error must be 'fail' or 'skip', got {on_error!r}.")
    path = Path(path)
    source = str(path)
    fmt = resolve_format(path, format)
    with tracker(progress) as track:
        raw = checked_raw(path, fmt, track)
        column_mapping, inferred = _resolve_mapping(
            mapping,
            raw.frame,
            source,
            (numeric,) if isinstance(numeric, str) else tuple(numeric),
            infer_numeric,
            require_price,
        )
        track.start("validating")
        listings, problems = _conform(raw, column_mapping, require_price)
    report, bad = settle_problems(
        raw,
        problems,
        column_mapping,
        column_mapping.source_names(),
        source=source,
        on_error=on_error,
        rejects_path=rejects_path,
    )
    return IngestResult(
        listings=listings.drop(index=listings.index[bad]).reset_index(drop=True),
        mapping=column_mapping,
        inferred_numeric=inferred,
        **report.report_fields(),
    )


def _check_file(path: Path) -> None:
    if not path.exists():
        raise DataError("no such file; check the path.", file=str(path))
    if not path.is_file():
        raise DataError("not a file (a directory?); pass a listings file.", file=str(path))
    if path.stat().st_size == 0:
        raise EmptyDataError("the file is empty (0 bytes).", file=str(path))


def checked_raw(path: Path, fmt: str, track: Tracker) -> RawTable:
    """The file's raw rows; a file where no row could be parsed has no columns to map, so
    there is nothing to skip to: that is an error whatever ``on_error`` says."""
    _check_file(path)
    raw = read_raw(path, fmt, track)
    if raw.frame.columns.empty and raw.bad_rows:
        raise validation_error(raw.bad_rows, len(raw.bad_rows), file=str(path), hint=_SKIP_HINT)
    return raw


def settle_problems(
    raw: RawTable,
    problems: list[Problem],
    mapping: MappingFile,
    names: Mapping[str, object],
    *,
    source: str,
    on_error: OnError,
    rejects_path: str | Path | None,
    hint: str = _SKIP_HINT,
    broken: str = "break the listing schema",
) -> tuple[ReadReport, np.ndarray]:
    """Raise ``problems`` (by frame position) with ``"fail"``; else the report, its rejects
    written to ``rejects_path`` when there are any, and the frame positions to drop.

    Errors and rejects name file rows and the file's own columns (``names``: canonical field
    to source column); ``hint`` and ``broken`` word the ValidationError.
    """
    n_read = len(raw.row_numbers) + len(raw.bad_rows)
    bad = np.unique([problem.row - 1 for problem in problems]).astype(np.int64)
    problems = _in_source_terms(problems, raw, names)
    if problems and on_error == "fail":
        raise validation_error(problems, n_read, file=source, hint=hint, broken=broken)
    rejects = _rejects_table(problems, raw, bad)
    written = write_rejects(rejects, Path(rejects_path)) if rejects_path and len(rejects) else None
    used = set(mapping.source_columns())
    report = ReadReport(
        n_read=n_read,
        n_rejected=len(bad) + len(raw.bad_rows),
        rejects_path=written,
        source=source,
        ignored_columns=tuple(str(c) for c in raw.frame.columns if c not in used),
        rejects=rejects,
    )
    return report, bad


def _resolve_mapping(
    mapping: ColumnMapping | Mapping[str, object] | str | Path | None,
    frame: pd.DataFrame,
    source: str,
    numeric: tuple[str, ...],
    infer_numeric: bool,
    require_price: bool,
) -> tuple[ColumnMapping, tuple[str, ...]]:
    """The mapping to use (with ``numeric`` added), and the numeric columns inferred for a
    detected canonical one. Where no price is required (listings to price), a mapped price
    column the file lacks is dropped, so the mapping a model was fitted with reads new
    listings too."""
    how: list[str] = []

    def detect(present: list[str]) -> ColumnMapping:
        detected, chosen = detect_mapping(present, file=source)
        how.append(chosen)
        return detected

    resolved = resolve_mapping(
        mapping,
        frame.columns,
        file=source,
        kind=ColumnMapping,
        detect=detect,
        preset=lambda name, present: get_mapping(name, columns=present),
        fit_to_file=None if require_price else _price_if_present,
    )
    if numeric:
        resolved = resolved.with_numeric(numeric)
        resolved.check_columns(frame.columns, file=source)
    if not (infer_numeric and how == ["canonical column names"]):
        return resolved, ()
    used = set(resolved.source_columns())
    extra = [str(c) for c in frame.columns if c not in used and str(c) != "listing_id"]
    inferred = infer_numeric_columns(frame, extra)
    return resolved.with_numeric(inferred), inferred


def _price_if_present(mapping: ColumnMapping, present: list[str]) -> ColumnMapping:
    if mapping.price is None or mapping.price in present:
        return mapping
    return replace(mapping, price=None)


def _conform(
    raw: RawTable, mapping: ColumnMapping, require_price: bool
) -> tuple[pd.DataFrame, list[Problem]]:
    """Mapped, typed and checked listings (problems by frame position), with ids."""
    schema = ListingSchema(
        require_price=require_price, numeric=mapping.numeric, conditions=mapping.condition_scale
    )
    listings, problems = schema.conform(mapping.apply(raw.frame), check_encoding=not raw.valid_utf8)
    if "listing_id" not in listings.columns:
        listings.insert(0, "listing_id", content_ids(listings))
    return listings, problems


def _in_source_terms(
    problems: list[Problem], raw: RawTable, names: Mapping[str, object]
) -> list[Problem]:
    """Frame positions to file rows, canonical columns to the file's own column names."""
    moved = [
        Problem(int(raw.row_numbers[p.row - 1]), str(names.get(p.column) or p.column), p.reason)
        for p in problems
    ]
    return sorted([*moved, *raw.bad_rows], key=lambda problem: problem.row)


def _rejects_table(problems: list[Problem], raw: RawTable, bad: np.ndarray) -> pd.DataFrame:
    """One line per problem, followed by the raw source row (undecodable bytes as ``\\xNN``)."""
    table = pd.DataFrame(problems, columns=list(REJECTS_COLUMNS))
    source_rows = raw.frame.iloc[bad].copy()
    source_rows.columns = [_raw_name(str(column)) for column in source_rows.columns]
    source_rows = source_rows.map(
        lambda value: _encoding.show_bytes(value) if isinstance(value, str) else value
    )
    source_rows.insert(0, "row", raw.row_numbers[bad])
    return table.merge(source_rows, on="row", how="left")


def _raw_name(column: str) -> str:
    return f"raw_{column}" if column in REJECTS_COLUMNS else column


def write_rejects(rejects: pd.DataFrame, path: Path) -> Path:
    """Write ``rejects`` as CSV, atomically (temp file + rename): never half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            rejects.to_csv(out, index=False)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return path
