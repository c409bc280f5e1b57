"""``furima price sell-chance fit|ask|simulate``: thin commands over the chance-to-sell model
(:class:`furima.pricing._sell_chance.SellChanceModel`).

No real data with sale outcomes was available to build the model on; ``simulate`` writes the
documented simulation it is tested against, which says nothing about real markets.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from furima.cli._errors import reported_errors
from furima.cli._search import check_table_suffix, read_table, write_table
from furima.exceptions import DataError

if TYPE_CHECKING:
    from furima.pricing._sell_chance import SellChanceModel

__all__ = ["sell_chance_app"]

sell_chance_app = typer.Typer(
    help="Chance a listing sells within N days at its asking price, and the best price."
)

_SIMULATED = (
    "SIMULATED listings (furima.pricing._sell_simulation): a seeded stand-in with a known "
    "answer, for tests and examples only; it says nothing about real markets."
)


@sell_chance_app.command("fit")
def fit(
    data: Annotated[Path, typer.Argument(help="Listings with outcomes: .parquet, .csv, .jsonl.")],
    out: Annotated[Path, typer.Option(help="Folder to save the model in.")],
    price: Annotated[str, typer.Option(help="Asking price column.")] = "asking_price",
    reference: Annotated[
        str, typer.Option(help="Reference price column, e.g. furima's suggestion.")
    ] = "reference_price",
    sold: Annotated[str, typer.Option(help="0/1 column: did the listing sell.")] = "sold",
    days: Annotated[
        str, typer.Option(help="Days to the sale, or days watched when unsold.")
    ] = "days",
    feature: Annotated[
        list[str] | None, typer.Option(help="A feature column, e.g. category (repeat).")
    ] = None,
    max_days: Annotated[int, typer.Option(min=1, help="The longest horizon learned.")] = 30,
    estimators: Annotated[int, typer.Option(min=1, help="Boosting rounds.")] = 200,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    register: Annotated[
        str | None,
        typer.Option(
            help="Register the model under this task name (sell_chance is served by "
            "`furima serve`); its first version becomes the champion."
        ),
    ] = None,
    registry: Annotated[
        str | None, typer.Option(help="Registry for --register (default: ./furima-registry).")
    ] = None,
) -> None:
    """Learn the chance to sell within N days from listings with outcomes; save it to OUT."""
    from furima.pricing._sell_chance import SellChanceModel

    with reported_errors():
        table = read_table(data)
        model = SellChanceModel(max_days=max_days, n_estimators=estimators, random_state=seed).fit(
            table,
            price=price,
            reference=reference,
            sold=sold,
            days=days,
            features=tuple(feature or ()),
        )
        saved = model.save(out)
        summary: dict[str, Any] = {
            "model": str(saved),
            "rows": model.metrics_["listings"],
            "sales": model.metrics_["sold"],
            "listing_days": model.metrics_["listing_days"],
            "longest_horizon_days": model.horizon_,
        }
        summary.update(_registered(saved, register, registry))
    Console().print_json(json.dumps(summary))


@sell_chance_app.command("simulate")
def simulate(
    out: Annotated[Path, typer.Option(help="File to write: .parquet, .csv or .jsonl.")],
    listings: Annotated[int, typer.Option(min=1, help="Number of listings.")] = 5000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
) -> None:
    """Write SIMULATED listings with sale outcomes (for trying the commands; not real data)."""
    from furima.pricing._sell_simulation import simulate_sales

    with reported_errors():
        check_table_suffix(out)
        table = simulate_sales(listings, seed=seed)
        write_table(table, out)
    summary = {
        "out": str(out),
        "rows": len(table),
        "sales": int(table["sold"].sum()),
        "data": "SIMULATED",
        "note": _SIMULATED,
    }
    Console().print_json(json.dumps(summary))


@sell_chance_app.command("ask")
def ask(
    model: Annotated[Path, typer.Option("--model", help="A folder written by `fit`.")],
    price: Annotated[float, typer.Option(help="The asking price.")],
    reference: Annotated[float, typer.Option(help="The reference price.")],
    feature: Annotated[
        list[str] | None,
        typer.Option(help="A feature as key=value (repeat); a feature left out is missing."),
    ] = None,
    within_days: Annotated[int, typer.Option(help="The horizon in days.")] = 7,
) -> None:
    """The chance to sell within N days at PRICE, in a sentence, and the best price."""
    from furima.pricing._sell_chance import SellChanceModel

    with reported_errors():
        loaded = SellChanceModel.load(model)
        listing = listing_of(loaded, reference, feature or [])
        chance = float(loaded.chance(listing, price, within_days=within_days)[0])
        sentence = loaded.explain(listing, price, within_days=within_days)
        best, best_chance = loaded.best_price(listing, within_days=within_days)
    summary = {
        "model": str(model),
        "price": price,
        "reference_price": reference,
        "within_days": within_days,
        "chance": chance,
        "explanation": sentence,
        "best_price": best,
        "best_chance": best_chance,
        "best_expected_proceeds": best * best_chance,
    }
    Console().print_json(json.dumps(summary))


def listing_of(model: SellChanceModel, reference: float, items: list[str]) -> Any:
    """One listing as a one-row frame: the reference price and the ``key=value`` features
    (numbers for numeric features, text for categories; a feature not given is missing)."""
    import pandas as pd

    kinds = {f["name"]: f["kind"] for f in model.features_}
    row: dict[str, Any] = {model.columns_["reference"]: reference} | dict.fromkeys(kinds)
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise DataError(f"--feature must look like key=value, but got {item!r}.")
        if key not in kinds:
            raise DataError(
                f"--feature {key!r} is not a feature of this model; it uses {sorted(kinds)}."
            )
        row[key] = _number(key, value) if kinds[key] == "number" else value
    return pd.DataFrame([row]).astype(
        {name: "float64" if kind == "number" else "object" for name, kind in kinds.items()}
    )


def _number(key: str, value: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise DataError(f"--feature {key}={value!r}: {key!r} is numeric; give a number.") from None


def _registered(saved: Path, register: str | None, registry: str | None) -> dict[str, Any]:
    if register is None:
        return {}
    from furima.cli._models import DEFAULT_REGISTRY, log_fit

    return {"registered": log_fit(saved, registry or DEFAULT_REGISTRY, task=register)}
