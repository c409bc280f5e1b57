"""SimilarSearch: listings become vectors in a pool; a photo, a text or a listing finds its
nearest listings.

Each listing gets one vector: its photo embedding when it has a photo, else its title
embedding. With a trained :class:`~furima.features.PhotoTextEmbedder` both live in one space,
so a text query finds photos and a photo query finds listings with or without photos. Without
one (``train_embedder=False``) the pool holds raw photo features and text queries search a
second pool of raw title features. When the listings have a product type (``columns.label``),
results are re-ranked by the neighbours' vote on the query's type (:class:`LabelRerank`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from furima.exceptions import DataError, ImageError, UnknownListingError
from furima.features import MiniLMEncoder, PhotoEncoder, PhotoTextEmbedder
from furima.index import SearchResult, VectorIndex
from furima.search._columns import LABEL, PoolColumns
from furima.search._rerank import LabelRerank

__all__ = ["PoolFeatures", "SimilarSearch"]

PHOTOS, TITLES = "photos", "titles"


class SimilarSearch:
    """Photo, text and listing queries over a pool of listing vectors, with filters.

    Build one with :meth:`build` from a listings table, query it with :meth:`similar`, keep it
    up to date with :meth:`add` and :meth:`delete`, and :meth:`save` / :meth:`load` it.
    ``rerank``: how results are re-ranked by product type (``None``: plain nearest first);
    it applies to pools whose listings have a label.
    """

    def __init__(
        self,
        *,
        columns: PoolColumns,
        embedder: PhotoTextEmbedder | None,
        indexes: dict[str, VectorIndex],
        photo_encoder: PhotoEncoder | None = None,
        text_encoder: MiniLMEncoder | None = None,
        rerank: LabelRerank | None = None,
    ) -> None:
        self.columns = columns
        self.rerank = rerank
        self.embedder = embedder
        self.indexes = indexes
        self.photo_encoder = photo_encoder or PhotoEncoder(pooling="multiscale")
        self.text_encoder = text_encoder or MiniLMEncoder()

    # -- building ------------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        listings: pd.DataFrame,
        *,
        columns: PoolColumns | None = None,
        train_embedder: bool = True,
        embedder: PhotoTextEmbedder | None = None,
        backend: str = "auto",
        features: PoolFeatures | None = None,
        photo_encoder: PhotoEncoder | None = None,
        rerank: LabelRerank | None = LabelRerank(),  # noqa: B008 (frozen, immutable)
        progress: bool = False,
    ) -> SimilarSearch:
        """Encode ``listings``, train the joint embedding (when asked) and index them.

        The embedding trains on the listings that have both a photo and a title, with
        ``columns.label`` as product type when given. ``embedder``: an unfitted
        :class:`PhotoTextEmbedder` to train with its settings, or a fitted one to reuse.
        ``features``: encoder outputs already computed for ``listings`` (from
        :meth:`encode_listings`), so callers that need them too encode only once.
        ``photo_encoder``: by default the stock weights pooled at every block
        (``PhotoEncoder(pooling="multiscale")``), which find photos of the same product type
        better than average pooling; e.g. ``PhotoEncoder(backbone=...)`` for a tuned backbone
        (saved with the pool). ``rerank``: with a ``columns.label``, results are re-ranked by
        the vote of the nearest listings on the query's product type (``None``: off).
        """
        columns = columns or PoolColumns()
        columns.check(listings)
        if len(listings) == 0:
            raise DataError("the listings table is empty; nothing to index.")
        search = cls(
            columns=columns,
            embedder=embedder,
            indexes={},
            photo_encoder=photo_encoder,
            rerank=rerank,
        )
        features = features or search.encode_listings(listings, progress=progress)
        trainable = features.photos is not None and features.titles is not None
        if train_embedder and trainable and (embedder is None or not embedder.is_fitted):
            search.embedder = search._train(listings, features, embedder, progress)
        ids, metadata = columns.ids(listings), columns.metadata(listings)
        for name, (rows, vectors) in search._listing_vectors(features).items():
            index = VectorIndex(
                vectors.shape[1],
                backend=backend,
                expected_size=len(vectors),
                fields=columns.index_fields(),
            )
            search.indexes[name] = index.add(ids[rows], vectors, _take(metadata, rows))
        return search

    def add(self, listings: pd.DataFrame, *, progress: bool = False) -> SimilarSearch:
        """Add or replace listings (same columns as :meth:`build`)."""
        self.columns.check(listings)
        features = self.encode_listings(listings, progress=progress)
        ids, metadata = self.columns.ids(listings), self.columns.metadata(listings)
        for name, (rows, vectors) in self._listing_vectors(features).items():
            self.indexes[name].upsert(ids[rows], vectors, _take(metadata, rows))
        return self

    def delete(self, ids: Sequence[int] | np.ndarray) -> SimilarSearch:
        """Remove listings (e.g. taken down); unknown ids raise ``UnknownListingError``."""
        wanted = np.asarray(ids, dtype=np.int64)
        held = [index.contains(wanted) for index in self.indexes.values()]
        unknown = wanted[~np.logical_or.reduce(held)]
        if len(unknown):
            raise UnknownListingError(
                f"{len(unknown)} listing id(s) are not in the pool, e.g. {unknown[:5].tolist()}.",
                ids=unknown.tolist(),
            )
        for index, mask in zip(self.indexes.values(), held, strict=True):
            if mask.any():
                index.delete(wanted[mask])
        return self

    def __len__(self) -> int:
        return len(self.indexes[PHOTOS] if PHOTOS in self.indexes else self.indexes[TITLES])

    # -- querying ------------------------------------------------------------------------

    def similar(
        self,
        *,
        listing_ids: Sequence[int] | np.ndarray | None = None,
        photos: Sequence[Any] | None = None,
        texts: Sequence[str] | None = None,
        k: int = 10,
        filters: Mapping[str, Any] | None = None,
    ) -> SearchResult:
        """The ``k`` nearest listings for each query; give exactly one kind of query.

        Args:
            listing_ids: Listings already in the pool ("more like this"); the listing itself
                is left out of its own results.
            photos: Photos as bytes, file paths or PIL images (a buyer's snapshot).
            texts: Free text ("red nike running shoes").
            k: Results per query.
            filters: e.g. ``{"category": "Shoes", "price": (10, 50), "status": "on_sale"}``.

        Returns:
            :class:`~furima.index.SearchResult` with ``ids`` and ``scores`` ``[n, k]``:
            cosine similarities, in the order of the re-ranked score when the pool re-ranks
            (so not always descending).
        """
        given = [q for q in (listing_ids, photos, texts) if q is not None]
        if len(given) != 1:
            raise DataError("give exactly one of listing_ids, photos or texts.")
        if listing_ids is not None:
            return self._similar_to_listings(np.asarray(listing_ids, np.int64), k, filters)
        if photos is not None:
            return self._search(self._pool_for_photos(), self.encode_photos(photos), k, filters)
        assert texts is not None
        return self._search(self._pool_for_texts(), self.encode_texts(texts), k, filters)

    def similar_to_features(
        self,
        *,
        photos: np.ndarray | None = None,
        texts: np.ndarray | None = None,
        k: int = 10,
        filters: Mapping[str, Any] | None = None,
    ) -> SearchResult:
        """Like :meth:`similar`, for queries already encoded by the pool's raw encoders
        (``photo_encoder`` / ``text_encoder`` outputs); give exactly one of the two."""
        if (photos is None) == (texts is None):
            raise DataError("give exactly one of photos or texts.")
        if photos is not None:
            vectors = self.embedder.transform_photos(photos) if self.embedder else photos
            return self._search(self._pool_for_photos(), vectors, k, filters)
        assert texts is not None
        vectors = self.embedder.transform_texts(texts) if self.embedder else texts
        return self._search(self._pool_for_texts(), vectors, k, filters)

    def encode_photos(self, photos: Sequence[Any]) -> np.ndarray:
        """Query photos to pool vectors."""
        raw = self.photo_encoder.encode(photos)
        return self.embedder.transform_photos(raw) if self.embedder else raw

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Query texts to pool vectors."""
        if isinstance(texts, str):
            raise DataError("texts must be a list of strings; wrap a single text in a list.")
        raw = self.text_encoder.encode(texts)
        return self.embedder.transform_texts(raw) if self.embedder else raw

    def _pool_for_photos(self) -> str:
        if PHOTOS not in self.indexes:
            raise DataError("this pool was built without photos; search it by text instead.")
        return PHOTOS

    def _pool_for_texts(self) -> str:
        if self.embedder is not None or PHOTOS not in self.indexes:
            return PHOTOS if PHOTOS in self.indexes else TITLES
        return TITLES

    def _similar_to_listings(
        self, ids: np.ndarray, k: int, filters: Mapping[str, Any] | None
    ) -> SearchResult:
        name = PHOTOS if PHOTOS in self.indexes else TITLES
        vectors = self.indexes[name].get_vectors(ids)
        # The listing itself is found too: its own type leads the vote, then it is dropped.
        return _without_self(self._search(name, vectors, k + 1, filters), ids, k)

    def _search(
        self, name: str, vectors: np.ndarray, k: int, filters: Mapping[str, Any] | None
    ) -> SearchResult:
        """Search one pool, re-ranked by product type when the pool has labels."""
        index = self.indexes[name]
        if self.rerank is None or self.rerank.weight == 0 or LABEL not in index.fields:
            return index.search(vectors, k, filters)
        found = index.search(vectors, self.rerank.candidates(k), filters)
        return self.rerank.apply(found, _label_codes(index, found.ids), k)

    # -- features ------------------------------------------------------------------------

    def encode_listings(self, listings: pd.DataFrame, *, progress: bool = False) -> PoolFeatures:
        """Raw encoder outputs (photo and title features) of a listings table."""
        features = PoolFeatures(has_photo=np.zeros(len(listings), dtype=bool))
        if self.columns.photo is not None:
            values = listings[self.columns.photo].tolist()
            features.has_photo = np.array([_present(value) for value in values], dtype=bool)
            chosen = [value for value, ok in zip(values, features.has_photo, strict=True) if ok]
            try:
                encoded = self.photo_encoder.encode(chosen, progress=progress)
            except ImageError as error:
                raise ImageError(f"photo column {self.columns.photo!r}: {error}") from error
            features.photos = np.zeros((len(listings), encoded.shape[1]), np.float32)
            features.photos[features.has_photo] = encoded
        if self.columns.title is not None:
            text = listings[self.columns.title].astype("string").fillna("").tolist()
            features.titles = self.text_encoder.encode(text, progress=progress)
        return features

    def _train(
        self,
        listings: pd.DataFrame,
        features: PoolFeatures,
        embedder: PhotoTextEmbedder | None,
        progress: bool,
    ) -> PhotoTextEmbedder:
        rows = features.has_photo
        assert features.photos is not None and features.titles is not None
        labels = None
        if self.columns.label is not None:
            labels = listings[self.columns.label].astype("string").to_numpy(dtype=object)[rows]
        text = listings[self.columns.title].astype("string").fillna("").to_numpy(dtype=object)
        return (embedder or PhotoTextEmbedder()).fit(
            features.photos[rows],
            features.titles[rows],
            None if labels is None else list(labels),
            texts=list(text[rows]),
            progress=progress,
        )

    def _listing_vectors(self, features: PoolFeatures) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Pool name -> (rows of the listings table it holds, their vectors)."""
        photos, titles, has_photo = features.photos, features.titles, features.has_photo
        everyone = np.ones(len(has_photo), dtype=bool)
        pools: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        if self.embedder is None:
            if photos is not None:
                pools[PHOTOS] = (has_photo, photos[has_photo])
            if titles is not None:
                pools[TITLES] = (everyone, titles)
            return pools
        if photos is None:
            assert titles is not None
            return {TITLES: (everyone, self.embedder.transform_texts(titles))}
        vectors = self.embedder.transform_photos(photos)
        if titles is not None and not has_photo.all():
            vectors[~has_photo] = self.embedder.transform_texts(titles[~has_photo])
            return {PHOTOS: (everyone, vectors)}
        return {PHOTOS: (has_photo, vectors[has_photo])}

    # -- persistence ---------------------------------------------------------------------

    def save(self, path: str | Path) -> Path:
        """Save atomically to a folder (manifest, embedding weights, one index per pool)."""
        from furima.search._persistence import save_search

        return save_search(self, path)

    @classmethod
    def load(cls, path: str | Path) -> SimilarSearch:
        """Load a pool saved by :meth:`save`."""
        from furima.search._persistence import load_search

        return load_search(path)


@dataclass
class PoolFeatures:
    """Encoder outputs for a listings table (photo rows are zero where there is no photo)."""

    has_photo: np.ndarray
    photos: np.ndarray | None = None
    titles: np.ndarray | None = None


def _present(value: Any) -> bool:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return False
    return not (isinstance(value, bytes | str) and len(value) == 0)


def _label_codes(index: VectorIndex, ids: np.ndarray) -> np.ndarray:
    """Integer codes of the found listings' labels (-1: no label, or padding)."""
    codes = np.full(ids.shape, -1, dtype=np.int64)
    found = ids >= 0
    if found.any():
        labels = pd.Series(index.get_metadata(ids[found], [LABEL])[LABEL], dtype="string")
        codes[found] = pd.factorize(labels, use_na_sentinel=True)[0]
    return codes


def _take(metadata: dict[str, np.ndarray], rows: np.ndarray) -> dict[str, np.ndarray]:
    return {name: values[rows] for name, values in metadata.items()}


def _without_self(found: SearchResult, own: np.ndarray, k: int) -> SearchResult:
    """Drop each query listing from its own results, keeping ``k`` per row."""
    keep = found.ids != own[:, None]
    order = np.argsort(~keep, axis=1, kind="stable")[:, :k]
    ids = np.take_along_axis(found.ids, order, axis=1)
    scores = np.take_along_axis(found.scores, order, axis=1)
    dropped = ~np.take_along_axis(keep, order, axis=1)
    ids[dropped] = -1
    scores[dropped] = -np.inf
    return SearchResult(ids, scores)
