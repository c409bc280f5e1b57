"""``furima buyer-search build|query``: thin commands over furima.search.BuyerSearch."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from furima.cli._errors import reported_errors
from furima.cli._filters import FilterOption, comma_list, parse_filters
from furima.cli._models import FitRegistryOption, log_fit
from furima.exceptions import DataError

if TYPE_CHECKING:
    import pandas as pd

    from furima.search import SimilarSearch

__all__ = ["buyer_search_app"]

buyer_search_app = typer.Typer(
    help="Buyer search: words and photos find listings, ranked by relevance, with facets."
)

_DEFAULT_MODEL = Path("models/buyer-search")


class Ordering(StrEnum):
    auto = "auto"
    fusion = "fusion"


def _column(what: str) -> Any:
    return typer.Option(help=f"Listings column of the {what} (none by default).")


@buyer_search_app.command("build")
def build(
    listings: Annotated[
        Path, typer.Argument(help="Listings table (.parquet, .csv, .jsonl) with ids and titles.")
    ],
    out: Annotated[Path, typer.Option("--out", help="Folder to save the search in.")] = (
        _DEFAULT_MODEL
    ),
    id_column: Annotated[str, typer.Option(help="Listings column of the id.")] = "id",
    title_column: Annotated[str, typer.Option(help="Listings column of the title.")] = "title",
    text_columns: Annotated[
        str, typer.Option(help="More text columns BM25 reads (a,b; e.g. description).")
    ] = "",
    category_column: Annotated[str | None, _column("category")] = None,
    colour_column: Annotated[str | None, _column("colour")] = None,
    condition_column: Annotated[str | None, _column("condition")] = None,
    price_column: Annotated[str | None, _column("price")] = None,
    status_column: Annotated[str | None, _column("status (on_sale, sold)")] = None,
    photo_column: Annotated[
        str | None, _column("photo (JPEG bytes): photo search too, slower to build")
    ] = None,
    attribute_columns: Annotated[
        str, typer.Option(help="More attribute columns to filter and facet on (a,b).")
    ] = "",
    ordering: Annotated[
        Ordering,
        typer.Option(
            "--ranker",
            help="auto: a learned ranker from the catalog's own attributes; fusion: "
            "reciprocal rank fusion of BM25 and vectors.",
        ),
    ] = Ordering.auto,
    registry: FitRegistryOption = None,
) -> None:
    """Index listings by words (BM25), meaning (title vectors) and photos; save the search."""
    from furima.search import BuyerColumns, BuyerSearch

    with reported_errors():
        table = _read(listings)
        columns = BuyerColumns(
            id=id_column,
            title=title_column,
            texts=comma_list(text_columns),
            category=category_column,
            colour=colour_column,
            condition=condition_column,
            price=price_column,
            status=status_column,
            photo=photo_column,
            attributes=comma_list(attribute_columns),
        )
        columns.check(table)
        described = [c for c in (category_column, colour_column) if c] + list(columns.attributes)
        if ordering is Ordering.auto and len(described) < 2:
            raise DataError(
                "--ranker auto learns from the catalog's own attribute columns and needs at "
                "least two of --category-column, --colour-column and --attribute-columns; "
                "name them, or use --ranker fusion."
            )
        pool = _photo_pool(table, columns.id, photo_column) if photo_column else None
        ranker = "auto" if ordering is Ordering.auto else None
        search = BuyerSearch.build(
            table, columns=columns, ranker=ranker, photo_pool=pool, progress=True
        )
        search.save(out)
        registered = log_fit(out, registry, task="search") if registry else None
    summary: dict[str, Any] = {
        "model": str(out),
        "listings": len(search),
        "ranker": "learned" if search.ranker is not None else "fusion",
        "photos": pool is not None,
    }
    if registered:
        summary["registered"] = registered
    Console().print_json(json.dumps(summary, default=float))


def _read(path: Path) -> pd.DataFrame:
    from furima.cli._recommend import _read_catalog

    return _read_catalog(path)


def _photo_pool(table: pd.DataFrame, id_column: str, photo_column: str) -> SimilarSearch:
    from furima.search import PoolColumns, SimilarSearch

    columns = PoolColumns(id=id_column, title=None, photo=photo_column)
    return SimilarSearch.build(table, columns=columns, train_embedder=False, progress=True)


@buyer_search_app.command("query")
def query(
    text: Annotated[str | None, typer.Argument(help="The buyer's words.")] = None,
    model: Annotated[Path, typer.Option("--model", help="A saved buyer search folder.")] = (
        _DEFAULT_MODEL
    ),
    photo: Annotated[
        Path | None, typer.Option("--photo", help="Search with this photo (JPEG, PNG, WebP).")
    ] = None,
    filters: FilterOption = None,
    k: Annotated[int, typer.Option("--k", min=1, max=100, help="Results per page.")] = 10,
    offset: Annotated[int, typer.Option("--offset", min=0, help="Results to skip.")] = 0,
) -> None:
    """One page of results with facets and notes; prints JSON."""
    from furima.search import BuyerSearch

    with reported_errors():
        if photo is not None and not photo.is_file():
            raise DataError(f"--photo {str(photo)!r} does not exist.")
        search = BuyerSearch.load(model)
        page = search.search(
            text,
            photo=photo.read_bytes() if photo is not None else None,
            filters=parse_filters(filters),
            k=k,
            offset=offset,
        )
    typer.echo(json.dumps(page.to_dict(), ensure_ascii=False, indent=2, default=float))
