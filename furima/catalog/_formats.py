"""Raw readers: a file in one of the supported formats to a frame of its own columns.

Nothing here knows the listing schema. Each reader returns the source columns as read (text
stays text, so that ``"abc"`` in a price column can be reported, not silently lost), the
1-based data row of every frame row, and the rows the parser could not split at all.
Undecodable bytes never crash a read: they are marked (see :mod:`._encoding`) for the
validator to report.
"""

from __future__ import annotations

import io
import json
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd
import pyarrow as pa

from furima._progress import Tracker
from furima.catalog import _encoding
from furima.catalog._schema import Problem
from furima.exceptions import DataError, EmptyDataError

__all__ = ["FORMATS", "RawTable", "read_raw", "resolve_format"]

FORMATS: tuple[str, ...] = ("tsv", "csv", "parquet", "jsonl")
_EXTENSIONS = {
    ".tsv": "tsv",
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}
_ALIASES = {"json": "jsonl", "ndjson": "jsonl", "mercari": "tsv"}
_CSV_CHUNK_ROWS = 200_000
_JSON_CHUNK_LINES = 100_000
_BAD_LINE = re.compile(r"Skipping line (\d+): (.*)")


@dataclass
class RawTable:
    """A source file as read: its columns, row numbers and unsplittable rows."""

    frame: pd.DataFrame
    row_numbers: np.ndarray
    bad_rows: list[Problem] = field(default_factory=list)
    valid_utf8: bool = True


def resolve_format(path: Path, format: str | None) -> str:
    """The format name for ``path``: the explicit one, else from the extension."""
    if format is not None:
        name = _ALIASES.get(format.strip().lower(), format.strip().lower())
        if name not in FORMATS:
            raise DataError(f"unknown format {format!r}; expected one of {list(FORMATS)}.")
        return name
    suffix = path.suffix.lower()
    if suffix not in _EXTENSIONS:
        raise DataError(
            f"cannot tell the format from the extension {suffix!r}; pass format= one of "
            f"{list(FORMATS)}.",
            file=str(path),
        )
    return _EXTENSIONS[suffix]


def read_raw(path: Path, format: str, progress: Tracker) -> RawTable:
    """Read ``path`` (an existing, non-empty file) in ``format``."""
    if format == "parquet":
        table = _read_parquet(path, progress)
    elif format == "jsonl":
        table = _read_json(path, progress)
    else:
        table = _read_delimited(path, "\t" if format == "tsv" else ",", progress)
    if table.frame.empty and not table.bad_rows:
        raise EmptyDataError("the file has no data rows (header only?).", file=str(path))
    return table


# -- TSV / CSV --------------------------------------------------------------------------------


def _read_delimited(path: Path, sep: str, progress: Tracker) -> RawTable:
    valid = _encoding.is_valid_utf8(path)
    progress.start(f"reading {path.name}", total=path.stat().st_size)
    with path.open("rb") as handle, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", pd.errors.ParserWarning)
        chunks = list(_csv_chunks(handle, sep, progress, str(path)))
    bad_rows = _bad_rows(str(warning.message) for warning in caught)
    frame = pd.concat(chunks, ignore_index=True) if len(chunks) > 1 else chunks[0]
    kept = np.ones(len(frame) + len(bad_rows), dtype=bool)
    kept[[problem.row - 1 for problem in bad_rows]] = False
    rows = np.flatnonzero(kept) + 1
    blank = frame.isna().all(axis=1).to_numpy()  # blank lines count as rows, hold no listing
    return RawTable(frame[~blank].reset_index(drop=True), rows[~blank], bad_rows, valid)


def _csv_chunks(handle: BinaryIO, sep: str, progress: Tracker, file: str) -> Iterator[pd.DataFrame]:
    try:
        reader = pd.read_csv(
            handle,
            sep=sep,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            skip_blank_lines=False,
            encoding="utf-8",
            encoding_errors=_encoding.ERROR_HANDLER,
            on_bad_lines="warn",
            chunksize=_CSV_CHUNK_ROWS,
        )
        with reader:
            for chunk in reader:
                progress.update(handle.tell())
                yield chunk
    except pd.errors.EmptyDataError:
        raise EmptyDataError("the file has no header and no rows.", file=file) from None
    except pd.errors.ParserError as exc:
        raise DataError(f"cannot parse the file: {exc}", file=file) from None


