"""The ``sell_chance`` task: the chance a listing sells within N days at its asking price, from
the registered chance-to-sell model (:class:`furima.pricing._sell_chance.SellChanceModel`).

``POST /v1/price:sell-chance`` takes 1 to 1,000 listings, each with a reference price (say
furima's price suggestion), an asking price and/or a list of candidate prices, the model's
features and a horizon ``within_days``, and answers, in the same order: the chance to sell
within that horizon at the asking price, the seller's sentence ("priced at 1,200, likely (72%)
to sell within a week"), and the price that maximises the expected proceeds (price times
chance) with its chance. Without candidates the best price is searched on the model's own grid
(that of :meth:`SellChanceModel.best_price`: 81 prices over the price ratios seen in training);
with candidates, among them, and the asking price defaults to the best candidate.

A feature left out or sent as ``null`` is scored as missing, and so is a category the model
never saw; both are listed in the answer's ``unread_features``. A feature name the model does
not know, text for a numeric feature, a price that is not above 0, or a horizon beyond what the
model learned is refused with a 422 that names it.

``GET /v1/price:sell-chance`` describes the live version, so a page sends only the features it
uses: their names and kinds (with up to 100 of a category's values), the longest horizon and
the price ratios it learned. It is there only where the task is served (404 otherwise).

The model was built and tested on a documented simulation only (no real sale outcomes were
available); its answers carry no quality claim until it is fitted on real outcomes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from furima.exceptions import DataError
from furima.serve._schemas import ErrorResponse
from furima.serve._tasks import ServingTask

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from fastapi import APIRouter

    from furima.pricing._sell_chance import SellChanceModel
    from furima.serve._deployments import TaskSlot

__all__ = [
    "SELL_CHANCE_TASK",
    "SellChanceRequest",
    "SellChanceResponse",
    "SellListing",
    "describe_model",
    "sell_chance_routes",
]

_MAX_LISTINGS = 1000
_MAX_CANDIDATES = 100
_MAX_FEATURES = 100
_GRID = 81  # the default candidate count of SellChanceModel.best_price
_SHOWN_CATEGORIES = 100  # a category's values listed by GET (a brand may have thousands)
_NOT_READY = {"model": ErrorResponse, "description": "No chance-to-sell model is loaded yet."}

FeatureValue = bool | float | str | None


class SellListing(BaseModel):
    """One listing: an asking price and/or candidate prices, a reference price, features."""

    model_config = ConfigDict(extra="forbid")

    listing_id: str | None = Field(None, max_length=200, description="Echoed in the answer.")
    price: float | None = Field(
        None, gt=0, allow_inf_nan=False, description="The asking price to judge."
    )
    prices: list[float] | None = Field(
        None,
        min_length=1,
        max_length=_MAX_CANDIDATES,
        description="Candidate prices: the best price is chosen among them (and is the asking "
        "price when `price` is left out).",
    )
    reference_price: float = Field(
        gt=0, allow_inf_nan=False, description="The reference price, e.g. furima's suggestion."
    )
    features: dict[str, FeatureValue] = Field(
        default_factory=dict,
        max_length=_MAX_FEATURES,
        description="Feature name -> value, as in training; left out or null when unknown.",
    )
    within_days: int = Field(7, ge=1, description="The horizon in days (up to the model's).")

    @model_validator(mode="after")
    def _a_price_to_judge(self) -> SellListing:
        if self.price is None and not self.prices:
            raise ValueError("give an asking `price`, or candidate `prices`, or both")
        bad = [p for p in self.prices or [] if not (math.isfinite(p) and p > 0)]
        if bad:
            raise ValueError(f"candidate prices must be finite numbers above 0, but got {bad[:3]}")
        return self


class SellChanceRequest(BaseModel):
    """Listings to judge (1 to 1,000), answered in this order."""

    model_config = ConfigDict(extra="forbid")

    listings: list[SellListing] = Field(min_length=1, max_length=_MAX_LISTINGS)


class SellChance(BaseModel):
    listing_id: str | None
    price: float = Field(description="The asking price judged.")
    within_days: int
    chance: float = Field(description="Chance to sell within `within_days` at `price`.")
    explanation: str = Field(description="One sentence for the seller.")
    best_price: float = Field(description="The price maximising price times chance.")
    best_chance: float = Field(description="The chance to sell within the horizon at it.")
    unread_features: list[str] = Field(
        description="Features scored as missing: left out, null, or a category never seen."
    )


class SellChanceResponse(BaseModel):
    listings: list[SellChance] = Field(description="One per listing, in request order.")


def _load(path: Path) -> SellChanceModel:
    from furima.pricing._sell_chance import SellChanceModel

    return SellChanceModel.load(path)


# ------------------------------------------------------------------------------- checks
def _check_listing(model: SellChanceModel, position: int, listing: SellListing) -> None:
    """Refuse unknown feature names, text for numeric features, a horizon beyond the model's."""
    kinds = {f["name"]: f["kind"] for f in model.features_}
    unknown = sorted(set(listing.features) - set(kinds))
    if unknown:
        raise DataError(
            f"listing {position} has feature(s) {unknown} that the model does not use; it uses "
            f"{sorted(kinds)} (leave a feature out or send null when unknown)."
        )
    texts = sorted(
        name
        for name, value in listing.features.items()
        if kinds[name] == "number" and isinstance(value, str)
    )
    if texts:
        raise DataError(
            f"listing {position} sends text for the numeric feature(s) {texts}; send a number, "
            "or null when unknown."
        )
    if listing.within_days > model.horizon_:
        raise DataError(
            f"listing {position} asks within_days={listing.within_days}, but this model answers "
            f"1 to {model.horizon_} days (the longest it learned); ask for a shorter horizon."
        )


