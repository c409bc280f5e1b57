"""``furima price fit`` and ``furima price suggest``: thin commands over furima.pricing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.console import Console

from furima.cli._errors import reported_errors
from furima.cli._filters import comma_list
from furima.cli._ingest import OnError
from furima.cli._models import FitRegistryOption, log_fit
from furima.cli._sell_chance import sell_chance_app
from furima.exceptions import DataError

__all__ = ["load_listings", "price_app"]

price_app = typer.Typer(help="Price suggestion: fit a model, suggest prices with ranges.")
price_app.add_typer(sell_chance_app, name="sell-chance")

_MAPPING_HELP = "Preset (mercari, myntra, flipkart) or JSON mapping file (default: detect)."
_PHOTOS_HELP = (
    "Column of photos (image bytes, or file paths relative to the listings file): tried as a "
    "member of the model and kept only when it lowers the validation error."
)


def load_listings(
    path: Path,
    *,
    mapping: str | None,
    require_price: bool,
    on_error: OnError = OnError.fail,
    numeric: tuple[str, ...] = (),
    photos: str | None = None,
    require_photos: bool = True,
) -> pd.DataFrame:
    """Listings from a catalog store (``.duckdb``) or any file furima reads.

    ``photos`` names a column of the file to carry along as it is (image bytes or paths, read
    apart from the schema's text columns); a file without it is an error only when
    ``require_photos``.
    """
    from furima.catalog import CatalogStore, read_listings

    if path.suffix == ".duckdb":
        if photos is not None and require_photos:
            raise DataError("--photos needs a listings file; a catalog store keeps no photos.")
        if not path.is_file():
            raise DataError(f"Catalog store {str(path)!r} does not exist; run `furima ingest`.")
        with CatalogStore(path) as store:
            return store.to_frame()
    result = read_listings(
        path,
        mapping=mapping,
        require_price=require_price,
        on_error=on_error.value,
        numeric=numeric,
        progress=True,
    )
    if photos is None:
        return result.listings
    return _with_photo_column(result.listings, path, photos, result.rejects, require_photos)


def _with_photo_column(
    listings: pd.DataFrame, path: Path, column: str, rejects: pd.DataFrame, required: bool
) -> pd.DataFrame:
    """``listings`` with the file's photo ``column`` beside them, row for row (rows that
    were skipped as bad are skipped here too); relative paths are read from the file's folder."""
    import numpy as np

    from furima._progress import tracker
    from furima.catalog._formats import read_raw, resolve_format
    from furima.exceptions import SchemaError

    with tracker(False) as track:
        raw = read_raw(path, resolve_format(path, None), track)
    if column not in raw.frame.columns:
        if not required:
            return listings
        raise SchemaError(
            f"--photos {column!r} is not a column of {str(path)!r}; its columns are "
            f"{[str(c) for c in raw.frame.columns]}."
        )
    kept = ~np.isin(raw.row_numbers, rejects["row"].to_numpy() if len(rejects) else [])
    values = [_photo_path(v, path.parent) for v in raw.frame[column][kept]]
    if len(values) != len(listings):
        raise DataError(
            f"Could not match the {column!r} photos to the {len(listings)} listings read from "
            f"{str(path)!r}; fix the file's bad rows and fit again."
        )
    return listings.assign(**{column: pd.Series(values, index=listings.index, dtype=object)})


def _photo_path(value: object, folder: Path) -> object:
    """A relative photo path read from ``folder`` (where the listings file is)."""
    if isinstance(value, str) and value and not Path(value).is_absolute():
        return str(folder / value)
    return value