def _bad_rows(messages: Iterator[str]) -> list[Problem]:
    """Parser warnings ("Skipping line 5: expected 8 fields, saw 9") as problems."""
    found = []
    for message in messages:
        for match in _BAD_LINE.finditer(message):
            reason = f"row cannot be split into columns: {match.group(2).strip()}"
            found.append(Problem(int(match.group(1)) - 1, "", reason))
    return found


# -- Parquet ----------------------------------------------------------------------------------


def _read_parquet(path: Path, progress: Tracker) -> RawTable:
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
        progress.start(f"reading {path.name}", total=parquet.metadata.num_rows)
        batches, done = [], 0
        for batch in parquet.iter_batches(batch_size=_CSV_CHUNK_ROWS):
            batches.append(batch)
            done += len(batch)
            progress.update(done)
        table = pa.Table.from_batches(batches, schema=parquet.schema_arrow)
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"cannot read the file as Parquet: {exc}", file=str(path)) from None
    table, valid = _repair_text(table)
    frame = table.to_pandas()
    return RawTable(frame, np.arange(1, len(frame) + 1), valid_utf8=valid)


def _repair_text(table: pa.Table) -> tuple[pa.Table, bool]:
    """Mark undecodable bytes in string columns, which pyarrow does not check on read."""
    valid = True
    for index, column in enumerate(table.columns):
        if pa.types.is_binary(column.type) or pa.types.is_large_binary(column.type):
            valid = False
        if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
            continue
        try:
            column.validate(full=True)
        except pa.ArrowInvalid:
            valid = False
            raw = column.cast(pa.large_binary()).to_pylist()
            text = [None if value is None else _encoding.decode(value) for value in raw]
            table = table.set_column(index, table.field(index), pa.array(text, column.type))
    return table, valid


# -- JSON lines -------------------------------------------------------------------------------


def _read_json(path: Path, progress: Tracker) -> RawTable:
    valid = _encoding.is_valid_utf8(path)
    with path.open("rb") as handle:
        first = handle.read(64).lstrip()
        if first.startswith(b"["):
            return _read_json_array(path, valid)
        handle.seek(0)
        progress.start(f"reading {path.name}", total=path.stat().st_size)
        frames, rows, bad = [], [], []
        for numbers, lines in _line_batches(handle):
            frame, good, problems = _parse_json_lines(numbers, lines)
            frames.append(frame)
            rows.append(good)
            bad.extend(problems)
            progress.update(handle.tell())
    if not frames:
        raise EmptyDataError("the file holds only blank lines.", file=str(path))
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    return RawTable(frame, np.concatenate(rows), bad, valid)


def _line_batches(handle: BinaryIO) -> Iterator[tuple[list[int], list[str]]]:
    """Non-blank lines, decoded, with their 1-based line numbers, in batches."""
    numbers: list[int] = []
    lines: list[str] = []
    for number, raw in enumerate(handle, start=1):
        text = _encoding.decode(raw).strip()
        if text:
            numbers.append(number)
            lines.append(text)
        if len(lines) >= _JSON_CHUNK_LINES:
            yield numbers, lines
            numbers, lines = [], []
    if lines:
        yield numbers, lines


def _parse_json_lines(
    numbers: list[int], lines: list[str]
) -> tuple[pd.DataFrame, np.ndarray, list[Problem]]:
    """One batch: fast path through pandas, line by line only when a line is broken."""
    if all(line.startswith("{") for line in lines):
        try:
            frame = pd.read_json(io.StringIO("\n".join(lines)), lines=True, dtype=False)
        except ValueError:
            pass
        else:
            if len(frame) == len(lines):
                return frame, np.asarray(numbers), []
    records, good, bad = [], [], []
    for number, line in zip(numbers, lines, strict=True):
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            bad.append(Problem(number, "", f"line is not valid JSON: {exc.msg}"))
            continue
        if not isinstance(record, dict):
            bad.append(Problem(number, "", "line is not a JSON object"))
            continue
        records.append(record)
        good.append(number)
    return pd.DataFrame.from_records(records), np.asarray(good, dtype=np.int64), bad


def _read_json_array(path: Path, valid: bool) -> RawTable:
    try:
        records = json.loads(_encoding.decode(path.read_bytes()))
    except json.JSONDecodeError as exc:
        raise DataError(f"the file is not valid JSON: {exc}", file=str(path)) from None
    if not (isinstance(records, list) and all(isinstance(r, dict) for r in records)):
        raise DataError(
            "a JSON file must hold objects, one per line or in one array.", file=str(path)
        )
    frame = pd.DataFrame.from_records(records)
    return RawTable(frame, np.arange(1, len(frame) + 1), valid_utf8=valid)