def _category(value: FeatureValue) -> str | None:
    """A category as the model's training categories hold it (text)."""
    if value is None or isinstance(value, str | bool):
        return None if value is None else str(value)
    return f"{value:g}" if float(value).is_integer() else str(value)


def _unread(model: SellChanceModel, listing: SellListing) -> list[str]:
    names = []
    for feature in model.features_:
        value = listing.features.get(feature["name"])
        unseen = feature["kind"] == "category" and _category(value) not in feature["categories"]
        if value is None or unseen:
            names.append(str(feature["name"]))
    return names


def _frame(model: SellChanceModel, listings: Sequence[SellListing]) -> pd.DataFrame:
    """One row per listing: the reference column and every feature column (missing: NaN)."""
    import numpy as np
    import pandas as pd

    columns: dict[str, Any] = {
        model.columns_["reference"]: np.array([x.reference_price for x in listings], float)
    }
    for feature in model.features_:
        values = [x.features.get(feature["name"]) for x in listings]
        if feature["kind"] == "number":
            columns[feature["name"]] = np.array(
                [np.nan if v is None else float(v) for v in values], float
            )
        else:
            columns[feature["name"]] = pd.Series([_category(v) for v in values], dtype=object)
    return pd.DataFrame(columns, index=range(len(listings)))


# ------------------------------------------------------------------------------- predict
def _candidates(model: SellChanceModel, listing: SellListing) -> np.ndarray:
    """The listing's candidates, else the grid SellChanceModel.best_price searches."""
    import numpy as np

    if listing.prices:
        return np.asarray(listing.prices, float)
    return listing.reference_price * np.exp(np.linspace(*model.ratio_range_, _GRID))


def _best(
    model: SellChanceModel,
    frame: pd.DataFrame,
    listings: list[SellListing],
    rows: list[int],
    within: int,
) -> list[tuple[float, float]]:
    """(best price, its chance) per listing row, all candidates of a horizon in one call."""
    import numpy as np

    grids = [_candidates(model, listings[row]) for row in rows]
    repeated = frame.iloc[np.repeat(rows, [len(g) for g in grids])]
    chances = model.chance(repeated, np.concatenate(grids), within_days=within)
    best, start = [], 0
    for grid in grids:
        chance = chances[start : start + len(grid)]
        top = int(np.argmax(grid * chance))
        best.append((float(grid[top]), float(chance[top])))
        start += len(grid)
    return best


def _answers(model: SellChanceModel, listings: list[SellListing]) -> list[dict[str, Any]]:
    """Every listing judged: chances and best prices grouped by horizon, one call each."""
    import numpy as np

    frame = _frame(model, listings)
    answers: list[dict[str, Any]] = [{} for _ in listings]
    for within in sorted({x.within_days for x in listings}):
        rows = [i for i, x in enumerate(listings) if x.within_days == within]
        best = _best(model, frame, listings, rows, within)
        asked = np.array(
            [
                best[k][0] if listings[i].price is None else listings[i].price
                for k, i in enumerate(rows)
            ]
        )
        chances = model.chance(frame.iloc[rows], asked, within_days=within)
        for k, row in enumerate(rows):
            listing = listings[row]
            answers[row] = {
                "listing_id": listing.listing_id,
                "price": float(asked[k]),
                "within_days": within,
                "chance": float(chances[k]),
                "explanation": model.explain(
                    frame.iloc[[row]], float(asked[k]), within_days=within
                ),
                "best_price": best[k][0],
                "best_chance": best[k][1],
                "unread_features": _unread(model, listing),
            }
    return answers


