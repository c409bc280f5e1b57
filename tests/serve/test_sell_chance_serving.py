"""The ``sell_chance`` task: ``POST /v1/price:sell-chance`` from a registered chance-to-sell
model, fitted on the documented simulation (no real sale outcomes exist here)."""

from __future__ import annotations

import os
import re

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

import furima.serve._tasks
from furima.exceptions import DataError
from furima.pricing._sell_chance import SellChanceModel
from furima.pricing._sell_simulation import simulate_sales
from furima.registry import ModelRegistry
from furima.serve import ServeSettings, create_app, running_server
from furima.serve._task_sell_chance import SELL_CHANCE_TASK, SellChanceRequest

from .test_recommend_serving import wait_for

PATH = "/v1/price:sell-chance"


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> SellChanceModel:
    """Fitted, saved and loaded again (as the server holds it)."""
    sales = simulate_sales(1500, seed=3)
    sales["photos"] = np.random.default_rng(0).integers(1, 6, len(sales))
    fitted = SellChanceModel(max_days=14, n_estimators=60).fit(
        sales, price="asking_price", features=["category", "photos"]
    )
    return SellChanceModel.load(fitted.save(tmp_path_factory.mktemp("sell") / "model"))


def _predict(model: SellChanceModel, body: dict[str, Any]) -> list[dict[str, Any]]:
    answer = SELL_CHANCE_TASK.predict(model, [SellChanceRequest.model_validate(body)])[0]
    rows: list[dict[str, Any]] = answer["listings"]
    return rows


def _frame(category: str | None, photos: float, reference: float = 1000.0) -> pd.DataFrame:
    return pd.DataFrame(
        {"reference_price": [reference], "category": [category], "photos": [photos]}
    )


def test_smoke_requests_come_from_the_model_and_pass_the_check(model: SellChanceModel) -> None:
    requests = SELL_CHANCE_TASK.smoke(model)
    listings = requests[0].listings
    assert listings[0].features == {"category": "books", "photos": None}
    assert (listings[0].within_days, listings[1].within_days) == (7, 14)
    low, high = model.ratio_range_
    assert listings[1].prices is not None
    assert listings[1].prices[0] == pytest.approx(1000 * np.exp(low), abs=0.01)
    assert listings[1].prices[-1] == pytest.approx(1000 * np.exp(high), abs=0.01)
    assert SELL_CHANCE_TASK.check is not None
    for answer in SELL_CHANCE_TASK.predict(model, requests):
        SELL_CHANCE_TASK.check(answer)
        assert answer["listings"][0]["unread_features"] == ["photos"]
    bad = {"listings": [{"listing_id": "x", "chance": 1.5, "best_chance": 0.5}]}
    with pytest.raises(ValueError, match=r"chance 1\.5 outside"):
        SELL_CHANCE_TASK.check(bad)


def test_answers_equal_the_models_chance_explanation_and_best_price(
    model: SellChanceModel,
) -> None:
    body = {
        "listings": [
            {"listing_id": "a", "price": 1200.0, "reference_price": 1000.0,
             "features": {"category": "shoes", "photos": 3}},
            {"listing_id": "b", "price": 80.0, "reference_price": 100.0,
             "features": {"category": "books"}, "within_days": 3},
            {"listing_id": "c", "price": 50.0, "reference_price": 60.0,
             "features": {"category": "toys", "photos": 1}, "within_days": 14},
        ]
    }  # fmt: skip
    rows = _predict(model, body)
    assert [r["listing_id"] for r in rows] == ["a", "b", "c"]
    listings = [_frame("shoes", 3), _frame("books", np.nan, 100.0), _frame("toys", 1, 60.0)]
    for row, listing, price, days in zip(
        rows, listings, (1200.0, 80.0, 50.0), (7, 3, 14), strict=True
    ):
        assert (row["price"], row["within_days"]) == (price, days)
        assert row["chance"] == pytest.approx(model.chance(listing, price, within_days=days)[0])
        assert row["explanation"] == model.explain(listing, price, within_days=days)
        best, chance = model.best_price(listing, within_days=days)
        assert row["best_price"] == pytest.approx(best)
        assert row["best_chance"] == pytest.approx(chance)
    assert [r["unread_features"] for r in rows] == [[], ["photos"], ["category"]]


