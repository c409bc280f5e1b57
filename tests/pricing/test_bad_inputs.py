"""PriceSuggester refuses bad training and query data at the entry point, with messages that
name the row and column, before any fitting work is done."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from furima.exceptions import (
    DataError,
    FurimaError,
    NotFittedError,
    SchemaError,
    ValidationError,
)
from furima.pricing import PriceSuggester


@pytest.mark.parametrize(
    ("row", "price", "reason"),
    [
        (3, 0.0, "price must be a finite number > 0, got '0.0'"),
        (5, -3.0, "price must be a finite number > 0, got '-3.0'"),
        (150, np.inf, "price must be a finite number > 0, got 'inf'"),
        (1, np.nan, "price is missing; prices are required here"),
    ],
)
def test_bad_price_names_row_and_column(
    myntra_150: pd.DataFrame, row: int, price: float, reason: str
) -> None:
    listings = myntra_150.copy()
    listings.loc[row - 1, "price"] = price
    with pytest.raises(ValidationError) as info:
        PriceSuggester().fit(listings)
    message = str(info.value)
    assert message.startswith("1 training listing(s) are invalid")
    assert f"row {row}, column 'price': {reason}" in message
    assert "--on-error skip" in message
    assert info.value.problems[0][:2] == (row, "price")
    assert len(info.value.problems) == 1


def test_every_bad_row_is_counted(myntra_150: pd.DataFrame) -> None:
    listings = myntra_150.assign(price=myntra_150["price"].mask(myntra_150.index % 10 == 0, 0.0))
    with pytest.raises(ValidationError) as info:
        PriceSuggester().fit(listings)
    assert str(info.value).startswith("15 training listing(s) are invalid (row 1, column")
    assert [p[0] for p in info.value.problems] == list(range(1, 151, 10))


def test_bad_prices_given_as_y(myntra_150: pd.DataFrame) -> None:
    y = myntra_150["price"].to_numpy().copy()
    y[41] = 0.0
    with pytest.raises(ValidationError, match="row 42, column 'price'"):
        PriceSuggester().fit(myntra_150.drop(columns="price"), y)


def test_missing_name_column(myntra_150: pd.DataFrame) -> None:
    with pytest.raises(SchemaError, match=r"listings need a 'name' column; got columns \['list"):
        PriceSuggester().fit(myntra_150.drop(columns="name"))


def test_empty_name_in_training_data(myntra_150: pd.DataFrame) -> None:
    listings = myntra_150.copy()
    listings.loc[9, "name"] = "   "
    with pytest.raises(ValidationError, match="row 10, column 'name': name is required"):
        PriceSuggester().fit(listings)


@pytest.mark.parametrize("frame", [pd.DataFrame(), pd.DataFrame({"name": [], "price": []})])
def test_empty_frame(frame: pd.DataFrame) -> None:
    with pytest.raises(DataError, match="No listings to learn from: the training frame has 0 rows"):
        PriceSuggester().fit(frame)


def test_fewer_than_20_rows(myntra_150: pd.DataFrame) -> None:
    with pytest.raises(DataError, match="at least 20 priced listings, but got 19"):
        PriceSuggester().fit(myntra_150.iloc[:19])


def test_y_of_the_wrong_length(myntra_150: pd.DataFrame) -> None:
    with pytest.raises(DataError, match="`y` has 149 values but there are 150 listings"):
        PriceSuggester().fit(myntra_150, myntra_150["price"].to_numpy()[:-1])


def test_y_overrides_the_price_column(myntra_150: pd.DataFrame) -> None:
    # A frame with broken prices is fine when y gives the prices.
    model = PriceSuggester(n_folds=2).fit(
        myntra_150.assign(price=0.0), myntra_150["price"].to_numpy()
    )
    assert model.training_["rows"] == 150


@pytest.mark.parametrize("coverage", [0.0, 1.0, -0.2, 1.5])
def test_coverage_outside_the_open_unit_interval(myntra_150: pd.DataFrame, coverage: float) -> None:
    with pytest.raises(ValueError, match=rf"`coverage` must be in \(0, 1\), but got {coverage}"):
        PriceSuggester(coverage=coverage).fit(myntra_150)


def test_too_few_folds(myntra_150: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="`n_folds` must be at least 2, but got 1"):
        PriceSuggester(n_folds=1).fit(myntra_150)


def test_predict_before_fit(myntra_150: pd.DataFrame) -> None:
    model = PriceSuggester()
    message = r"This PriceSuggester is not fitted yet; call fit\(\) or PriceSuggester.load\(\)"
    for method in (model.predict, model.predict_interval, model.suggest):
        with pytest.raises(NotFittedError, match=message):
            method(myntra_150)
    with pytest.raises(NotFittedError, match=message):
        model.save("never-written")


def test_predict_on_a_listing_with_an_empty_name(small_model: PriceSuggester) -> None:
    listings = pd.DataFrame({"name": ["Puma Men Black Running Shoes", ""], "brand": ["Puma", None]})
    with pytest.raises(ValidationError) as info:
        small_model.predict(listings)
    assert (info.value.row, info.value.column) == (2, "name")
    assert "name is required but empty or missing" in str(info.value)
    assert isinstance(info.value, FurimaError)


def test_predict_on_conformed_listings_with_an_empty_name(
    small_model: PriceSuggester, myntra_150: pd.DataFrame
) -> None:
    listings = myntra_150.assign(name=myntra_150["name"].mask(myntra_150.index == 3, ""))
    with pytest.raises(ValidationError, match="row 4, column 'name'"):
        small_model.suggest(listings)


def test_predict_ignores_bad_prices_and_unknown_columns(
    small_model: PriceSuggester, myntra_150: pd.DataFrame
) -> None:
    expected = small_model.predict(myntra_150.iloc[:5])
    noisy = myntra_150.iloc[:5].assign(price=[0, -1, np.nan, "n/a", 5], season="summer")
    np.testing.assert_array_equal(small_model.predict(noisy), expected)
