"""``furima ingest``: read a listings file, validate it, and put it in the catalog store.

Registered by the CLI app as ``app.command("ingest")(ingest)``. Thin: it parses options,
calls :func:`furima.catalog.read_listings` and :class:`furima.catalog.CatalogStore`, and turns
any :class:`~furima.exceptions.FurimaError` into a one-line message and exit code 1.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from furima.catalog import CatalogStore, IngestResult, numeric_attribute_columns, read_listings
from furima.cli._errors import reported_errors

__all__ = ["OnError", "default_rejects_path", "ingest"]


class OnError(StrEnum):
    """What to do with rows that break the listing schema."""

    fail = "fail"
    skip = "skip"


def default_rejects_path(store: Path, source: Path) -> Path:
    """Where rejects go unless told: next to the store, named after the source file."""
    return store.parent / f"{source.stem}.rejects.csv"


def ingest(
    path: Annotated[
        Path,
        typer.Argument(help="Listings file: .tsv (Mercari), .csv, .parquet or .jsonl."),
    ],
    store: Annotated[
        Path, typer.Option("--store", help="Catalog store (DuckDB file), created when missing.")
    ] = Path("catalog.duckdb"),
    format: Annotated[
        str | None,
        typer.Option("--format", help="tsv, csv, parquet or jsonl (default: from the extension)."),
    ] = None,
    mapping: Annotated[
        str | None,
        typer.Option(
            "--mapping",
            help="Preset (mercari, myntra, flipkart) or a JSON mapping file "
            "(default: detect from the header).",
        ),
    ] = None,
    on_error: Annotated[
        OnError,
        typer.Option("--on-error", help="fail: stop at bad rows; skip: drop and record them."),
    ] = OnError.fail,
    rejects: Annotated[
        Path | None,
        typer.Option(
            "--rejects", help="Rejects CSV (default: <store dir>/<file stem>.rejects.csv)."
        ),
    ] = None,
    require_price: Annotated[
        bool,
        typer.Option(
            "--require-price/--no-require-price", help="Missing prices are errors (training)."
        ),
    ] = False,
    upsert: Annotated[
        bool,
        typer.Option("--upsert/--no-upsert", help="Replace listings whose ids are stored."),
    ] = False,
    numeric: Annotated[
        list[str] | None,
        typer.Option(
            "--numeric",
            help="A column to keep as a numeric attribute (repeat, or comma-separate), added "
            "to the mapping.",
        ),
    ] = None,
    infer_numeric: Annotated[
        bool,
        typer.Option(
            "--infer-numeric/--no-infer-numeric",
            help="With canonical column names and no --mapping, keep other all-number columns "
            'as numeric attributes (declare them under "numeric" in a mapping file instead).',
        ),
    ] = True,
) -> None:
    """Read a listings file, validate it, and add its listings to the catalog store.

    A JSON mapping file may declare numeric attributes and condition words:
    {"name": "title", "numeric": ["msrp"], "attributes": ["size"], "conditions": {"新品": 1}}.
    """
    errors = Console(stderr=True)
    with reported_errors():
        result = read_listings(
            path,
            format=format,
            mapping=mapping,
            on_error=on_error.value,
            rejects_path=rejects or default_rejects_path(store, path),
            require_price=require_price,
            numeric=_names(numeric),
            infer_numeric=infer_numeric,
            progress=True,
        )
        with CatalogStore(store) as catalog, errors.status("writing to the store"):
            before = len(catalog)
            (catalog.upsert if upsert else catalog.add)(result.listings)
            total = len(catalog)
    _print_summary(result, added=total - before, total=total, store=store)


def _names(options: list[str] | None) -> list[str]:
    """Repeated and comma-separated option values as one list of names."""
    return [name.strip() for value in options or [] for name in value.split(",") if name.strip()]


def _print_summary(result: IngestResult, *, added: int, total: int, store: Path) -> None:
    out = Console(highlight=False)
    replaced = len(result.listings) - added
    lines = [
        f"read      {result.n_read:,} rows from {result.source}",
        f"added     {added:,} listings" + (f" ({replaced:,} replaced)" if replaced else ""),
        f"rejected  {result.n_rejected:,} rows"
        + (f" -> {result.rejects_path}" if result.rejects_path else ""),
        f"store     {total:,} listings in {store}",
    ]
    numeric = numeric_attribute_columns(result.listings)
    if numeric:
        how = " (inferred: every value is a number; --no-infer-numeric ignores them)"
        lines.append(
            f"numeric   columns {', '.join(numeric)}" + (how if result.inferred_numeric else "")
        )
    if result.ignored_columns:
        lines.append(f"ignored   columns {', '.join(result.ignored_columns)}")
    for line in lines:
        out.print(line, markup=False, soft_wrap=True)
