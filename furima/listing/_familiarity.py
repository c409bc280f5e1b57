"""Is a photo like the catalog's photos? Checked on the photo encoder's own features.

The check compares a photo with a sample of catalog photos in the encoder's feature space, not
in the similar-listing pool's learned embedding: a learned embedding maps everything, noise
included, close to some product it was trained on (more so on small catalogs), while the
encoder's features keep an unrelated picture far from every product photo.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import ClassVar

import numpy as np

from furima.features import l2_normalise

__all__ = ["PhotoFamiliarity"]


@dataclass(frozen=True)
class PhotoFamiliarity:
    """Photos whose best cosine similarity to the ``reference`` sample is at least
    ``threshold`` are familiar.

    The threshold is the catalog's own ``quantile`` of that score, each sampled photo scored
    against the rest of the sample (leave one out), so about that share of the catalog's own
    photos would count as unfamiliar.
    """

    reference: np.ndarray  # unit rows, float16 (it is saved with the assistant)
    threshold: float

    MIN_PHOTOS: ClassVar[int] = 20  # fewer catalog photos: every photo counts as familiar

    @classmethod
    def fit(
        cls, photos: np.ndarray, *, sample: int = 1000, quantile: float = 0.01, seed: int = 0
    ) -> PhotoFamiliarity:
        """Learn from the catalog's photo features (one row per photo)."""
        if len(photos) < cls.MIN_PHOTOS:
            return cls(np.zeros((0, photos.shape[1]), np.float16), -1.0)
        rng = np.random.default_rng(seed)
        rows = np.sort(rng.choice(len(photos), min(sample, len(photos)), replace=False))
        reference = l2_normalise(photos[rows]).astype(np.float16)
        unit = reference.astype(np.float32)
        similarity = unit @ unit.T
        np.fill_diagonal(similarity, -np.inf)
        return cls(reference, float(np.quantile(similarity.max(axis=1), quantile)))

    def scores(self, photos: np.ndarray) -> np.ndarray:
        """Each photo's best cosine similarity to the sample (1.0 when there is none)."""
        if len(self.reference) == 0:
            return np.ones(len(photos))
        unit = l2_normalise(np.asarray(photos, dtype=np.float32))
        return np.asarray((unit @ self._reference_rows.T).max(axis=1))

    def familiar(self, photos: np.ndarray) -> np.ndarray:
        return self.scores(photos) >= self.threshold

    @cached_property
    def _reference_rows(self) -> np.ndarray:
        """The sample as float32, converted once (not on every request)."""
        return np.asarray(self.reference, dtype=np.float32)
