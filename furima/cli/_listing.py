"""``furima listing fit`` and ``furima listing suggest``: thin commands over furima.listing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from furima.cli._errors import reported_errors
from furima.cli._models import FitRegistryOption, log_fit
from furima.cli._search import read_table, resolve_paths
from furima.exceptions import DataError

__all__ = ["listing_app"]

listing_app = typer.Typer(help="AI listing: from a photo and/or words to a ready listing.")

_DEFAULT_ASSISTANT = Path("models/listing")
_PRESETS = ("myntra-photos",)


def _names(value: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in value.split(",") if name.strip())


@listing_app.command("fit")
def fit(
    catalog: Annotated[
        Path, typer.Argument(help="Past listings (.parquet, .csv, .jsonl) with photos and labels.")
    ],
    out: Annotated[Path, typer.Option("--out", help="Folder to save the assistant in.")] = (
        _DEFAULT_ASSISTANT
    ),
    preset: Annotated[
        str, typer.Option(help=f"Column preset ({', '.join(_PRESETS)}), or '' to name columns.")
    ] = "",
    id_column: Annotated[str, typer.Option(help="Integer listing id column.")] = "id",
    title_column: Annotated[str, typer.Option(help="Title column.")] = "title",
    photo_column: Annotated[
        str, typer.Option(help="Photo bytes or paths ('' for none).")
    ] = "photo",
    category_columns: Annotated[
        str, typer.Option(help="Category levels, coarse to fine, comma-separated.")
    ] = "",
    attribute_columns: Annotated[
        str, typer.Option(help="Other fields to suggest, comma-separated (colour, gender, ...).")
    ] = "",
    brand_column: Annotated[str, typer.Option(help="Brand column ('' for none).")] = "",
    price_column: Annotated[str, typer.Option(help="Price column ('' for none).")] = "",
    price_model: Annotated[
        Path | None, typer.Option(help="A price model saved by `furima price fit`.")
    ] = None,
    photo_backbone: Annotated[
        Path | None, typer.Option(help="A photo backbone tuned by `furima photo tune`.")
    ] = None,
    photo_pooling: Annotated[
        str,
        typer.Option(
            help="auto (multiscale from 5,000 photos, else average), average, or multiscale "
            "(every block of the stock network, joined to the tuned backbone if given: "
            "better types and colours on catalogs of thousands of photos)."
        ),
    ] = "auto",
    photo_mirror: Annotated[
        bool,
        typer.Option(
            help="Average each photo with its mirror image: every field a little better, "
            "for twice the photo encoding time."
        ),
    ] = False,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    registry: FitRegistryOption = None,
) -> None:
    """Learn the listing assistant from past listings and save it (and register it)."""
    from furima.listing import ListingAssistant, ListingFields
    from furima.pricing import PriceSuggester

    with reported_errors():
        table = read_table(catalog)
        if preset == "myntra-photos":
            from furima.datasets import with_brand

            fields = ListingFields.myntra_photos()
            table = table if "brand" in table.columns else with_brand(table)
        elif preset:
            raise DataError(f"unknown preset {preset!r}; presets are {list(_PRESETS)}.")
        else:
            fields = ListingFields(
                id=id_column,
                title=title_column,
                photo=photo_column or None,
                category=_names(category_columns),
                attributes=_names(attribute_columns),
                brand=brand_column or None,
                price=price_column or None,
            )
        if fields.photo is not None and fields.photo in table.columns:
            table[fields.photo] = resolve_paths(table[fields.photo], catalog.parent)
        pricing = PriceSuggester.load(price_model) if price_model is not None else None
        assistant = ListingAssistant(
            seed=seed,
            photo_backbone=photo_backbone,
            photo_pooling=photo_pooling,
            photo_mirror=photo_mirror,
        ).fit(table, fields=fields, price_model=pricing, progress=True)
        assistant.save(out)
        accuracy = {
            name: round(by_mode["photo"]["accuracy"], 4)
            for name, by_mode in assistant.classifier_.calibration_.items()
            if "photo" in by_mode
        }
        registered = log_fit(out, registry) if registry else None
    summary: dict[str, object] = {
        "assistant": str(out),
        "listings": len(assistant.catalog_),
        "fields": list(fields.suggested),
        "photo_accuracy_held_out": accuracy,
    }
    if registered:
        summary["registered"] = registered
    Console().print_json(json.dumps(summary))


@listing_app.command("suggest")
def suggest(
    photo: Annotated[Path | None, typer.Option(help="The item's photo.")] = None,
    text: Annotated[str | None, typer.Option(help="A few words about the item.")] = None,
    brand: Annotated[str | None, typer.Option(help="The brand, if the seller knows it.")] = None,
    condition: Annotated[
        int | None, typer.Option(min=1, max=5, help="Condition, 1 (new) to 5.")
    ] = None,
    assistant: Annotated[
        Path, typer.Option("--assistant", help="Saved by `furima listing fit`.")
    ] = _DEFAULT_ASSISTANT,
) -> None:
    """Suggest category, fields, title and price; prints JSON."""
    from furima.listing import ListingAssistant

    with reported_errors():
        if photo is not None and not photo.is_file():
            raise DataError(f"{str(photo)!r} does not exist.")
        answer = ListingAssistant.load(assistant).suggest(
            photo=photo, text=text, brand=brand, condition=condition
        )
    Console().print_json(json.dumps(answer.to_dict()))
