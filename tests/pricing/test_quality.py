"""PriceSuggester on real data: the 3,000 bundled Myntra listings, split 80/20 (seed 0) the
way benchmarks/price.py splits, against the benchmark's Ridge-on-TF-IDF baseline."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import train_test_split

from furima.catalog import read_listings
from furima.datasets import demo_listings_path
from furima.pricing import PriceSuggester, PriceSuggestion, RidgeBaseline, rmsle

SEED = 0


@dataclass(frozen=True)
class Split:
    train: pd.DataFrame
    test: pd.DataFrame


@dataclass(frozen=True)
class Fitted:
    split: Split
    model: PriceSuggester
    price: np.ndarray
    interval: np.ndarray
    suggestions: list[PriceSuggestion]


@pytest.fixture(scope="module")
def split() -> Split:
    listings = read_listings(demo_listings_path(), mapping="myntra", require_price=True).listings
    assert len(listings) == 3000
    train_rows, test_rows = train_test_split(
        np.arange(len(listings)), test_size=0.2, random_state=SEED
    )
    return Split(listings.iloc[train_rows], listings.iloc[test_rows])


@pytest.fixture(scope="module")
def fitted(split: Split) -> Fitted:
    model = PriceSuggester(random_state=SEED).fit(split.train)
    return Fitted(
        split,
        model,
        model.predict(split.test),
        model.predict_interval(split.test),
        model.suggest(split.test),
    )


def baseline_rmsle(train: pd.DataFrame, test: pd.DataFrame) -> float:
    """The baseline of benchmarks/price.py: Ridge on joined-text TF-IDF plus one-hot."""
    return rmsle(test["price"], RidgeBaseline().fit(train).predict(test))


def test_baseline_is_the_known_figure(split: Split) -> None:
    # Pins the comparison below: the baseline itself must not drift unnoticed.
    assert baseline_rmsle(split.train, split.test) == pytest.approx(0.3866, abs=5e-4)


def test_rmsle_beats_the_ridge_baseline(fitted: Fitted) -> None:
    furima = rmsle(fitted.split.test["price"], fitted.price)
    baseline = baseline_rmsle(fitted.split.train, fitted.split.test)
    assert furima < baseline, f"furima RMSLE {furima:.4f} vs baseline {baseline:.4f}"


def test_rmsle_on_the_test_part(fitted: Fitted) -> None:
    truth = fitted.split.test["price"].to_numpy()
    median = np.full(len(truth), fitted.split.train["price"].median())
    assert rmsle(truth, median) == pytest.approx(0.6654, abs=5e-4)
    assert rmsle(truth, fitted.price) < 0.42
    # Cross-validated estimate on the training part agrees with the held-out figure.
    assert fitted.model.metrics_["validation_rmsle"] == pytest.approx(
        rmsle(truth, fitted.price), abs=0.05
    )


def test_interval_coverage_on_the_test_part(fitted: Fitted) -> None:
    truth = fitted.split.test["price"].to_numpy()
    low, high = fitted.interval[:, 0], fitted.interval[:, 1]
    coverage = float(np.mean((low <= truth) & (truth <= high)))
    assert 0.72 <= coverage <= 0.88, coverage
    assert 0.75 <= fitted.model.metrics_["validation_coverage"] <= 0.85
    assert fitted.model.training_ | {"fit_seconds": 0} == {
        "rows": 2400,
        "stack_rows": 2400,
        "mode": "cross_fit",
        "fit_seconds": 0,
    }


def test_predict_shapes_and_order(fitted: Fitted) -> None:
    n = len(fitted.split.test)
    assert fitted.price.shape == (n,)
    assert fitted.interval.shape == (n, 2)
    assert np.all(np.isfinite(fitted.price)) and np.all(fitted.price > 0)
    low, high = fitted.interval[:, 0], fitted.interval[:, 1]
    assert np.all(low <= fitted.price) and np.all(fitted.price <= high)
    assert np.all(low < high)


def test_suggest_agrees_with_predict(fitted: Fitted) -> None:
    test = fitted.split.test
    assert [s.listing_id for s in fitted.suggestions] == test["listing_id"].tolist()
    np.testing.assert_allclose([s.price for s in fitted.suggestions], fitted.price, rtol=1e-12)
    np.testing.assert_allclose([s.low for s in fitted.suggestions], fitted.interval[:, 0])
    np.testing.assert_allclose([s.high for s in fitted.suggestions], fitted.interval[:, 1])
    assert {s.coverage for s in fitted.suggestions} == {0.8}
    for s in fitted.suggestions:
        assert s.low <= s.price <= s.high


def test_single_listing_matches_the_batch(fitted: Fitted) -> None:
    one = fitted.split.test.iloc[[7]]
    (suggestion,) = fitted.model.suggest(one)
    assert suggestion == fitted.suggestions[7]
    # The same listing as plain Python objects (not conformed dtypes) gives the same answer.
    loose = one.astype(object).drop(columns=["category", "condition", "shipping", "price"])
    assert fitted.model.predict(loose)[0] == pytest.approx(fitted.price[7], rel=1e-12)


def test_comparables_are_training_listings_with_their_prices(fitted: Fitted) -> None:
    train = fitted.split.train.set_index("listing_id")["price"]
    test_ids = set(fitted.split.test["listing_id"])
    counts = np.array([len(s.comparables) for s in fitted.suggestions])
    # Fewer than 5 only when fewer training listings share a (not too common) word with the
    # brand and name, e.g. "BOLLYGLOW Women Concealer Cocoa Corrector Masala 5g".
    assert counts.max() == 5
    assert np.mean(counts == 5) > 0.98
    for s in fitted.suggestions:
        similarities = [c.similarity for c in s.comparables]
        assert similarities == sorted(similarities, reverse=True)
        assert all(0.0 < c.similarity <= 1.0 + 1e-6 for c in s.comparables)
        for c in s.comparables:
            assert c.listing_id in train.index and c.listing_id not in test_ids
            assert c.price == pytest.approx(train[c.listing_id], rel=1e-12)


def test_comparable_prices_are_exactly_the_listing_prices(fitted: Fitted) -> None:
    train = fitted.split.train.set_index("listing_id")["price"]
    shown = [(c.price, train[c.listing_id]) for s in fitted.suggestions for c in s.comparables]
    wrong = [(price, float(truth)) for price, truth in shown if price != truth]
    assert not wrong, f"{len(wrong)} of {len(shown)} comparable prices differ: {wrong[:3]}"
