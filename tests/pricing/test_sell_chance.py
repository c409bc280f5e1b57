"""The chance-to-sell model, on the documented simulation (no real sale outcomes exist here).

The simulation (furima.pricing._sell_simulation) has a known true chance for every price, so
these tests check that the model recovers it; they say nothing about real marketplaces. The
tolerances come from refitting on seeds 0 to 12 of the same simulation (8,000 listings): the
largest 7-day error at the reference price was 0.08 (tolerance 0.10); the best price found
always earned at least 93% of the true best expected proceeds (tolerance 90%); with heavy
censoring the mean error stayed within 0.08 (tolerance 0.09), while reading censored listings
as never sold was off by 0.12 to 0.18 (the test demands worse than -0.10).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from furima.exceptions import (
    DataError,
    EmptyDataError,
    ModelFormatError,
    NotFittedError,
    SchemaError,
)
from furima.pricing._sell_chance import SellChanceModel
from furima.pricing._sell_data import listing_days
from furima.pricing._sell_simulation import DemandCurve, SaleSimulation, simulate_sales

CATEGORIES = ("tops", "shoes", "electronics", "books")
REFERENCE = 1000.0


def _fit(model: SellChanceModel, sales: pd.DataFrame) -> SellChanceModel:
    return model.fit(
        sales, price="asking_price", reference="reference_price", features=["category"]
    )


def _listing(category: str, **extra: float) -> dict[str, object]:
    return {"reference_price": REFERENCE, "category": category, **extra}


def _chance_at_reference(model: SellChanceModel, within_days: int = 7) -> np.ndarray:
    frame = pd.DataFrame([_listing(c) for c in CATEGORIES])
    return model.chance(frame, REFERENCE, within_days=within_days)


def _true_chance_at_reference(simulation: SaleSimulation, within_days: int = 7) -> np.ndarray:
    return np.array([simulation.chance(np.array(0.0), c, within_days) for c in CATEGORIES])


@pytest.fixture(scope="module")
def sales() -> pd.DataFrame:
    return simulate_sales(8000, seed=0)


@pytest.fixture(scope="module")
def model(sales: pd.DataFrame) -> SellChanceModel:
    return _fit(SellChanceModel(max_days=14), sales)


# ---------------------------------------------------------------------- the simulation
def test_simulation_is_seeded_and_censored(sales: pd.DataFrame) -> None:
    assert sales.equals(simulate_sales(8000, seed=0))
    assert not sales.equals(simulate_sales(8000, seed=1))
    assert set(sales["sold"]) == {0, 1}
    assert sales["days"].between(1, 30).all()
    # unsold listings were watched 1..30 days, so many are censored before a week
    assert ((sales["sold"] == 0) & (sales["days"] < 7)).mean() > 0.05


def test_simulation_from_listings_keeps_them() -> None:
    listings = pd.DataFrame(
        {"listing_id": ["a", "b", "c"], "category": ["Men/Shoes", None, "Women/Tops"]}
    ).assign(price=[100.0, 2000.0, 50.0])
    frame = simulate_sales(listings, seed=3)
    assert list(frame["listing_id"]) == ["a", "b", "c"]
    assert frame["fair_price"].tolist() == [100.0, 2000.0, 50.0]
    assert frame["demand_curve"].tolist() == ["shoes", "tops", "electronics"]
    with pytest.raises(SchemaError, match="'category'"):
        simulate_sales(listings.drop(columns="category"), seed=3)


# ---------------------------------------------------------------------- what it learns
def test_chance_never_rises_with_price(model: SellChanceModel) -> None:
    prices = REFERENCE * np.exp(np.linspace(-2.0, 2.0, 201))
    for category in CATEGORIES:
        for days in (1, 7, 14):
            chance = model.curve(_listing(category), prices, within_days=days)["chance"]
            assert np.all(np.diff(chance.to_numpy()) <= 1e-12), (category, days)
    longer = _chance_at_reference(model, 14)
    assert np.all(longer >= _chance_at_reference(model, 7))


def test_chance_at_reference_matches_the_truth(model: SellChanceModel) -> None:
    error = _chance_at_reference(model) - _true_chance_at_reference(SaleSimulation())
    assert np.abs(error).max() < 0.10, error


def test_best_price_earns_nearly_the_best_proceeds(model: SellChanceModel) -> None:
    simulation = SaleSimulation()
    for category in CATEGORIES:
        price, chance = model.best_price(_listing(category), within_days=7)
        true_price, true_chance = simulation.best_price(REFERENCE, category, 7)
        earned = price * simulation.chance(np.log(price / REFERENCE), category, 7)
        assert earned >= 0.90 * true_price * true_chance, category
        assert abs(np.log(price / true_price)) < 0.5, category
        assert 0.0 < chance < 1.0


def test_censored_listings_are_not_read_as_unsold() -> None:
    """Unsold listings watched fewer than 7 days say nothing about day 7. Reading them as
    unsold for the whole horizon (the mistake) drags the 7-day chance far below the truth."""
    simulation = SaleSimulation(horizon=10)
    sales = simulate_sales(8000, seed=0, simulation=simulation)
    truth = _true_chance_at_reference(simulation)
    right = _fit(SellChanceModel(max_days=10), sales)
    never_sold = sales.assign(days=np.where(sales["sold"] == 1, sales["days"], 10))
    wrong = _fit(SellChanceModel(max_days=10), never_sold)
    assert abs(np.mean(_chance_at_reference(right) - truth)) < 0.09
    assert np.mean(_chance_at_reference(wrong) - truth) < -0.10


def test_listing_days_cut_each_listing_into_watched_days() -> None:
    sold = np.array([True, False, True, True, False])
    days = np.array([3.0, 2.5, 0.0, 40.0, 0.0])
    rows, day, event = listing_days(sold, days, max_days=30)
    assert rows.tolist() == [0, 0, 0, 1, 1, 2, *[3] * 30]
    assert day.tolist() == [1, 2, 3, 1, 2, 1, *range(1, 31)]
    assert event.tolist() == [0, 0, 1, 0, 0, 1, *[0] * 30]


def test_curve_and_explain(model: SellChanceModel) -> None:
    table = model.curve(_listing("tops"), [500.0, 1000.0, 50_000.0])
    assert list(table.columns) == ["price", "chance", "expected_proceeds", "extrapolated"]
    assert table["extrapolated"].tolist() == [False, False, True]
    np.testing.assert_allclose(table["expected_proceeds"], table["price"] * table["chance"])
    line = model.explain(_listing("books", asking_price=1200.0))
    chance = model.chance(pd.DataFrame([_listing("books")]), 1200.0)[0]
    assert line.startswith("priced at 1,200, ")
    assert line.endswith(f"({chance:.0%}) to sell within a week")
    assert model.explain(_listing("tops"), price=900.0, within_days=14).endswith("within 2 weeks")


def test_unknown_and_missing_categories_still_get_a_chance(model: SellChanceModel) -> None:
    frame = pd.DataFrame({"reference_price": [REFERENCE] * 2, "category": ["toys", None]})
    chance = model.chance(frame, [REFERENCE, REFERENCE])
    assert chance.shape == (2,) and np.all((chance > 0) & (chance < 1))


def test_numeric_features_bool_flags_and_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    sales = simulate_sales(2000, seed=5)
    rng = np.random.default_rng(5)
    sales = sales.assign(
        condition=np.where(rng.random(len(sales)) < 0.1, np.nan, rng.integers(1, 6, len(sales))),
        sold=sales["sold"].astype(bool),
    )
    model = SellChanceModel(max_days=7).fit(
        sales, price="asking_price", features=["category", "condition", "reference_price"]
    )
    assert [f["kind"] for f in model.features_] == ["category", "number", "number"]
    head = sales.head(7)
    whole = model.chance(head)
    monkeypatch.setattr("furima.pricing._sell_chance._BLOCK", 3)
    np.testing.assert_array_equal(model.chance(head), whole)
    chance = model.curve(head.iloc[0], head["asking_price"].iloc[0] * np.exp([0, 0.3, 0.6]))
    assert np.all(np.diff(chance["chance"]) <= 1e-12)


def test_horizon_is_limited_to_the_days_watched() -> None:
    sales = simulate_sales(1000, seed=2, simulation=SaleSimulation(horizon=5))
    model = _fit(SellChanceModel(max_days=30), sales)
    assert model.chance(sales.head(3), within_days=5).shape == (3,)
    with pytest.raises(DataError, match=r"between 1 and 5 .*watched that long"):
        model.chance(sales.head(3), within_days=7)


# ---------------------------------------------------------------------- save and load
def test_save_load_round_trip(model: SellChanceModel, sales: pd.DataFrame, tmp_path: Path) -> None:
    path = model.save(tmp_path / "sell")
    loaded = SellChanceModel.load(path)
    head = sales.head(50)
    np.testing.assert_array_equal(loaded.chance(head), model.chance(head))
    assert loaded.best_price(_listing("shoes")) == model.best_price(_listing("shoes"))
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["format"] == "furima.sell_chance_model"
    assert manifest["features"] == [
        {"name": "category", "kind": "category", "categories": sorted(CATEGORIES)}
    ]
    (path / "daily_chance.txt").write_text("tampered")
    with pytest.raises(ModelFormatError, match="checksum"):
        SellChanceModel.load(path)
    with pytest.raises(ModelFormatError, match=r"no manifest\.json"):
        SellChanceModel.load(tmp_path)


# ---------------------------------------------------------------------- bad input
@pytest.fixture
def small() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "price": [100.0, 200.0, 150.0, 120.0],
            "reference_price": [120.0, 150.0, 150.0, 100.0],
            "sold": [1, 0, 1, 0],
            "days": [2, 5, 1, 3],
        }
    )


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        (lambda f: f.drop(columns="days"), SchemaError, r"Missing column\(s\) \['days'\]"),
        (lambda f: f.assign(price=[100.0, 0.0, 1.0, 1.0]), DataError, "'price'.*row 2"),
        (lambda f: f.assign(reference_price=-1.0), DataError, "'reference_price'.*above 0"),
        (lambda f: f.assign(price=["1", "x", "2", "3"]), DataError, "text such as 'x'"),
        (lambda f: f.assign(days=[1, -2, 3, 4]), DataError, "'days'.*row 2 holds -2"),
        (lambda f: f.assign(days=[1, None, 3, 4]), DataError, "'days'.*not negative"),
        (lambda f: f.assign(sold=[1, 2, 0, 0]), DataError, "'sold'.*0 or 1.*row 2 holds 2"),
        (lambda f: f.assign(sold=1, days=1), DataError, "every watched day ends in a sale"),
        (lambda f: f.assign(sold=0), DataError, "no watched day ends in a sale"),
        (lambda f: f.iloc[:0], EmptyDataError, "no rows"),
    ],
)
def test_bad_training_data(
    small: pd.DataFrame,
    change: Callable[[pd.DataFrame], pd.DataFrame],
    error: type[Exception],
    message: str,
) -> None:
    with pytest.raises(error, match=message):
        SellChanceModel().fit(change(small))


def test_outcome_and_price_cannot_be_features(small: pd.DataFrame) -> None:
    with pytest.raises(SchemaError, match=r"\['price'\] cannot be features"):
        SellChanceModel().fit(small, features=["price"])
    with pytest.raises(SchemaError, match="four columns"):
        SellChanceModel().fit(small, reference="price")


def test_bad_horizons_and_prices(model: SellChanceModel) -> None:
    frame = pd.DataFrame([_listing("tops")])
    for horizon, message in ((0, "between 1 and 14"), (15, "larger max_days"), (2.5, "whole")):
        with pytest.raises(DataError, match=message):
            model.chance(frame, REFERENCE, within_days=horizon)  # type: ignore[arg-type]
    with pytest.raises(DataError, match="above 0"):
        model.chance(frame, -5.0)
    with pytest.raises(DataError, match="one per listing"):
        model.chance(frame, [1.0, 2.0])
    with pytest.raises(SchemaError, match="'category'"):
        model.chance(pd.DataFrame({"reference_price": [REFERENCE]}), REFERENCE)
    with pytest.raises(SchemaError, match="'asking_price'"):
        model.explain(_listing("tops"))
    with pytest.raises(DataError, match="numbers"):
        model.curve(_listing("tops"), ["cheap"])  # type: ignore[list-item]
    with pytest.raises(DataError, match="one listing"):
        model.best_price(pd.DataFrame([_listing("tops")] * 2))


def test_bad_simulation_parameters() -> None:
    with pytest.raises(DataError, match="above 1"):
        SaleSimulation(curves=(DemandCurve("flat", -2.0, 0.5),))
    with pytest.raises(DataError, match="at least one listing"):
        simulate_sales(0, seed=0)
    with pytest.raises(DataError, match="No demand curve 'toys'"):
        SaleSimulation().chance(np.array(0.0), "toys", 7)


def test_unfitted_model_says_so(tmp_path: Path) -> None:
    model = SellChanceModel()
    for call in (
        lambda: model.chance(pd.DataFrame([_listing("tops")]), REFERENCE),
        lambda: model.best_price(_listing("tops")),
        lambda: model.explain(_listing("tops"), price=REFERENCE),
        lambda: model.save(tmp_path / "m"),
    ):
        with pytest.raises(NotFittedError, match="not fitted yet"):
            call()
    assert not (tmp_path / "m").exists()
