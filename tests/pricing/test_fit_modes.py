"""How PriceSuggester trains: cross-fitting or a single holdout, deterministically."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from furima.catalog import fingerprint
from furima.pricing import PriceSuggester


def test_small_catalogs_are_cross_fitted(small_model: PriceSuggester) -> None:
    assert small_model.training_["mode"] == "cross_fit"
    assert small_model.training_["rows"] == small_model.training_["stack_rows"] == 150
    assert small_model.stacker_.oof_point_.shape == (150,)


def test_large_catalogs_use_a_holdout(myntra_150: pd.DataFrame) -> None:
    model = PriceSuggester(holdout_threshold=100, holdout_rows=40).fit(myntra_150)
    # The holdout is min(holdout_rows, rows // 5) listings.
    assert model.training_ | {"fit_seconds": 0} == {
        "rows": 150,
        "stack_rows": 30,
        "mode": "holdout",
        "fit_seconds": 0,
    }
    assert model.stacker_.oof_point_.shape == (30,)
    # Members learn from the other 120 listings only: the comparables come from those.
    assert model._neighbours().reference_ids_.shape == (120,)
    interval = model.predict_interval(myntra_150)
    price = model.predict(myntra_150)
    assert np.all((interval[:, 0] <= price) & (price <= interval[:, 1]))


def test_same_seed_same_model(small_model: PriceSuggester, myntra_150: pd.DataFrame) -> None:
    again = PriceSuggester(random_state=0).fit(myntra_150)
    np.testing.assert_array_equal(again.predict(myntra_150), small_model.predict(myntra_150))
    assert again.metrics_ == small_model.metrics_
    other = PriceSuggester(random_state=1).fit(myntra_150)
    assert not np.array_equal(other.predict(myntra_150), small_model.predict(myntra_150))


def test_fingerprint_is_of_the_training_listings(
    small_model: PriceSuggester, myntra_150: pd.DataFrame
) -> None:
    assert small_model.data_fingerprint_ == fingerprint(myntra_150)
    shuffled = PriceSuggester(n_folds=2).fit(myntra_150.iloc[::-1])
    assert shuffled.data_fingerprint_ != small_model.data_fingerprint_


def test_n_comparables(myntra_150: pd.DataFrame) -> None:
    model = PriceSuggester(n_comparables=12, n_folds=2).fit(myntra_150)
    suggestions = model.suggest(myntra_150)
    counts = np.array([len(s.comparables) for s in suggestions])
    # 12 unless fewer training listings share a (not too common) word of brand and name.
    neighbours = model._neighbours()
    scores = (neighbours.encode(myntra_150) @ neighbours.reference_).tocsr()
    np.testing.assert_array_equal(counts, np.minimum(12, np.diff(scores.indptr)))
    assert np.sum(counts == 12) >= 90
    # Every listing was seen in training, so it is its own closest comparable.
    for suggestion, listing_id in zip(suggestions, myntra_150["listing_id"], strict=True):
        assert suggestion.comparables[0].listing_id == listing_id
        assert suggestion.comparables[0].similarity == pytest.approx(1.0, abs=1e-5)