def test_candidate_prices_pick_the_best_among_them(model: SellChanceModel) -> None:
    candidates = [700.0, 850.0, 1000.0, 1300.0]
    listing = {"prices": candidates, "reference_price": 1000.0, "features": {"category": "tops"}}
    only, asked = _predict(
        model, {"listings": [listing, {**listing, "price": 1300.0, "listing_id": "p"}]}
    )
    frame = _frame("tops", np.nan)
    best, chance = model.best_price(frame, within_days=7, candidates=candidates)
    assert (only["best_price"], only["best_chance"]) == (best, pytest.approx(chance))
    assert only["price"] == best and only["chance"] == pytest.approx(chance)
    assert asked["price"] == 1300.0 and asked["best_price"] == best
    assert asked["chance"] <= only["chance"]  # higher price, never likelier


@pytest.mark.parametrize(
    ("listing", "words"),
    [
        ({"features": {"colour": "red"}}, "feature(s) ['colour'] that the model does not use"),
        ({"features": {"photos": "many"}}, "text for the numeric feature(s) ['photos']"),
        ({"within_days": 30}, "within_days=30, but this model answers 1 to 14 days"),
    ],
)
def test_bad_listings_are_refused_naming_what_is_wrong(
    model: SellChanceModel, listing: dict[str, Any], words: str
) -> None:
    body = {"listings": [{"price": 10.0, "reference_price": 12.0, **listing}]}
    with pytest.raises(DataError, match=re.escape(words)):
        _predict(model, body)


@pytest.mark.parametrize(
    ("listing", "words"),
    [
        ({"price": 0.0}, "greater than 0"),
        ({"price": 10.0, "reference_price": -3.0}, "greater than 0"),
        ({"prices": [10.0, -1.0]}, "candidate prices must be finite numbers above 0"),
        ({}, "give an asking `price`, or candidate `prices`"),
        ({"price": 10.0, "within_days": 0}, "greater than or equal to 1"),
    ],
)
def test_bad_prices_fail_validation(listing: dict[str, Any], words: str) -> None:
    from pydantic import ValidationError

    body = {"listings": [{"reference_price": 12.0, **listing}]}
    with pytest.raises(ValidationError) as raised:
        SellChanceRequest.model_validate(body)
    assert words in str(raised.value)


@pytest.fixture(scope="module")
def url(model: SellChanceModel, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    assert "sell_chance" in furima.serve._tasks.known_tasks()
    root = tmp_path_factory.mktemp("sell-serving")
    registry = ModelRegistry(root / "registry")
    version = registry.log_model(model.save(root / "model"), alias="champion")
    assert version.task == "sell_chance"  # the task name comes from the saved format
    settings = ServeSettings(tasks=("sell_chance",), poll_seconds=0.1, max_batch_wait_ms=1)
    with running_server(create_app(settings, registry=registry)) as base:
        wait_for(lambda: httpx.get(f"{base}/readyz").status_code == 200)
        yield base


def test_a_round_trip_through_the_server(url: str, model: SellChanceModel) -> None:
    listing = {"price": 1200.0, "reference_price": 1000.0, "features": {"category": "shoes"}}
    answer = httpx.post(f"{url}{PATH}", json={"listings": [listing]}, timeout=30)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["model"]["task"] == "sell_chance"
    expected = model.chance(_frame("shoes", np.nan), 1200.0, within_days=7)[0]
    assert body["listings"][0]["chance"] == pytest.approx(expected)
    refused = httpx.post(
        f"{url}{PATH}", json={"listings": [{**listing, "features": {"size": "M"}}]}, timeout=30
    )
    assert refused.status_code == 422
    assert "feature(s) ['size'] that the model does not use" in refused.text
    empty = httpx.post(f"{url}{PATH}", json={"listings": []}, timeout=30)
    assert empty.status_code == 422 and "at least 1 item" in empty.text
