"""Duplicates and relisting: the same photo or nearly the same text as a catalog listing.

:class:`DuplicateFinder` keeps, per catalog listing, the fingerprints of its photo (pixel
digest, perceptual hashes, a thumbnail; :mod:`._photo_hashes`), its photo vector when one is
given (searched through :class:`~furima.index.VectorIndex`) and the MinHash signature of its
text (:mod:`._text_duplicates`). A new listing's photo is compared in three ways:

- ``photo_exact``: the same decoded pixels;
- ``photo_hash`` / ``photo_vector``: a catalog photo proposed by the perceptual hashes (or by
  the photo vectors: crops move hashes, not vectors) that the thumbnail check confirms as the
  same photo, re-saved, resized, cropped or mirrored;
- ``photo_vector`` alone, when one side has a vector but no photo: cosine similarity.

Texts are near duplicates from an estimated Jaccard similarity of their shingles.

Scores: a pair exactly at the finder's threshold for its kind scores 0.5, an exact copy 1.0,
in between linearly; a listing's score is its best pair's (0 with none), so a duplicate
policy with threshold 0.5 acts on every pair the finder reports.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from furima._artifacts import read_arrays
from furima.exceptions import DataError, ModelFormatError, NotFittedError
from furima.safety._duplicate_inputs import DuplicateInputs, parse_inputs
from furima.safety._photo_duplicates import COSINE, PhotoCatalog, PhotoQueries
from furima.safety._photo_hashes import PhotoPrints, photo_prints
from furima.safety._results import Evidence, Finding
from furima.safety._text_duplicates import TextSignatures

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DuplicateFinder"]

KINDS = ("photo_exact", "photo_hash", "photo_vector", "text")
_EMPTY = "the duplicate check has no catalog to compare with: fit it on your listings first"


class DuplicateFinder:
    """Finds catalog listings with the same photo or nearly the same text as new listings.

    Args:
        photo_distance: Largest mean colour difference (0-255) between a photo and a
            candidate's aligned thumbnail for the two to be the same photo.
        colour_shift: Largest mean colour shift (0-255) between them: a copy keeps its
            colours; the same product in another colour does not.
        hash_radius: Perceptual-hash Hamming distance (of 64 bits) within which catalog
            photos are candidates.
        candidates: Candidates per photo from the hashes and, as many, from the vectors.
        vector_threshold: Cosine from which two photo vectors count as the same photo when
            there are no photos to compare.
        text_threshold: Estimated Jaccard similarity from which texts are near duplicates.
        num_perm: MinHash permutations.
        seed: MinHash seed.
    """

    FILE: ClassVar[str] = "duplicates.npz"
    FORMAT: ClassVar[str] = "furima-duplicates"
    VERSION: ClassVar[int] = 1

    def __init__(
        self,
        *,
        photo_distance: float = 12.0,
        colour_shift: float = 6.0,
        hash_radius: int = 8,
        candidates: int = 5,
        vector_threshold: float = 0.97,
        text_threshold: float = 0.8,
        num_perm: int = 128,
        seed: int = 1,
    ) -> None:
        self.photo_distance = photo_distance
        self.colour_shift = colour_shift
        self.hash_radius = hash_radius
        self.candidates = candidates
        self.vector_threshold = vector_threshold
        self.text_threshold = text_threshold
        self.num_perm = num_perm
        self.seed = seed

    # -- the catalog ------------------------------------------------------------------------

    def fit(
        self,
        ids: Iterable[Any],
        texts: Iterable[str | None],
        photos: Iterable[bytes | None] | None = None,
        photo_vectors: Any = None,
    ) -> DuplicateFinder:
        """Take these listings as the catalog (replacing any earlier one).

        Args:
            ids: Listing ids (kept as strings), unique.
            texts: Listing texts (``None`` where there is none).
            photos: JPEG/PNG bytes per listing, or ``None`` for a listing without a photo.
            photo_vectors: ``(n, dim)`` photo vectors (an all-zero row: none), or a list of
                rows and ``None``.

        Raises:
            ImageError: a photo cannot be decoded (the message names the listing).
            DataError: ids repeated, lengths that differ, vectors that are not finite.
        """
        self._reset()
        return self.add(ids, texts, photos, photo_vectors)

    def _reset(self) -> None:
        self.ids_ = np.zeros(0, dtype=str)
        self._rows: dict[str, int] = {}
        self.photos_ = PhotoCatalog(
            distance=self.photo_distance,
            colour_shift=self.colour_shift,
            hash_radius=self.hash_radius,
            candidates=self.candidates,
            vector_threshold=self.vector_threshold,
        )
        self.text_rows_ = np.zeros(0, dtype=np.int64)
        self.texts_ = TextSignatures(
            threshold=self.text_threshold, num_perm=self.num_perm, seed=self.seed
        )

    def add(
        self,
        ids: Iterable[Any],
        texts: Iterable[str | None],
        photos: Iterable[bytes | None] | None = None,
        photo_vectors: Any = None,
    ) -> DuplicateFinder:
        """Grow the catalog with more listings (arguments as :meth:`fit`); ids already in the
        catalog raise :class:`DataError` and change nothing."""
        self._check_fitted()
        batch = parse_inputs(ids, texts, photos, photo_vectors)
        known = [listing for listing in batch.ids if listing in self._rows]
        if known:
            raise DataError(
                f"{len(known)} listing id(s) are already in the duplicate catalog, e.g. "
                f"{known[0]!r}; check only new listings, or fit the catalog again."
            )
        self._append(batch, self._prints(batch), self._signatures(batch))
        return self

    def __len__(self) -> int:
        return len(getattr(self, "ids_", ()))

    # -- search -----------------------------------------------------------------------------

    def find(
        self,
        ids: Iterable[Any],
        texts: Iterable[str | None],
        photos: Iterable[bytes | None] | None = None,
        photo_vectors: Any = None,
        *,
        k: int = 5,
    ) -> list[Finding]:
        """One :class:`Finding` per listing: its ``k`` best pairs as reasons and evidence,
        scored as the module docstring says (0 with no pair).

        Raises:
            DataError: the catalog is empty; bad arguments (see :meth:`fit`).
            ImageError: a photo cannot be decoded (the message names the listing).
        """
        batch = self._parsed(ids, texts, photos, photo_vectors)
        pairs = self._pairs(batch)
        return [_finding(pairs.get(row, []), k) for row in range(len(batch.ids))]

    def pairs(
        self,
        ids: Iterable[Any],
        texts: Iterable[str | None],
        photos: Iterable[bytes | None] | None = None,
        photo_vectors: Any = None,
    ) -> pd.DataFrame:
        """Duplicate pairs at or above the thresholds, best first per listing: ``left_id``
        (the listing checked), ``right_id`` (the catalog listing), ``kind`` (``photo_exact``,
        ``photo_hash``, ``photo_vector`` or ``text``), ``similarity`` (1 for an exact copy;
        the thumbnails' agreement ``1 - difference / 255``; cosine of photo vectors when there
        are no photos to compare; Jaccard) and ``score`` (as :meth:`find`'s)."""
        import pandas as pd

        batch = self._parsed(ids, texts, photos, photo_vectors)
        rows = [
            (batch.ids[row], pair.other, pair.kind, pair.similarity, pair.score)
            for row, found in sorted(self._pairs(batch).items())
            for pair in found
        ]
        return pd.DataFrame(rows, columns=["left_id", "right_id", "kind", "similarity", "score"])

    def _parsed(
        self,
        ids: Iterable[Any],
        texts: Iterable[str | None],
        photos: Iterable[bytes | None] | None,
        photo_vectors: Any,
    ) -> DuplicateInputs:
        self._check_fitted()
        if len(self.ids_) == 0:
            raise DataError(f"{_EMPTY}.")
        return parse_inputs(ids, texts, photos, photo_vectors)

    def _pairs(self, batch: DuplicateInputs) -> dict[int, list[_Pair]]:
        """Per listing row, its pairs, best first: one per other listing for the photo (the
        best kind) and one for the text."""
        found: dict[int, dict[tuple[str, str], _Pair]] = {}
        for row, catalog_row, kind, similarity in self._photo_pairs(batch) + self._text_pairs(
            batch
        ):
            other = str(self.ids_[catalog_row])
            if other == batch.ids[row]:
                continue  # a listing never matches itself
            pair = self._pair(other, kind, similarity)
            kept = found.setdefault(row, {})
            key = (other, "text" if kind == "text" else "photo")
            if key not in kept or kept[key].score < pair.score:
                kept[key] = pair
        return {
            row: sorted(kept.values(), key=lambda pair: (-pair.score, pair.other))
            for row, kept in found.items()
        }

    def _pair(self, other: str, kind: str, similarity: float) -> _Pair:
        if kind == "photo_exact":
            return _Pair(other, kind, 1.0, 1.0, f"the same photo as listing {other}")
        if kind == "text":
            reason = f"almost the same text as listing {other} (Jaccard {similarity:.2f})"
            return _Pair(other, kind, similarity, _score(similarity, self.text_threshold), reason)
        if kind == COSINE:
            reason = f"a photo very like that of listing {other} (cosine {similarity:.2f})"
            score = _score(similarity, self.vector_threshold)
            return _Pair(other, "photo_vector", similarity, score, reason)
        reason = (
            f"the same photo as listing {other}, re-saved or edited (agreement {similarity:.2f})"
        )
        score = _score(similarity, 1.0 - self.photo_distance / 255.0)
        return _Pair(other, kind, similarity, score, reason)

    def _photo_pairs(self, batch: DuplicateInputs) -> list[tuple[int, int, str, float]]:
        queries = PhotoQueries(
            np.flatnonzero(batch.has_photo), self._prints(batch), batch.has_vector, batch.vectors
        )
        return self.photos_.pairs(queries)

    # -- text -------------------------------------------------------------------------------

    def _text_pairs(self, batch: DuplicateInputs) -> list[tuple[int, int, str, float]]:
        signatures, has_words = self._signatures(batch)
        queries = np.flatnonzero(has_words)
        if len(queries) == 0 or len(self.texts_) == 0:
            return []
        near = self.texts_.near(signatures[queries])
        return [
            (int(q), int(self.text_rows_[position]), "text", float(jaccard))
            for q, (positions, values) in zip(queries, near, strict=True)
            for position, jaccard in zip(positions, values, strict=True)
        ]

    # -- building ---------------------------------------------------------------------------

    def _prints(self, batch: DuplicateInputs) -> PhotoPrints:
        rows = np.flatnonzero(batch.has_photo)
        names = [f"the photo of listing {batch.ids[row]!r}" for row in rows]
        return photo_prints([batch.photos[row] for row in rows], names)  # type: ignore[misc]

    def _signatures(self, batch: DuplicateInputs) -> tuple[np.ndarray, np.ndarray]:
        return self.texts_.signatures_of([text or "" for text in batch.texts])

    def _append(
        self,
        batch: DuplicateInputs,
        prints: PhotoPrints,
        texts: tuple[np.ndarray, np.ndarray],
    ) -> None:
        start = len(self.ids_)
        vector_rows = np.flatnonzero(batch.has_vector)
        vectors = None if batch.vectors is None else batch.vectors[vector_rows]
        self.photos_.add(
            start + np.flatnonzero(batch.has_photo), prints, start + vector_rows, vectors
        )
        signatures, has_words = texts
        self.texts_.add(signatures[has_words])
        self.text_rows_ = np.concatenate([self.text_rows_, start + np.flatnonzero(has_words)])
        self.ids_ = np.concatenate([self.ids_, np.array(batch.ids, dtype=str)])
        self._rows.update((listing, start + i) for i, listing in enumerate(batch.ids))

    # -- saving ---------------------------------------------------------------------------

    def write(self, folder: Path) -> dict[str, Any]:
        """Save the catalog's fingerprints, vectors and text signatures to ``folder`` as one
        ``.npz`` (no pickles); returns the JSON-able description :meth:`read` takes back."""
        from furima._artifacts import write_file_atomically

        self._check_fitted()
        arrays = {
            "ids": self.ids_,
            "text_rows": self.text_rows_,
            "signatures": self.texts_.signatures,
            **self.photos_.arrays(),
        }
        savez: Any = np.savez
        write_file_atomically(Path(folder) / self.FILE, lambda out: savez(out, **arrays))
        return {
            "format": self.FORMAT,
            "version": self.VERSION,
            "file": self.FILE,
            "listings": len(self.ids_),
            "params": self._params(),
        }

    @classmethod
    def read(cls, folder: Path, description: dict[str, Any]) -> DuplicateFinder:
        """A finder saved by :meth:`write`; the LSH and the vector index are rebuilt."""
        if description.get("format") != cls.FORMAT or description.get("version") != cls.VERSION:
            raise ModelFormatError(
                f"{str(folder)!r} does not hold a duplicate catalog this furima reads "
                f"(format {description.get('format')!r} version {description.get('version')!r})."
            )
        finder = cls(**description["params"])
        finder._reset()
        arrays = read_arrays(
            Path(folder) / str(description["file"]), _ARRAYS, fix="save the duplicate catalog again"
        )
        finder.photos_.restore(arrays)
        finder.texts_ = TextSignatures.restore(
            arrays["signatures"],
            threshold=finder.text_threshold,
            num_perm=finder.num_perm,
            seed=finder.seed,
        )
        finder.text_rows_ = arrays["text_rows"]
        finder.ids_ = arrays["ids"]
        finder._rows = {str(listing): row for row, listing in enumerate(finder.ids_)}
        return finder

    def _params(self) -> dict[str, Any]:
        return {
            "photo_distance": self.photo_distance,
            "colour_shift": self.colour_shift,
            "hash_radius": self.hash_radius,
            "candidates": self.candidates,
            "vector_threshold": self.vector_threshold,
            "text_threshold": self.text_threshold,
            "num_perm": self.num_perm,
            "seed": self.seed,
        }

    def _check_fitted(self) -> None:
        if not hasattr(self, "texts_"):
            raise NotFittedError(f"DuplicateFinder is not fitted: {_EMPTY}.")


_ARRAYS = (
    "ids",
    "text_rows",
    "signatures",
    "photo_rows",
    "digests",
    "hashes",
    "mirror_hashes",
    "thumbnails",
    "vector_rows",
    "vectors",
)


@dataclass(frozen=True)
class _Pair:
    """One catalog listing a checked listing duplicates, and why."""

    other: str
    kind: str
    similarity: float
    score: float
    reason: str


def _score(similarity: float, threshold: float) -> float:
    """0.5 at ``threshold``, 1.0 at similarity 1, linear in between."""
    room = max(1.0 - threshold, 1e-9)
    return float(np.clip(0.5 + 0.5 * (similarity - threshold) / room, 0.5, 1.0))


def _finding(pairs: list[_Pair], k: int) -> Finding:
    if not pairs:
        return Finding(0.0)
    best = pairs[:k]
    evidence = tuple(
        Evidence(
            "duplicate", pair.reason, listing_id=pair.other, similarity=round(pair.similarity, 4)
        )
        for pair in best
    )
    return Finding(best[0].score, tuple(pair.reason for pair in best), evidence)
