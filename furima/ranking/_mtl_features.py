"""The input transform of the multi-task ranker, learned on the training examples.

Neural networks want inputs near unit scale, and logged features are counts with long tails,
ratios, gaps in seconds and holes (a user with no history has no mean price). Each numeric
feature is put through a signed ``log1p`` when its scale says it is count-like, then
standardised with the training mean and spread and clipped; a value that is missing (NaN or
infinite) becomes 0, the mean, and a 0/1 indicator column says it was missing. Categorical
codes map to vocabulary slots (1..V, by sorted code); codes seen fewer than ``min_count``
times in training, unseen codes and -1 map to slot 0, the unknown bucket.

Kept as plain arrays (saved in ``.npz``), applied with numpy.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from furima.exceptions import SchemaError

__all__ = ["FeatureTransform"]

_CLIP = 5.0
_LOG_ABOVE = 2.0
"""Columns whose 99th-percentile magnitude exceeds this are log-transformed."""


@dataclass(frozen=True)
class FeatureTransform:
    """Numeric and categorical preparation of the feature columns, in a fixed order.

    Attributes:
        numeric: The numeric feature names.
        categorical: The categorical feature names.
        log: Per numeric feature, whether a signed ``log1p`` is applied first.
        centre: Per numeric feature, the mean after the log (training rows).
        scale: Per numeric feature, the standard deviation after the log (at least 1e-6).
        indicate: Per numeric feature, whether a missing indicator column follows.
        vocabularies: Per categorical feature, the sorted codes that get their own slot.
    """

    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    log: np.ndarray
    centre: np.ndarray
    scale: np.ndarray
    indicate: np.ndarray
    vocabularies: tuple[np.ndarray, ...]

    @classmethod
    def fit(
        cls,
        matrix: np.ndarray,
        features: tuple[str, ...],
        categorical: tuple[str, ...],
        min_count: int,
    ) -> FeatureTransform:
        """Learn the transform from the training feature ``matrix`` (columns: ``features``)."""
        numeric = tuple(f for f in features if f not in categorical)
        values = _numeric_block(matrix, features, numeric)
        finite = np.isfinite(values)
        with warnings.catch_warnings():  # an all-missing column: centre 0, scale 1
            warnings.simplefilter("ignore", RuntimeWarning)
            magnitude = np.nanpercentile(np.where(finite, np.abs(values), np.nan), 99, axis=0)
            log = np.nan_to_num(magnitude, nan=0.0) > _LOG_ABOVE
            logged = np.where(finite, _signed_log(values, log), np.nan)
            centre = np.nan_to_num(np.nanmean(logged, axis=0), nan=0.0)
            scale = np.maximum(np.nan_to_num(np.nanstd(logged, axis=0), nan=1.0), 1e-6)
        vocabularies = tuple(
            _vocabulary(matrix[:, features.index(name)], min_count) for name in categorical
        )
        return cls(numeric, categorical, log, centre, scale, ~finite.all(axis=0), vocabularies)

    @property
    def n_numeric(self) -> int:
        """Width of the numeric input (features and missing indicators)."""
        return len(self.numeric) + int(self.indicate.sum())

    @property
    def vocab_sizes(self) -> tuple[int, ...]:
        """Slots per categorical input (the unknown slot included); one dummy input when
        there are no categorical features, so the graph's inputs never change shape."""
        return tuple(len(v) + 1 for v in self.vocabularies) or (1,)

    def apply(self, matrix: np.ndarray, features: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
        """Float32 numeric ``[N, n_numeric]`` and int64 categorical ``[N, C]`` inputs."""
        missing = [f for f in (*self.numeric, *self.categorical) if f not in features]
        if missing:
            raise SchemaError(
                f"the examples lack the feature columns {missing} this ranker was fitted on; "
                "build them with the same feature pipeline."
            )
        values = _numeric_block(matrix, features, self.numeric)
        finite = np.isfinite(values)
        standard = (_signed_log(np.where(finite, values, 0.0), self.log) - self.centre) / self.scale
        standard = np.clip(np.where(finite, standard, 0.0), -_CLIP, _CLIP)
        numeric = np.hstack([standard, (~finite[:, self.indicate]).astype(np.float64)])
        codes = [
            _slot(matrix[:, features.index(name)], vocabulary)
            for name, vocabulary in zip(self.categorical, self.vocabularies, strict=True)
        ]
        categorical = np.stack(codes, axis=1) if codes else np.zeros((len(matrix), 1), np.int64)
        return numeric.astype(np.float32), categorical

    def to_arrays(self) -> dict[str, np.ndarray]:
        arrays = {
            "numeric": np.asarray(self.numeric, dtype=str),
            "categorical": np.asarray(self.categorical, dtype=str),
            "log": self.log,
            "centre": self.centre,
            "scale": self.scale,
            "indicate": self.indicate,
        }
        return arrays | {f"vocabulary:{i}": v for i, v in enumerate(self.vocabularies)}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> FeatureTransform:
        categorical = tuple(str(c) for c in arrays["categorical"])
        return cls(
            numeric=tuple(str(n) for n in arrays["numeric"]),
            categorical=categorical,
            log=arrays["log"].astype(bool),
            centre=arrays["centre"],
            scale=arrays["scale"],
            indicate=arrays["indicate"].astype(bool),
            vocabularies=tuple(arrays[f"vocabulary:{i}"] for i in range(len(categorical))),
        )


def _numeric_block(
    matrix: np.ndarray, features: tuple[str, ...], numeric: tuple[str, ...]
) -> np.ndarray:
    columns = [features.index(name) for name in numeric]
    return np.asarray(matrix[:, columns], np.float64).reshape(len(matrix), len(columns))


def _signed_log(values: np.ndarray, log: np.ndarray) -> np.ndarray:
    logged: np.ndarray = np.where(log, np.sign(values) * np.log1p(np.abs(values)), values)
    return logged


def _vocabulary(column: np.ndarray, min_count: int) -> np.ndarray:
    codes = column[np.isfinite(column)].astype(np.int64)
    values, counts = np.unique(codes[codes >= 0], return_counts=True)
    vocabulary: np.ndarray = values[counts >= min_count]
    return vocabulary


def _slot(column: np.ndarray, vocabulary: np.ndarray) -> np.ndarray:
    """Slot of each code: 1 + its position in ``vocabulary``, 0 when absent or unknown."""
    codes = np.where(np.isfinite(column), column, -1).astype(np.int64)
    position = np.searchsorted(vocabulary, codes).clip(max=max(len(vocabulary) - 1, 0))
    found = (vocabulary[position] == codes) if len(vocabulary) else np.zeros(len(codes), bool)
    slots: np.ndarray = np.where(found, position + 1, 0).astype(np.int64)
    return slots
