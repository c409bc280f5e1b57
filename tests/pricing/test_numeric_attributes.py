"""Numeric attributes in the price model: an MSRP moves the price, missing values are reported,
bad money is refused by column name, and saved models (new and old) keep their columns."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from furima.exceptions import DataError, ValidationError
from furima.pricing import PriceSuggester, rmsle
from furima.pricing._numeric_members import is_money_column, scaled

WORDS = ["linen", "wool", "silk", "denim", "canvas", "leather", "cotton", "suede", "velvet"]
THINGS = ["shirt", "bag", "jacket", "scarf", "boots", "belt", "hat", "skirt"]


def resale(n: int, seed: int) -> pd.DataFrame:
    """Listings whose price is 0.6 x msrp x lognormal noise (sigma 0.1); the words say little."""
    rng = np.random.default_rng(seed)
    msrp = np.exp(rng.uniform(np.log(10.0), np.log(2000.0), n)).round(2)
    names = [f"{rng.choice(WORDS)} {rng.choice(THINGS)} {rng.choice(WORDS)}" for _ in range(n)]
    return pd.DataFrame(
        {
            "listing_id": [f"s{seed}-{i}" for i in range(n)],
            "name": names,
            "brand": rng.choice(["Acme", "Borealis", "Cobalt", "Dune"], n),
            "msrp": msrp,
            "price": (0.6 * msrp * np.exp(rng.normal(0.0, 0.1, n))).round(2),
        }
    )


@pytest.fixture(scope="module")
def train() -> pd.DataFrame:
    return resale(300, seed=1)


@pytest.fixture(scope="module")
def test_rows() -> pd.DataFrame:
    return resale(100, seed=2)


@pytest.fixture(scope="module")
def with_msrp(train: pd.DataFrame) -> PriceSuggester:
    return PriceSuggester(random_state=0, n_folds=3).fit(train)


def test_the_msrp_is_a_numeric_column_apart_from_the_categorical_ones(
    with_msrp: PriceSuggester,
) -> None:
    assert with_msrp.numeric_columns_ == ["msrp"]
    assert with_msrp.attribute_columns_ == []
    kinds = [member.kind for member in with_msrp.members_]
    assert kinds[-4:] == [
        "numeric_attributes",
        "reference_offset",
        "offset_neighbours",
        "offset_keys",
    ]


def test_a_model_with_the_msrp_prices_far_better_than_one_without(
    with_msrp: PriceSuggester, train: pd.DataFrame, test_rows: pd.DataFrame
) -> None:
    without = PriceSuggester(random_state=0, n_folds=3).fit(train.drop(columns="msrp"))
    truth = test_rows["price"].to_numpy()
    error_with = rmsle(truth, with_msrp.predict(test_rows))
    error_without = rmsle(truth, without.predict(test_rows.drop(columns="msrp")))
    assert error_without > 0.9  # log-uniform msrp over 10..2000: the words cannot tell
    assert error_with < 0.2  # near the 0.1 noise
    assert error_with < error_without / 4


def test_predictions_move_with_the_msrp(with_msrp: PriceSuggester) -> None:
    listing = pd.DataFrame({"name": ["wool scarf linen"], "brand": ["Acme"]})
    prices = [float(with_msrp.predict(listing.assign(msrp=m))[0]) for m in (50.0, 500.0)]
    assert prices[1] / prices[0] == pytest.approx(10.0, rel=0.35)
    assert prices[0] == pytest.approx(30.0, rel=0.35)


def test_the_range_keeps_its_calibration(
    with_msrp: PriceSuggester, test_rows: pd.DataFrame
) -> None:
    interval = with_msrp.predict_interval(test_rows)
    truth = test_rows["price"].to_numpy()
    inside = np.mean((interval[:, 0] <= truth) & (truth <= interval[:, 1]))
    assert 0.7 <= inside <= 0.92
    assert 0.77 <= with_msrp.metrics_["validation_coverage"] <= 0.83


def test_a_missing_msrp_falls_back_and_the_answer_says_so(
    with_msrp: PriceSuggester,
) -> None:
    listings = pd.DataFrame(
        {"name": ["wool scarf linen", "silk bag denim"], "msrp": [120.0, np.nan]}
    )
    given, gap = with_msrp.suggest(listings)
    assert given.missing_attributes == ()
    assert "missing_attributes" not in given.to_dict()
    assert gap.missing_attributes == ("msrp",)
    assert gap.to_dict()["missing_attributes"] == ["msrp"]
    assert 0 < gap.low <= gap.price <= gap.high
    absent = with_msrp.suggest(pd.DataFrame({"name": ["silk bag denim"]}))[0]
    assert absent.missing_attributes == ("msrp",)
    assert absent.price == pytest.approx(gap.price)


def test_numbers_sent_as_text_are_read_as_numbers(with_msrp: PriceSuggester) -> None:
    as_text = pd.DataFrame({"name": ["wool scarf linen"], "msrp": ["120.5"]}, dtype=object)
    as_number = pd.DataFrame({"name": ["wool scarf linen"], "msrp": [120.5]})
    assert with_msrp.predict(as_text)[0] == pytest.approx(with_msrp.predict(as_number)[0])


def test_text_in_the_msrp_at_predict_names_the_column(with_msrp: PriceSuggester) -> None:
    listing = pd.DataFrame({"name": ["wool scarf linen"], "msrp": ["about 120"]})
    with pytest.raises(ValidationError, match="msrp is a numeric attribute but 'about 120'"):
        with_msrp.predict(listing)


@pytest.mark.parametrize("value", [-5.0, np.inf])
def test_negative_or_infinite_msrp_at_predict_names_the_column(
    with_msrp: PriceSuggester, value: float
) -> None:
    listing = pd.DataFrame({"name": ["wool scarf linen"], "msrp": [value]})
    with pytest.raises((DataError, ValidationError), match="msrp"):
        with_msrp.suggest(listing)


def test_negative_msrp_at_fit_names_the_column_and_rows(train: pd.DataFrame) -> None:
    bad = train.copy()
    bad.loc[[3, 7], "msrp"] = -20.0
    with pytest.raises(
        DataError,
        match=r"'msrp' is money .* 2 listing\(s\) have values such as -20.0 \(rows 4, 8\)",
    ):
        PriceSuggester().fit(bad)


def test_infinite_msrp_at_fit_names_the_column(train: pd.DataFrame) -> None:
    bad = train.copy()
    bad.loc[5, "msrp"] = np.inf
    with pytest.raises(ValidationError, match="row 6, column 'msrp': msrp must be a finite"):
        PriceSuggester().fit(bad)


def test_negative_values_are_fine_where_the_column_is_not_money(train: pd.DataFrame) -> None:
    signed = train.assign(temperature=np.linspace(-20.0, 30.0, len(train)))
    model = PriceSuggester(random_state=0, n_folds=3).fit(signed)
    assert model.numeric_columns_ == ["msrp", "temperature"]
    assert np.isfinite(model.predict(signed.head(5))).all()


def test_integer_columns_are_numeric_when_declared(train: pd.DataFrame) -> None:
    whole = train.assign(msrp=train["msrp"].round().astype("int64"))
    assert PriceSuggester(n_folds=3).fit(whole).numeric_columns_ == []  # text, as before
    model = PriceSuggester(random_state=0, n_folds=3).fit(whole, numeric=["msrp"])
    assert model.numeric_columns_ == ["msrp"]


def test_save_and_load_keep_the_numeric_columns(
    with_msrp: PriceSuggester, test_rows: pd.DataFrame, tmp_path: Path
) -> None:
    saved = with_msrp.save(tmp_path / "price")
    manifest = json.loads((saved / "manifest.json").read_text())
    assert manifest["training"]["numeric_columns"] == ["msrp"]
    loaded = PriceSuggester.load(saved)
    assert loaded.numeric_columns_ == ["msrp"]
    assert loaded.training_ == with_msrp.training_
    np.testing.assert_array_equal(loaded.predict(test_rows), with_msrp.predict(test_rows))
    np.testing.assert_array_equal(
        loaded.predict_interval(test_rows), with_msrp.predict_interval(test_rows)
    )
    assert loaded.suggest(test_rows.head(3)) == with_msrp.suggest(test_rows.head(3))


def test_models_saved_before_numeric_attributes_load_and_price_as_before(
    train: pd.DataFrame, tmp_path: Path
) -> None:
    """A model of the earlier format: no numeric_columns in its manifest, and an attribute
    (``size``) that holds digits but is text."""
    sized = train.drop(columns="msrp").assign(
        size=[str(s) for s in np.resize([36, 38, 40, 42], len(train))]
    )
    model = PriceSuggester(random_state=0, n_folds=3).fit(sized)
    saved = model.save(tmp_path / "old")
    manifest_file = saved / "manifest.json"
    manifest = json.loads(manifest_file.read_text())
    del manifest["training"]["numeric_columns"]
    manifest_file.write_text(json.dumps(manifest))
    old = PriceSuggester.load(saved)
    assert old.numeric_columns_ == []
    assert old.attribute_columns_ == ["size"]
    query = pd.DataFrame({"name": ["wool scarf linen"], "size": ["38"]})
    assert old.suggest(query) == model.suggest(query)
    as_number = old.predict(query.assign(size=[38]))
    assert as_number[0] == pytest.approx(old.predict(query)[0])  # a number stays text
    assert old.suggest(query)[0].missing_attributes == ()


@pytest.mark.parametrize(
    ("name", "money"),
    [
        ("msrp", True),
        ("retail_price", True),
        ("shippingCost", True),
        ("price_usd", True),
        ("MRP", True),
        ("weight_g", False),
        ("rating", False),
        ("pricey_words", False),
    ],
)
def test_money_columns_are_known_by_their_names(name: str, money: bool) -> None:
    assert is_money_column(name) is money


def test_scaling_is_the_log_and_keeps_the_sign() -> None:
    np.testing.assert_allclose(
        scaled(np.array([0.0, 99.0, -99.0])), [0.0, np.log(100), -np.log(100)]
    )


def test_the_price_endpoint_passes_a_numeric_attribute_as_a_number(
    with_msrp: PriceSuggester,
) -> None:
    """The server's price task sends attributes as text; the model reads its numeric ones."""
    from furima.serve._task_price import PRICE_TASK, PriceRequest

    def ask(attributes: dict[str, str] | None) -> dict[str, Any]:
        request = PriceRequest.model_validate(
            {"name": "wool scarf linen", "condition": 2, "attributes": attributes}
        )
        answer: dict[str, Any] = PRICE_TASK.predict(with_msrp, [request])[0]
        return answer

    cheap, dear = ask({"msrp": "50"}), ask({"msrp": "500"})
    assert dear["price"] / cheap["price"] == pytest.approx(10.0, rel=0.35)
    assert "missing_attributes" not in cheap
    assert ask(None)["missing_attributes"] == ["msrp"]
    with pytest.raises(ValidationError, match="msrp is a numeric attribute but 'fifty'"):
        ask({"msrp": "fifty"})


def test_the_price_endpoint_takes_json_numbers_and_condition_words(
    with_msrp: PriceSuggester,
) -> None:
    from furima.serve._task_price import PRICE_TASK, PriceRequest

    def ask(condition: int | str, msrp: str | float) -> dict[str, Any]:
        request = PriceRequest.model_validate(
            {"name": "wool scarf linen", "condition": condition, "attributes": {"msrp": msrp}}
        )
        answer: dict[str, Any] = PRICE_TASK.predict(with_msrp, [request])[0]
        return answer

    assert ask("Like new", 120.0)["price"] == pytest.approx(ask(2, "120")["price"])
    with pytest.raises(ValidationError, match="so-so"):
        ask("so-so", 120.0)
