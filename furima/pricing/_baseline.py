"""The classic price baseline, kept in furima so every comparison uses the same one.

``Ridge(alpha=1)`` on log prices, over TF-IDF (1-2 grams, min_df 2, sublinear tf, 200k
features) of the name, brand and description joined, plus a one-hot of the brand and the
attribute columns: roughly what scored RMSLE 0.44-0.45 on the Mercari Price Suggestion data.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from furima.catalog import LISTING_COLUMNS
from furima.exceptions import NotFittedError
from furima.features import as_text

__all__ = ["RidgeBaseline"]

_TEXT_COLUMNS = ("name", "brand", "description")


class RidgeBaseline:
    """Ridge on joined-text TF-IDF plus one-hot categories; fit/predict on listings frames."""

    def fit(self, listings: pd.DataFrame) -> RidgeBaseline:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import Ridge
        from sklearn.preprocessing import OneHotEncoder

        self.categorical_ = ["brand", *[c for c in listings.columns if c not in LISTING_COLUMNS]]
        self.tfidf_ = TfidfVectorizer(
            ngram_range=(1, 2), min_df=2, sublinear_tf=True, max_features=200_000
        )
        self.one_hot_ = OneHotEncoder(handle_unknown="ignore")
        features = self._features(listings, fit=True)
        target = np.log1p(listings["price"].to_numpy(np.float64))
        self.ridge_ = Ridge(alpha=1.0).fit(features, target)
        return self

    def predict(self, listings: pd.DataFrame) -> np.ndarray:
        if not hasattr(self, "ridge_"):
            raise NotFittedError("This RidgeBaseline is not fitted yet; call fit first.")
        return np.asarray(np.expm1(self.ridge_.predict(self._features(listings))))

    def _features(self, listings: pd.DataFrame, *, fit: bool = False) -> Any:
        import scipy.sparse as sp

        columns = [as_text(listings[c]) for c in _TEXT_COLUMNS]
        text = [" ".join(parts) for parts in zip(*columns, strict=True)]
        categories = pd.DataFrame({c: as_text(listings[c]) for c in self.categorical_})
        if fit:
            blocks = [self.tfidf_.fit_transform(text), self.one_hot_.fit_transform(categories)]
        else:
            blocks = [self.tfidf_.transform(text), self.one_hot_.transform(categories)]
        return sp.hstack(blocks, format="csr")