@price_app.command("fit")
def fit(
    data: Annotated[Path, typer.Argument(help="Priced listings: a file or a catalog .duckdb.")],
    model: Annotated[Path, typer.Option("--model", help="Folder to save the model in.")] = Path(
        "models/price"
    ),
    mapping: Annotated[str | None, typer.Option("--mapping", help=_MAPPING_HELP)] = None,
    coverage: Annotated[
        float, typer.Option("--coverage", help="Share of true prices the range should hold.")
    ] = 0.8,
    on_error: Annotated[
        OnError,
        typer.Option("--on-error", help="fail, or skip bad rows (listed in a rejects file)."),
    ] = OnError.fail,
    numeric: Annotated[
        list[str] | None,
        typer.Option(
            "--numeric", help="A source column to read as a number, e.g. msrp (repeatable)."
        ),
    ] = None,
    photos: Annotated[str | None, typer.Option("--photos", help=_PHOTOS_HELP)] = None,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    registry: FitRegistryOption = None,
) -> None:
    """Learn a price model from listings with known prices and save it (and register it)."""
    from furima.pricing import PriceSuggester

    with reported_errors():
        listings = load_listings(
            data,
            mapping=mapping,
            require_price=True,
            on_error=on_error,
            numeric=tuple(name for item in numeric or [] for name in comma_list(item)),
            photos=photos,
        )
        suggester = PriceSuggester(coverage=coverage, random_state=seed)
        suggester.fit(listings, photos=photos, progress=True)
        suggester.save(model)
        registered = log_fit(model, registry) if registry else None
    summary: dict[str, object] = {"model": str(model), **suggester.training_, **suggester.metrics_}
    if registered:
        summary["registered"] = registered
    Console().print_json(json.dumps(summary))


@price_app.command("suggest")
def suggest(
    model: Annotated[Path, typer.Option("--model", help="A saved price model folder.")] = Path(
        "models/price"
    ),
    listings: Annotated[
        Path | None, typer.Argument(help="Listings file to price (omit to give --name etc.).")
    ] = None,
    mapping: Annotated[str | None, typer.Option("--mapping", help=_MAPPING_HELP)] = None,
    name: Annotated[str | None, typer.Option("--name", help="Title of one listing.")] = None,
    brand: Annotated[str | None, typer.Option("--brand")] = None,
    description: Annotated[str | None, typer.Option("--description")] = None,
    category: Annotated[
        str | None, typer.Option("--category", help="e.g. Women/Tops/Blouse")
    ] = None,
    condition: Annotated[
        str | None, typer.Option("--condition", help="1..5 or a word such as 'Like new'.")
    ] = None,
    attribute: Annotated[
        list[str] | None, typer.Option("--attr", help="Extra attribute as key=value; repeatable.")
    ] = None,
) -> None:
    """Suggest prices with ranges and comparables; prints JSON."""
    from furima.pricing import PriceSuggester

    with reported_errors():
        suggester = PriceSuggester.load(model)
        frame = _query_listings(
            listings,
            mapping,
            name,
            brand,
            description,
            category,
            attribute,
            suggester.photo_column_,
        )
        if condition is not None:
            if listings is not None:
                raise DataError("--condition describes one --name listing, not a file.")
            frame["condition"] = condition
        suggestions = suggester.suggest(frame)
    document = {"model": str(model), "suggestions": [s.to_dict() for s in suggestions]}
    typer.echo(json.dumps(document, ensure_ascii=False, indent=2))


def _query_listings(
    path: Path | None,
    mapping: str | None,
    name: str | None,
    brand: str | None,
    description: str | None,
    category: str | None,
    attributes: list[str] | None,
    photos: str | None = None,
) -> pd.DataFrame:
    """The listings to price: a file (with the model's photo column when it has one), or
    one listing described by options."""
    if path is not None:
        return load_listings(
            path, mapping=mapping, require_price=False, photos=photos, require_photos=False
        )
    if not name:
        raise DataError("Give a listings file, or at least --name for a single listing.")
    row: dict[str, object] = {
        "listing_id": "query", "name": name, "brand": brand,
        "description": description, "category": category,
    }  # fmt: skip
    for item in attributes or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise DataError(f"--attr must look like key=value, but got {item!r}.")
        row[key] = value
    return pd.DataFrame([row])