def _predict(model: SellChanceModel, requests: Sequence[SellChanceRequest]) -> list[dict[str, Any]]:
    for request in requests:
        for position, listing in enumerate(request.listings):
            _check_listing(model, position, listing)
    rows = _answers(model, [x for request in requests for x in request.listings])
    answers, start = [], 0
    for request in requests:
        end = start + len(request.listings)
        answers.append({"listings": rows[start:end]})
        start = end
    return answers


# ------------------------------------------------------------------------------- smoke
def _smoke(model: SellChanceModel) -> list[SellChanceRequest]:
    """From the model's own summary: a listing at the reference price with a category the model
    learned (numbers missing) in a week or less, and one with no features at the longest
    horizon, priced among candidates spanning the price ratios seen in training."""
    low, high = model.ratio_range_
    features: dict[str, FeatureValue] = {
        f["name"]: (f["categories"][0] if f["kind"] == "category" and f["categories"] else None)
        for f in model.features_
    }
    candidates = [round(1000.0 * math.exp(low + (high - low) * i / 4), 2) for i in range(5)]
    body = {
        "listings": [
            {
                "listing_id": "smoke-typical",
                "price": 1000.0,
                "reference_price": 1000.0,
                "features": features,
                "within_days": min(7, model.horizon_),
            },
            {
                "listing_id": "smoke-candidates",
                "prices": candidates,
                "reference_price": 1000.0,
                "within_days": model.horizon_,
            },
        ]
    }
    return [SellChanceRequest.model_validate(body)]


def _check(answer: dict[str, Any]) -> None:
    for row in answer["listings"]:
        who = row["listing_id"]
        for name in ("chance", "best_chance"):
            if not (math.isfinite(row[name]) and 0.0 <= row[name] <= 1.0):
                raise ValueError(
                    f"the smoke-test listing {who!r} got a {name} {row[name]} outside [0, 1]"
                )
        if not (math.isfinite(row["best_price"]) and row["best_price"] > 0):
            raise ValueError(f"the smoke-test listing {who!r} got a best price {row['best_price']}")
        if not row["explanation"]:
            raise ValueError(f"the smoke-test listing {who!r} got no explanation")


def _compare(served: dict[str, Any], shadow: dict[str, Any]) -> float:
    """The mean absolute difference of the two answers' chances."""
    pairs = list(zip(served["listings"], shadow["listings"], strict=True))
    gaps = [abs(float(mine["chance"]) - float(theirs["chance"])) for mine, theirs in pairs]
    return sum(gaps) / max(1, len(gaps))


# ------------------------------------------------------------------------------- describe
def describe_model(model: SellChanceModel) -> dict[str, Any]:
    """What a caller needs to ask well: each feature's name and kind (a category's first
    values, sorted, and how many there are), the longest horizon, the price ratios learned."""
    features = []
    for feature in model.features_:
        row: dict[str, Any] = {"name": str(feature["name"]), "kind": str(feature["kind"])}
        if feature["kind"] == "category":
            values = [str(v) for v in feature["categories"]]
            row |= {"categories": values[:_SHOWN_CATEGORIES], "n_categories": len(values)}
        features.append(row)
    low, high = model.ratio_range_
    return {
        "features": features,
        "max_within_days": int(model.horizon_),
        "price_ratio_range": [math.exp(low), math.exp(high)],
    }


def sell_chance_routes(slot: TaskSlot) -> APIRouter:
    """``GET /v1/price:sell-chance``: the live version's features and horizon."""
    from fastapi import APIRouter

    router = APIRouter(tags=[slot.task.name])

    @router.get(
        slot.task.path,
        summary="The served chance-to-sell model: its feature names and kinds, its longest "
        "horizon and the price ratios it learned",
        responses={503: _NOT_READY},
    )
    async def describe() -> dict[str, Any]:
        model, version = slot.serving("The chance-to-sell model is")
        return {"version": version, **describe_model(model)}

    return router


SELL_CHANCE_TASK = ServingTask(
    name="sell_chance",
    path="/v1/price:sell-chance",
    summary="Chance a listing sells within N days at its price, and the best price for proceeds",
    request=SellChanceRequest,
    response=SellChanceResponse,
    load=_load,
    predict=_predict,
    smoke=_smoke,
    check=_check,
    compare=_compare,
    routes=sell_chance_routes,
    json_bytes=4_000_000,  # 1,000 listings of up to 100 candidate prices
)
