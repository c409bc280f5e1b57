"""``furima index build`` and ``furima search``: thin commands over furima.search."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.console import Console

from furima.cli._errors import reported_errors
from furima.cli._filters import FilterOption, parse_filters
from furima.exceptions import DataError, EmptyDataError

__all__ = ["index_app", "search"]

index_app = typer.Typer(help="Feature pools: encode listings (photos, titles) and index them.")

_DEFAULT_POOL = Path("models/search")


@index_app.command("build")
def build(
    listings: Annotated[
        Path, typer.Argument(help="Listings table (.parquet, .csv, .jsonl) with ids and photos.")
    ],
    out: Annotated[Path, typer.Option("--out", help="Folder to save the pool in.")] = _DEFAULT_POOL,
    id_column: Annotated[str, typer.Option(help="Integer listing id column.")] = "id",
    title_column: Annotated[str, typer.Option(help="Title column ('' for none).")] = "title",
    photo_column: Annotated[
        str, typer.Option(help="Photo column: image bytes or paths ('' for none).")
    ] = "photo",
    label_column: Annotated[
        str,
        typer.Option(
            help="Product type column: teaches the embedding and re-ranks results ('' for none)."
        ),
    ] = "",
    category_column: Annotated[str, typer.Option(help="Filterable category ('' for none).")] = "",
    price_column: Annotated[str, typer.Option(help="Filterable price ('' for none).")] = "",
    status_column: Annotated[str, typer.Option(help="on_sale / sold column ('' for none).")] = "",
    train: Annotated[
        bool, typer.Option(help="Learn the joint photo-text embedding (else raw features).")
    ] = True,
    backend: Annotated[str, typer.Option(help="auto, exact, hnsw or ivfpq.")] = "auto",
    rerank: Annotated[
        bool,
        typer.Option(help="Re-rank results by the nearest listings' vote on the product type."),
    ] = True,
) -> None:
    """Encode listings into a searchable pool and save it."""
    from furima.search import LabelRerank, PoolColumns, SimilarSearch

    with reported_errors():
        table = read_table(listings)
        columns = PoolColumns(
            id=id_column,
            title=title_column or None,
            photo=photo_column or None,
            label=label_column or None,
            category=category_column or None,
            price=price_column or None,
            status=status_column or None,
        )
        if columns.photo is not None and columns.photo in table.columns:
            table[columns.photo] = resolve_paths(table[columns.photo], listings.parent)
        pool = SimilarSearch.build(
            table,
            columns=columns,
            train_embedder=train,
            backend=backend,
            rerank=LabelRerank() if rerank else None,
            progress=True,
        )
        pool.save(out)
    summary = {"pool": str(out), "listings": len(pool), "pools": sorted(pool.indexes)}
    Console().print_json(json.dumps(summary))


def search(
    photo: Annotated[Path | None, typer.Option(help="Find listings like this photo.")] = None,
    text: Annotated[str | None, typer.Option(help="Find listings matching these words.")] = None,
    listing: Annotated[int | None, typer.Option(help="More like this listing id.")] = None,
    pool: Annotated[
        Path, typer.Option("--index", help="A pool saved by `furima index build`.")
    ] = _DEFAULT_POOL,
    k: Annotated[int, typer.Option("--k", min=1, max=1000, help="Number of results.")] = 10,
    filters: FilterOption = None,
) -> None:
    """Search a saved pool by photo, text or listing id; prints JSON results."""
    from furima.search import SimilarSearch

    with reported_errors():
        query = _one_query(photo, text, listing)
        found = SimilarSearch.load(pool).similar(k=k, filters=parse_filters(filters), **query)
        rows = [
            {"id": int(i), "score": round(float(s), 4)}
            for i, s in zip(found.ids[0], found.scores[0], strict=True)
            if i >= 0
        ]
    Console().print_json(json.dumps({"results": rows}))


def _one_query(photo: Path | None, text: str | None, listing: int | None) -> dict[str, Any]:
    given: dict[str, list[Any] | None] = {
        "photos": [photo] if photo else None,
        "texts": [text] if text else None,
        "listing_ids": [listing] if listing is not None else None,
    }
    chosen = {name: value for name, value in given.items() if value is not None}
    if len(chosen) != 1:
        raise DataError("give exactly one of --photo, --text or --listing.")
    return chosen


def read_table(path: Path) -> pd.DataFrame:
    """A listings table as it is (no listing schema): Parquet, CSV or JSONL."""
    if not path.is_file():
        raise DataError(f"{str(path)!r} does not exist.")
    readers: dict[str, Callable[[Path], pd.DataFrame]] = {
        ".parquet": pd.read_parquet,
        ".csv": pd.read_csv,
        ".jsonl": _read_jsonl,
    }
    reader = readers.get(path.suffix.lower())
    if reader is None:
        raise DataError(f"{str(path)!r}: use a .parquet, .csv or .jsonl file.")
    try:
        table = reader(path)
    except (ValueError, OSError) as error:
        raise DataError(f"{str(path)!r} could not be read: {error}") from error
    if table.empty:
        raise EmptyDataError(f"{str(path)!r} has no rows.")
    return table


TABLE_SUFFIXES = (".parquet", ".csv", ".jsonl")


def check_table_suffix(out: Path) -> None:
    """Refuse an ``--out`` path that :func:`write_table` cannot write."""
    if out.suffix.lower() not in TABLE_SUFFIXES:
        raise DataError(f"--out {out}: write a .parquet, .csv or .jsonl file.")


def write_table(frame: pd.DataFrame, out: Path) -> None:
    """``frame`` to a Parquet, CSV or JSON-lines file (times as ISO text), atomically."""
    from furima._artifacts import write_file_atomically

    check_table_suffix(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    suffix = out.suffix.lower()
    if suffix == ".parquet":
        write_file_atomically(out, lambda handle: frame.to_parquet(handle, index=False))
        return
    if suffix == ".csv":
        text = frame.to_csv(index=False)
    else:
        text = frame.to_json(orient="records", lines=True, force_ascii=False, date_format="iso")
    write_file_atomically(out, lambda handle: handle.write(text.encode()))


def require_column(table: pd.DataFrame, column: str, option: str, path: Path) -> None:
    """Refuse ``option``'s ``column`` when ``table`` (read from ``path``) has no such column."""
    if column not in table.columns:
        raise DataError(
            f"{option} {column!r} is not a column of {str(path)!r}; columns: "
            f"{', '.join(map(str, table.columns))}."
        )


def _read_jsonl(path: Path) -> pd.DataFrame:
    return pd.read_json(path, lines=True)


def resolve_paths(photos: pd.Series, base: Path) -> pd.Series:
    """Relative photo paths are read from the listings file's folder; bytes stay as they are."""
    return photos.map(
        lambda value: (
            str(base / value)
            if isinstance(value, str) and value and not Path(value).is_absolute()
            else value
        )
    )
