"""``furima rank fit|feed|propensities``: thin commands over furima.ranking."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from furima.cli._errors import reported_errors
from furima.cli._filters import listing_ids
from furima.cli._ingest import OnError
from furima.cli._models import FitRegistryOption, log_fit
from furima.cli._recommend import LogFormat, _read_logs
from furima.exceptions import DataError

if TYPE_CHECKING:
    import numpy as np

    from furima.catalog import Interactions
    from furima.ranking import ClickLog, Ranker

__all__ = ["rank_app"]

rank_app = typer.Typer(
    help="Ranking: order feeds by what buyers go on to do; position bias in click logs."
)

_DEFAULT_MODEL = Path("models/rank")


class RankerKind(StrEnum):
    lightgbm = "lightgbm"
    multitask = "multitask"


class PropensityMethod(StrEnum):
    randomized = "randomized"
    harvesting = "harvesting"
    em = "em"


@rank_app.command("fit")
def fit(
    logs: Annotated[
        Path,
        typer.Argument(help="Events (.csv, .tsv, .parquet, .jsonl: user, item, timestamp, event)."),
    ],
    out: Annotated[Path, typer.Option("--out", help="Folder to save the ranker in.")] = (
        _DEFAULT_MODEL
    ),
    log_format: Annotated[
        LogFormat, typer.Option("--format", help="auto: by extension.")
    ] = LogFormat.auto,
    mapping: Annotated[
        str | None,
        typer.Option("--mapping", help="Event columns: preset (taobao) or JSON mapping file."),
    ] = None,
    item_category: Annotated[
        str | None,
        typer.Option(
            "--item-category", help="A column of the log naming each item's category (Taobao)."
        ),
    ] = None,
    ranker: Annotated[
        RankerKind,
        typer.Option("--ranker", help="lightgbm (LambdaRank) or multitask (a head per event)."),
    ] = RankerKind.lightgbm,
    on_error: Annotated[
        OnError, typer.Option("--on-error", help="fail, or skip bad event rows.")
    ] = OnError.fail,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    registry: FitRegistryOption = None,
) -> None:
    """Learn to order feeds from an interaction log and save the ranker (and register it)."""
    from furima.ranking import FeedRanker

    with reported_errors():
        events = _read_logs(logs, log_format, mapping, on_error)
        category = _item_categories(logs, item_category, events) if item_category else None
        model = FeedRanker(_ranker(ranker, events, seed)).fit(events, category=category, seed=seed)
        model.save(out)
        registered = log_fit(out, registry, task="rank") if registry else None
    summary: dict[str, Any] = {
        "model": str(out),
        "ranker": ranker.value,
        "users": events.n_users,
        "items": events.n_items,
        "events": len(events),
        "training": model.training_,
    }
    if registered:
        summary["registered"] = registered
    Console().print_json(json.dumps(summary, default=float))


def _ranker(kind: RankerKind, events: Interactions, seed: int) -> Ranker | None:
    if kind is RankerKind.lightgbm:
        return None  # FeedRanker's default
    from furima.ranking import MultiTaskRanker

    return MultiTaskRanker(events=events.event_types, seed=seed)


def _item_categories(path: Path, column: str, events: Interactions) -> np.ndarray:
    """Each item's category from a column of the log (its first value per item)."""
    from furima.cli._search import read_table
    from furima.ranking import item_categories

    table = read_table(path)
    item = next((c for c in ("item_id", "item", "listing_id") if c in table.columns), "item_id")
    return item_categories(table, events.items, item=item, category=column)


@rank_app.command("feed")
def feed(
    model: Annotated[Path, typer.Option("--model", help="A saved ranker folder.")] = (
        _DEFAULT_MODEL
    ),
    user: Annotated[str | None, typer.Option("--user", help="Order a feed for this user.")] = None,
    history: Annotated[
        str | None,
        typer.Option("--history", help="A visitor's listing ids instead (a,b,c; oldest first)."),
    ] = None,
    candidates: Annotated[
        str | None, typer.Option("--candidates", help="Listing ids to order (a,b,c).")
    ] = None,
    fill: Annotated[
        int | None,
        typer.Option("--fill", min=1, max=1000, help="Take this many from the generators."),
    ] = None,
    k: Annotated[int, typer.Option("--k", min=1, max=1000, help="Print the best k.")] = 10,
) -> None:
    """Order candidates (or the generators' best) for a user; prints JSON."""
    from furima.ranking import FeedRanker

    with reported_errors():
        if (candidates is None) == (fill is None):
            raise DataError("give exactly one of --candidates or --fill.")
        request: dict[str, Any] = {"user": user}
        if history is not None:
            request["history"] = listing_ids(history, "--history")
        if candidates is not None:
            request["candidates"] = listing_ids(candidates, "--candidates")
        else:
            request["fill"] = fill
        answer = FeedRanker.load(model).rank([request])[0].to_dict()
    answer["items"] = answer["items"][:k]
    typer.echo(json.dumps({"model": str(model), **answer}, ensure_ascii=False, indent=2))


@rank_app.command("propensities")
def propensities(
    logs: Annotated[
        list[Path],
        typer.Argument(help="Click logs (.parquet/.csv/.jsonl: item, position, click[, ...])."),
    ],
    method: Annotated[
        PropensityMethod,
        typer.Option(
            "--method",
            help="randomized (one log, items placed at random), harvesting (several "
            "policies' logs) or em (one biased log).",
        ),
    ] = PropensityMethod.randomized,
    item: Annotated[str, typer.Option("--item", help="The item column.")] = "item",
    position: Annotated[str, typer.Option("--position", help="The position column.")] = "position",
    click: Annotated[str, typer.Option("--click", help="The 0/1 click column.")] = "click",
    seed: Annotated[int, typer.Option("--seed", help="Seed of the bootstrap.")] = 0,
) -> None:
    """How likely each position is to be looked at, relative to the first; prints JSON."""
    from furima.ranking import (
        estimate_by_intervention_harvesting,
        estimate_by_regression_em,
        estimate_from_randomized,
    )

    with reported_errors():
        read = [
            _click_log(path, {"item": item, "position": position, "click": click}) for path in logs
        ]
        if method is not PropensityMethod.harvesting and len(read) != 1:
            raise DataError(f"--method {method.value} reads one click log; got {len(read)}.")
        if method is PropensityMethod.randomized:
            found = estimate_from_randomized(read[0], seed=seed)
        elif method is PropensityMethod.em:
            found = estimate_by_regression_em(read[0], seed=seed)
        else:
            found = estimate_by_intervention_harvesting(read, seed=seed)
    Console().print_json(json.dumps(found.to_json(), default=float))


def _click_log(path: Path, columns: dict[str, str]) -> ClickLog:
    from furima.cli._search import read_table
    from furima.ranking import ClickLog

    table = read_table(path)
    for name, column in columns.items():
        if column not in table.columns:
            raise DataError(
                f"{path.name} has no {column!r} column; name its {name} column with --{name} "
                f"(columns: {', '.join(map(str, table.columns[:20]))})."
            )
    return ClickLog.from_frame(table, columns=columns, policy=path.stem)
