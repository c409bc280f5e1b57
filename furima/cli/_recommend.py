"""``furima recommend fit`` and ``furima recommend suggest``: thin commands over
furima.recommend."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from furima.cli._errors import reported_errors
from furima.cli._filters import FilterOption, listing_ids, parse_filters
from furima.cli._ingest import OnError
from furima.cli._models import FitRegistryOption, log_fit
from furima.exceptions import DataError

if TYPE_CHECKING:
    import pandas as pd

    from furima.catalog import Interactions
    from furima.recommend import ItemColumns

__all__ = ["recommend_app"]

recommend_app = typer.Typer(
    help='Recommendations: learn from interaction logs; "for you" feeds and "more like this".'
)

_DEFAULT_MODEL = Path("models/recommend")
_DEFAULT_GENERATORS = "popularity,item_knn,ease,als,sequential"


def _column(what: str, default: str) -> Any:
    return typer.Option(help=f"Listings column of the {what} ('' for none; default: {default}).")


class LogFormat(StrEnum):
    auto = "auto"
    sequences = "sequences"
    csv = "csv"
    tsv = "tsv"
    parquet = "parquet"
    jsonl = "jsonl"


@recommend_app.command("fit")
def fit(
    logs: Annotated[
        Path,
        typer.Argument(
            help="Events (.csv, .tsv, .parquet, .jsonl: user, item, timestamp[, event]) or a "
            "'user item item ...' .txt sequence file."
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="Folder to save the model in.")] = (
        _DEFAULT_MODEL
    ),
    log_format: Annotated[
        LogFormat,
        typer.Option("--format", help="auto: by extension (.txt: sequences)."),
    ] = LogFormat.auto,
    mapping: Annotated[
        str | None,
        typer.Option("--mapping", help="Event columns: preset (taobao) or JSON mapping file."),
    ] = None,
    listings: Annotated[
        Path | None,
        typer.Option(
            "--listings",
            help="Catalog (.parquet, .csv, .jsonl or a .duckdb store): titles, prices, "
            "filters, sold listings, photos.",
        ),
    ] = None,
    id_column: Annotated[str, _column("id", "listing_id or id")] = "",
    title_column: Annotated[str | None, _column("title", "name or title")] = None,
    category_column: Annotated[str | None, _column("category", "category")] = None,
    price_column: Annotated[str | None, _column("price", "price")] = None,
    status_column: Annotated[str | None, _column("status (on_sale, sold)", "status")] = None,
    photo_column: Annotated[str | None, _column("photo (JPEG bytes)", "none")] = None,
    generators: Annotated[
        str, typer.Option("--generators", help="Comma-separated candidate generators.")
    ] = _DEFAULT_GENERATORS,
    on_error: Annotated[
        OnError, typer.Option("--on-error", help="fail, or skip bad event rows.")
    ] = OnError.fail,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    registry: FitRegistryOption = None,
) -> None:
    """Learn a recommender from an interaction log and save it (and register it)."""
    from furima.recommend import Recommender

    with reported_errors():
        names = _generators(generators)
        catalog, columns = None, None
        if listings is not None:
            catalog = _read_catalog(listings)
            given = (id_column, title_column, category_column, price_column, status_column)
            columns = _item_columns(catalog, *given, photo_column)
        events = _read_logs(logs, log_format, mapping, on_error)
        model = Recommender(generators=names, seed=seed)
        model.fit(events, listings=catalog, columns=columns, progress=True)
        model.save(out)
        registered = log_fit(out, registry, task="recommend") if registry else None
    summary: dict[str, Any] = {
        "model": str(out),
        "users": events.n_users,
        "items": model.n_items,
        "events": len(events),
        "blend": model.blend_.weights,
        "validation": model.validation_,
    }
    if registered:
        summary["registered"] = registered
    Console().print_json(json.dumps(summary, default=float))


@recommend_app.command("suggest")
def suggest(
    model: Annotated[Path, typer.Option("--model", help="A saved recommender folder.")] = (
        _DEFAULT_MODEL
    ),
    user: Annotated[str | None, typer.Option("--user", help="A feed for this user id.")] = None,
    history: Annotated[
        str | None,
        typer.Option("--history", help="A feed for these listing ids (a,b,c; oldest first)."),
    ] = None,
    similar_to: Annotated[
        str | None, typer.Option("--similar-to", help="Listings like this listing id.")
    ] = None,
    k: Annotated[int, typer.Option("--k", min=1, max=1000, help="How many listings.")] = 10,
    filters: FilterOption = None,
) -> None:
    """A feed for a user or a history, or "more like this" for a listing; prints JSON."""
    from furima.recommend import Recommender

    with reported_errors():
        query = _one_query(user, history, similar_to)
        recommender = Recommender.load(model)
        wanted = parse_filters(filters)
        if "similar_to" in query:
            found = recommender.similar_items([query["similar_to"]], k=k, filters=wanted)
        else:
            found = recommender.recommend(**query, k=k, filters=wanted)
        answer = found[0].to_dict()
        for item in answer["items"]:
            item.update(_shown(recommender.listing(item["id"])))
    typer.echo(json.dumps({"model": str(model), **answer}, ensure_ascii=False, indent=2))


def _one_query(user: str | None, history: str | None, similar_to: str | None) -> dict[str, Any]:
    given = {"users": user, "histories": history, "similar_to": similar_to}
    chosen = {name: value for name, value in given.items() if value is not None}
    if len(chosen) != 1:
        raise DataError("give exactly one of --user, --history or --similar-to.")
    if user is not None:
        return {"users": [user]}
    if history is not None:
        return {"histories": [listing_ids(history, "--history")]}
    return {"similar_to": similar_to}


def _shown(listing: dict[str, Any] | None) -> dict[str, Any]:
    """A listing's title, price and category, when the model knows them."""
    if not listing:
        return {}
    return {key: listing[key] for key in ("title", "price", "category") if listing.get(key)}


