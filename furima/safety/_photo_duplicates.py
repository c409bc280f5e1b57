"""The catalog's photos for duplicate search: fingerprints, photo vectors, and the pairs found.

Candidates come from the perceptual hashes (near in Hamming distance, mirror images
included) and from the photo vectors (nearest by cosine, through
:class:`~furima.index.VectorIndex`); the thumbnail check of :mod:`._photo_hashes` confirms
them. Photos with the same decoded pixels pair without a check.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from furima.exceptions import DataError
from furima.safety._photo_alignment import thumbnail_distance
from furima.safety._photo_hashes import PhotoPrints, hamming_neighbours

if TYPE_CHECKING:
    from furima.index import VectorIndex

__all__ = ["COSINE", "PhotoCatalog", "PhotoQueries"]

COSINE = "photo_cosine"  # vector pairs judged on cosine alone (a side without a photo)
Record = tuple[int, int, str, float]  # (query row, catalog row, kind, similarity)


class PhotoQueries:
    """A batch's photos: which rows have one and their fingerprints; which rows have a vector
    and the vectors (one row per listing, zeros where none)."""

    def __init__(
        self,
        photo_rows: np.ndarray,
        prints: PhotoPrints,
        has_vector: np.ndarray,
        vectors: np.ndarray | None,
    ) -> None:
        self.photo_rows = photo_rows
        self.prints = prints
        self.has_vector = has_vector
        self.vectors = vectors


class PhotoCatalog:
    """Photo fingerprints and vectors of catalog rows, searched for duplicates.

    Args:
        distance: Largest thumbnail difference (0-255) of the same photo.
        colour_shift: Largest mean colour shift (0-255) of the same photo.
        hash_radius: Hamming distance within which hashes propose a candidate.
        candidates: Candidates per photo from the hashes, and as many from the vectors.
        vector_threshold: Cosine from which vectors alone pair two listings.
    """

    def __init__(
        self,
        *,
        distance: float,
        colour_shift: float,
        hash_radius: int,
        candidates: int,
        vector_threshold: float,
    ) -> None:
        self.distance = distance
        self.colour_shift = colour_shift
        self.hash_radius = hash_radius
        self.candidates = candidates
        self.vector_threshold = vector_threshold
        self.rows = np.zeros(0, dtype=np.int64)
        self.prints = PhotoPrints.empty()
        self.vector_rows = np.zeros(0, dtype=np.int64)
        self.vectors: np.ndarray | None = None
        self._digests: dict[bytes, list[int]] = {}
        self._index: VectorIndex | None = None

    def add(
        self,
        rows: np.ndarray,
        prints: PhotoPrints,
        vector_rows: np.ndarray,
        vectors: np.ndarray | None,
    ) -> None:
        """Append catalog ``rows`` with photos and ``vector_rows`` with ``vectors`` (one per
        vector row); rows only grow."""
        if vectors is not None and len(vector_rows):
            self._add_vectors(vector_rows, vectors)
        for row, digest in zip(rows, prints.digests, strict=True):
            self._digests.setdefault(bytes(digest), []).append(int(row))
        self.rows = np.concatenate([self.rows, rows.astype(np.int64)])
        self.prints = PhotoPrints.concat([self.prints, prints])

    def _add_vectors(self, rows: np.ndarray, vectors: np.ndarray) -> None:
        from furima.index import VectorIndex

        vectors = np.asarray(vectors, dtype=np.float32)
        if self._index is None:
            self._index = VectorIndex(vectors.shape[1], metric="cosine", target_recall=0.99)
        self.check_dim(vectors.shape[1])
        start = len(self.vector_rows)
        self._index.add(np.arange(start, start + len(rows)), vectors)
        self.vector_rows = np.concatenate([self.vector_rows, rows.astype(np.int64)])
        self.vectors = vectors if self.vectors is None else np.concatenate([self.vectors, vectors])

    def check_dim(self, dim: int) -> None:
        if self._index is not None and dim != self._index.dim:
            raise DataError(
                f"photo vectors have {dim} values, the catalog's have {self._index.dim}: "
                "encode both with the same photo encoder."
            )

    # -- search -----------------------------------------------------------------------------

    def pairs(self, queries: PhotoQueries) -> list[Record]:
        """Every (query row, catalog row, kind, similarity) found (self-pairs included)."""
        records = self._exact(queries)
        nearest = self._nearest_vectors(queries)
        proposed = self._proposed(queries, nearest)
        if proposed:
            left, right, kinds = (np.array(column) for column in zip(*proposed, strict=True))
            mine = queries.prints.thumbnails[np.searchsorted(queries.photo_rows, left)]
            theirs = self.prints.thumbnails[np.searchsorted(self.rows, right)]
            difference, shift = thumbnail_distance(mine, theirs)
            same = (difference <= self.distance) & (shift <= self.colour_shift)
            for i in np.flatnonzero(same):
                similarity = 1.0 - float(difference[i]) / 255.0
                records.append((int(left[i]), int(right[i]), str(kinds[i]), similarity))
        return records + self._cosine_only(queries, nearest)

    def _exact(self, queries: PhotoQueries) -> list[Record]:
        return [
            (int(q), row, "photo_exact", 1.0)
            for q, digest in zip(queries.photo_rows, queries.prints.digests, strict=True)
            for row in self._digests.get(bytes(digest), ())
        ]

    def _proposed(
        self, queries: PhotoQueries, nearest: list[tuple[int, int, float]]
    ) -> list[tuple[int, int, str]]:
        """(query row, catalog row, kind) candidates for the thumbnail check, hashes first,
        then the ``nearest`` vectors' where both sides have photos."""
        neighbours = hamming_neighbours(
            queries.prints.hashes,
            queries.prints.mirror_hashes,
            self.prints.hashes,
            self.hash_radius,
            self.candidates + 1,  # + 1: a listing checked against a catalog that holds it
        )
        out = [
            (int(q), int(row), "photo_hash")
            for q, (positions, _) in zip(queries.photo_rows, neighbours, strict=True)
            for row in self.rows[positions]
        ]
        seen = {(q, row) for q, row, _ in out}
        with_photo = set(queries.photo_rows.tolist())
        for q, row, _ in nearest:
            if q in with_photo and (q, row) not in seen and self._has_photo(row):
                out.append((q, row, "photo_vector"))
        return out

    def _cosine_only(
        self, queries: PhotoQueries, nearest: list[tuple[int, int, float]]
    ) -> list[Record]:
        """Vector pairs where one side has no photo to compare: judged on cosine alone."""
        with_photo = set(queries.photo_rows.tolist())
        return [
            (q, row, COSINE, cosine)
            for q, row, cosine in nearest
            if cosine >= self.vector_threshold and not (q in with_photo and self._has_photo(row))
        ]

    def _nearest_vectors(self, queries: PhotoQueries) -> list[tuple[int, int, float]]:
        """(query row, catalog row, cosine) of each query's nearest catalog photo vectors."""
        if self._index is None or queries.vectors is None:
            return []
        rows = np.flatnonzero(queries.has_vector)
        if len(rows) == 0:
            return []
        self.check_dim(queries.vectors.shape[1])
        k = min(self.candidates + 1, len(self._index))
        found, cosines = self._index.search(queries.vectors[rows], k=k)
        return [
            (int(q), int(self.vector_rows[position]), float(cosine))
            for q, positions, row_cosines in zip(rows, found, cosines, strict=True)
            for position, cosine in zip(positions, row_cosines, strict=True)
            if position >= 0
        ]

    def _has_photo(self, row: int) -> bool:
        at = int(np.searchsorted(self.rows, row))
        return at < len(self.rows) and int(self.rows[at]) == row

    # -- saving -----------------------------------------------------------------------------

    def arrays(self) -> dict[str, np.ndarray]:
        """Plain arrays that :meth:`restore` takes back."""
        vectors = self.vectors if self.vectors is not None else np.zeros((0, 0), np.float32)
        return {
            "photo_rows": self.rows,
            "digests": self.prints.digests,
            "hashes": self.prints.hashes,
            "mirror_hashes": self.prints.mirror_hashes,
            "thumbnails": self.prints.thumbnails,
            "vector_rows": self.vector_rows,
            "vectors": vectors,
        }

    def restore(self, arrays: dict[str, np.ndarray]) -> PhotoCatalog:
        """Fill an empty catalog from :meth:`arrays` (the vector index is rebuilt)."""
        prints = PhotoPrints(
            arrays["digests"], arrays["hashes"], arrays["mirror_hashes"], arrays["thumbnails"]
        )
        vectors = arrays["vectors"] if len(arrays["vector_rows"]) else None
        self.add(arrays["photo_rows"], prints, arrays["vector_rows"], vectors)
        return self
