"""From a raw table to model inputs: column kinds, checks, and searchable feature options.

Numeric columns are median-imputed and standardised; categorical columns one-hot encoded
(rare values pooled); text columns joined and turned into TF-IDF word n-grams, optionally with
character n-grams. How many text features, which n-grams and how rare a category may be are
*feature options* that the search tunes alongside each model's hyperparameters. The output is
a dense array when every column is numeric, else a sparse CSR matrix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from furima.exceptions import DataError

__all__ = ["ColumnKinds", "FeatureOptions", "Featurizer", "checked_columns"]

_TEXT_MEAN_CHARS = 25


@dataclass(frozen=True)
class ColumnKinds:
    """Which input columns are numbers, categories and free text."""

    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    text: tuple[str, ...]

    @property
    def has_sparse(self) -> bool:
        return bool(self.categorical or self.text)


@dataclass(frozen=True)
class FeatureOptions:
    """The searchable part of the featurisation."""

    text_features: int = 50_000
    word_ngrams: int = 2
    char_ngrams: bool = False
    min_category_count: int = 5

    @classmethod
    def suggest(cls, trial: Any, kinds: ColumnKinds) -> FeatureOptions:
        if not kinds.has_sparse:
            return cls()
        options: dict[str, Any] = {}
        if kinds.text:
            options["text_features"] = trial.suggest_categorical(
                "text_features", [10_000, 30_000, 100_000]
            )
            options["word_ngrams"] = trial.suggest_int("word_ngrams", 1, 2)
            options["char_ngrams"] = trial.suggest_categorical("char_ngrams", [False, True])
        if kinds.categorical:
            options["min_category_count"] = trial.suggest_categorical(
                "min_category_count", [1, 5, 20]
            )
        return cls(**options)


def checked_columns(X: pd.DataFrame) -> tuple[pd.DataFrame, ColumnKinds, list[str]]:
    """``X`` without constant or all-missing columns, its column kinds, and the dropped names.

    Raises:
        DataError: No columns, or nothing left after dropping.
    """
    if not isinstance(X, pd.DataFrame) or X.shape[1] == 0:
        raise DataError("AutoML needs a table (pandas DataFrame) with at least one feature column.")
    dropped = [str(c) for c in X.columns if X[c].nunique(dropna=True) <= 1]
    kept = X.drop(columns=dropped)
    if kept.shape[1] == 0:
        raise DataError(
            f"Every feature column is constant or all missing ({', '.join(dropped)}); there is "
            "nothing to learn from. Check the table and the target column."
        )
    numeric, categorical, text = [], [], []
    for column in kept.columns:
        values = kept[column]
        if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
            numeric.append(str(column))
        elif values.dropna().astype(str).str.len().mean() > _TEXT_MEAN_CHARS:
            text.append(str(column))
        else:
            categorical.append(str(column))
    kept = kept.rename(columns=str)
    return kept, ColumnKinds(tuple(numeric), tuple(categorical), tuple(text)), dropped


class Featurizer:
    """Fitted on training rows, turns tables into model inputs."""

    def __init__(self, kinds: ColumnKinds, options: FeatureOptions) -> None:
        self.kinds = kinds
        self.options = options

    def fit_transform(self, X: pd.DataFrame) -> Any:
        self._fit(X)
        return self.transform(X)

    def _fit(self, X: pd.DataFrame) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.preprocessing import OneHotEncoder

        kinds, options = self.kinds, self.options
        numbers = X[list(kinds.numeric)].astype(float) if kinds.numeric else None
        self.medians_ = numbers.median().fillna(0.0) if numbers is not None else None
        if numbers is not None:
            filled = numbers.fillna(self.medians_)
            self.means_ = filled.mean()
            self.scales_ = filled.std().replace(0.0, 1.0).fillna(1.0)
        self.onehot_ = None
        if kinds.categorical:
            self.onehot_ = OneHotEncoder(
                handle_unknown="infrequent_if_exist",
                min_frequency=options.min_category_count,
                dtype=np.float32,
            ).fit(self._categories(X))
        self.words_ = self.chars_ = None
        if kinds.text:
            text = self._text(X)
            self.words_ = TfidfVectorizer(
                ngram_range=(1, options.word_ngrams),
                max_features=options.text_features,
                min_df=2,
                sublinear_tf=True,
                dtype=np.float32,
            ).fit(text)
            if options.char_ngrams:
                self.chars_ = TfidfVectorizer(
                    analyzer="char_wb",
                    ngram_range=(2, 4),
                    max_features=options.text_features,
                    min_df=3,
                    sublinear_tf=True,
                    dtype=np.float32,
                ).fit(text)

    def transform(self, X: pd.DataFrame) -> Any:
        import scipy.sparse as sp

        parts: list[Any] = []
        if self.kinds.numeric:
            numbers = X[list(self.kinds.numeric)].astype(float).fillna(self.medians_)
            scaled = ((numbers - self.means_) / self.scales_).to_numpy(np.float32)
            parts.append(scaled)
        if not self.kinds.has_sparse:
            return parts[0]
        if self.onehot_ is not None:
            parts.append(self.onehot_.transform(self._categories(X)))
        if self.words_ is not None:
            text = self._text(X)
            parts.append(self.words_.transform(text))
            if self.chars_ is not None:
                parts.append(self.chars_.transform(text))
        blocks = [sp.csr_matrix(p) if isinstance(p, np.ndarray) else p for p in parts]
        return sp.hstack(blocks, format="csr", dtype=np.float32)

    def _categories(self, X: pd.DataFrame) -> pd.DataFrame:
        return X[list(self.kinds.categorical)].astype("string").fillna("<missing>").astype(object)

    def _text(self, X: pd.DataFrame) -> list[str]:
        joined = X[list(self.kinds.text)].astype("string").fillna("")
        return joined.agg(" ".join, axis=1).tolist()