def _generators(spec: str) -> tuple[str, ...]:
    from furima.recommend import GENERATORS

    names = tuple(part.strip() for part in spec.split(",") if part.strip())
    unknown = [name for name in names if name not in GENERATORS]
    if not names or unknown:
        raise DataError(
            f"--generators {spec!r}: unknown or none given ({', '.join(unknown) or 'empty'}); "
            f"choose from {', '.join(GENERATORS)}, comma-separated."
        )
    return names


def _read_logs(
    path: Path, log_format: LogFormat, mapping: str | None, on_error: OnError
) -> Interactions:
    from furima.catalog import read_interactions, read_sequences

    sequences = log_format is LogFormat.sequences or (
        log_format is LogFormat.auto and path.suffix.lower() == ".txt"
    )
    if sequences:
        if mapping is not None:
            raise DataError("--mapping names event columns; a sequence file has none.")
        return read_sequences(path)
    form = None if log_format is LogFormat.auto else log_format.value
    result = read_interactions(
        path, format=form, mapping=mapping, on_error=on_error.value, progress=True
    )
    return result.interactions


def _read_catalog(path: Path) -> pd.DataFrame:
    from furima.cli._search import read_table

    if path.suffix == ".duckdb":
        from furima.catalog import CatalogStore

        if not path.is_file():
            raise DataError(f"Catalog store {str(path)!r} does not exist; run `furima ingest`.")
        with CatalogStore(path) as store:
            return store.to_frame()
    return read_table(path)


def _item_columns(
    catalog: pd.DataFrame,
    id_column: str,
    title: str | None,
    category: str | None,
    price: str | None,
    status: str | None,
    photo: str | None,
) -> ItemColumns:
    """Named columns must exist; unnamed ones are taken when the catalog has them."""
    from furima.recommend import ItemColumns

    present = set(catalog.columns)

    def pick(given: str | None, *defaults: str) -> str | None:
        if given == "":
            return None
        if given is not None:
            if given not in present:
                raise DataError(
                    f"the listings have no column {given!r}; columns: "
                    f"{', '.join(map(str, catalog.columns[:20]))}."
                )
            return given
        return next((name for name in defaults if name in present), None)

    chosen_id = pick(id_column or None, "listing_id", "id")
    if chosen_id is None:
        raise DataError("the listings have no listing_id or id column; name it with --id-column.")
    return ItemColumns(
        id=chosen_id,
        title=pick(title, "name", "title"),
        category=pick(category, "category"),
        price=pick(price, "price"),
        status=pick(status, "status"),
        photo=pick(photo),
    )
