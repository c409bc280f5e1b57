"""ListingAssistant: from a seller's photo and/or words to a ready listing, with evidence.

The method Mercari described for AI listing: encode the photo, look up similar past listings in
a feature pool, and estimate the attributes and the price from trained models and from those
neighbours. Here:

- :class:`~furima.listing.AttributeClassifier` suggests category levels, colour, gender,
  usage and brand with calibrated confidences; a field below its threshold stays empty;
- a :class:`~furima.search.SimilarSearch` pool finds the similar listings that back each
  suggestion, and :class:`~furima.listing.PhotoFamiliarity` flags photos unlike anything in
  the catalog;
- :class:`~furima.listing.TitleStyle` writes the title the way the catalog writes them;
- a :class:`~furima.pricing.PriceSuggester` (and priced neighbours) give the price range.

The class holds the settings and the learned parts and runs the steps; the steps live beside
it: learning the parts (``_assistant_learning``), the catalog listings shown as evidence
(``_catalog_evidence``), filling the fields (``_field_filling``), the title and price around
them (``_listing_draft``), saving and loading (``_persistence``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from furima.catalog import fingerprint
from furima.exceptions import DataError, NotFittedError, UnknownListingError
from furima.features import PhotoEncoder
from furima.features._photo import AVERAGE, MULTISCALE
from furima.listing._assistant_learning import build_pool, fit_classifier, fit_title_style
from furima.listing._brands import BrandMatcher
from furima.listing._catalog_evidence import reference_table, similar_listings
from furima.listing._categories import parent_maps
from furima.listing._classifier import AttributeClassifier
from furima.listing._familiarity import PhotoFamiliarity
from furima.listing._features import ListingEncoders, ListingFeatures, _present
from furima.listing._field_filling import field_suggestions
from furima.listing._fields import ListingFields
from furima.listing._listing_draft import draft_listing, listing_suggestion
from furima.listing._requests import Query, ascii_share, validated_queries
from furima.listing._suggestion import FieldSuggestion, ListingSuggestion, TitleSuggestion
from furima.search import PoolColumns

if TYPE_CHECKING:
    from furima.features import PhotoTextEmbedder
    from furima.index import SearchResult
    from furima.pricing import PriceSuggester

__all__ = ["AUTO", "MULTISCALE_MIN_PHOTOS", "ListingAssistant"]

AUTO = "auto"
# Catalogs with at least this many photos pool the stock photo network at every block with
# "auto" pooling, joined to the tuned backbone's features if there is one (on Myntra photos
# the attribute classifier does worse with multiscale at 1,000 photos, about the same at
# 3,000, and better at 8,000).
MULTISCALE_MIN_PHOTOS = 5000

_ENCODED = b"<encoded>"  # marks a photo whose features were given


class ListingAssistant:
    """Suggests a listing's fields, title and price from a photo and/or draft words.

    Args:
        neighbours: Similar listings looked up per request (evidence, title words, prices).
        min_confidence: Fill threshold for every field (a float), per field (a mapping), or
            ``None`` for the thresholds learned on held-out listings (filled fields right
            ``classifier.target_precision`` of the time).
        classifier: An unfitted :class:`AttributeClassifier` carrying the settings to train.
        embedder: An unfitted ``PhotoTextEmbedder`` for the similar-listing pool, or ``None``
            for the default; ``train_embedder=False`` indexes raw encoder features instead.
        train_embedder: Learn the joint photo-text space of the pool (better neighbours).
        backend: Vector index backend of the pool (``"auto"`` picks by size).
        photo_backbone: Folder of a photo backbone tuned on the catalog's labels (see
            :func:`~furima.features.tune_photo_backbone`); ``None``: the ImageNet weights.
            A saved assistant carries its own copy.
        photo_pooling: How the photo network is pooled (see
            :class:`~furima.features.PhotoEncoder`): ``"average"``, ``"multiscale"`` (the
            stock network at every block, joined to the tuned backbone if one is given), or
            ``"auto"``: multiscale for catalogs of at least :data:`MULTISCALE_MIN_PHOTOS`
            photos, else average. Multiscale names types and colours better on large catalogs
            but its 6176 values per photo overfit a catalog of a few thousand photos. With a
            tuned backbone, the stock half keeps the brand evidence that the tuned features
            alone lose.
        photo_mirror: Average each photo's features with its mirror image's (see
            :class:`~furima.features.PhotoEncoder`): every field a little better, for twice
            the photo encoding time when learning and suggesting.
        seed: Random seed.
    """

    def __init__(
        self,
        *,
        neighbours: int = 10,
        min_confidence: float | Mapping[str, float] | None = None,
        classifier: AttributeClassifier | None = None,
        embedder: PhotoTextEmbedder | None = None,
        train_embedder: bool = True,
        backend: str = "auto",
        photo_backbone: str | Path | None = None,
        photo_pooling: str = AUTO,
        photo_mirror: bool = False,
        seed: int = 0,
    ) -> None:
        self.neighbours = neighbours
        self.min_confidence = min_confidence
        self.classifier = classifier
        self.embedder = embedder
        self.train_embedder = train_embedder
        self.backend = backend
        self.photo_backbone = photo_backbone
        self.photo_pooling = photo_pooling
        self.photo_mirror = photo_mirror
        self.seed = seed
        self._encoders: ListingEncoders | None = None
        self._catalog_photos = 0  # photos in the catalog being learned (for "auto" pooling)

    # -- fitting -------------------------------------------------------------------------

    def fit(
        self,
        catalog: pd.DataFrame,
        *,
        fields: ListingFields | None = None,
        price_model: PriceSuggester | None = None,
        features: ListingFeatures | None = None,
        progress: bool = False,
    ) -> ListingAssistant:
        """Learn from a catalog of past listings (one row each, columns named by ``fields``).

        ``price_model``: a fitted :class:`~furima.pricing.PriceSuggester` for the price range.
        ``features``: encoder outputs already computed for ``catalog`` (see
        :meth:`encode`), to skip encoding.
        """
        self.fields_ = fields = fields or ListingFields()
        fields.check(catalog)
        self._use_encoders_for(catalog, fields)
        if len(catalog) < 10:
            raise DataError(f"the catalog has {len(catalog)} listings; give at least 10.")
        catalog = catalog.reset_index(drop=True)
        self.data_fingerprint_: str | None = fingerprint(catalog)
        ids = PoolColumns(id=fields.id).ids(catalog)
        if features is None:
            features = self.encode(catalog, fields, progress=progress)
        if len(features) != len(catalog):
            raise DataError(f"features have {len(features)} rows for {len(catalog)} listings.")
        photo = self.encoders.photo
        if features.photos.shape[1] != photo.dim:
            raise DataError(
                f"features hold photos as {features.photos.shape[1]} values, but this assistant "
                f"encodes them as {photo.dim} ({photo.pooling} pooling for "
                f"{self._catalog_photos} photos); compute them with its encode()."
            )
        self.brands_ = (
            BrandMatcher.fit(catalog[fields.brand], catalog[fields.title]) if fields.brand else None
        )
        self.classifier_ = fit_classifier(
            catalog,
            features,
            fields,
            brands=self.brands_,
            classifier=self.classifier,
            photo_encoder=photo,
            seed=self.seed,
            progress=progress,
        )
        self.parents_ = parent_maps(catalog, fields.category)
        self.title_style_ = fit_title_style(catalog, fields)
        self.search_ = build_pool(
            catalog,
            features,
            fields,
            train_embedder=self.train_embedder,
            embedder=self.embedder,
            backend=self.backend,
            photo_encoder=photo,
            progress=progress,
        )
        self.catalog_ = reference_table(catalog, ids, fields)
        self.familiarity_ = PhotoFamiliarity.fit(
            features.photos[features.has_photo], seed=self.seed
        )
        self.catalog_ascii_ = ascii_share(catalog[fields.title].fillna("").astype(str))
        self.price_model_ = price_model
        return self

    @property
    def encoders(self) -> ListingEncoders:
        """The photo (``photo_backbone``, ``photo_pooling``, ``photo_mirror``) and text
        encoders; with ``"auto"`` pooling, those for the catalog last passed to :meth:`encode`
        or :meth:`fit`."""
        if self._encoders is None:
            photo = PhotoEncoder(
                backbone=self.photo_backbone,
                pooling=self.pooling_for(self._catalog_photos),
                mirror=self.photo_mirror,
            )
            self._encoders = ListingEncoders(photo)
        return self._encoders

    def pooling_for(self, photos: int) -> str:
        """The photo pooling used for a catalog of ``photos`` photos."""
        if self.photo_pooling not in (AUTO, AVERAGE, MULTISCALE):
            raise ValueError(
                f"photo_pooling must be {AUTO!r}, {AVERAGE!r} or {MULTISCALE!r}, "
                f"got {self.photo_pooling!r}."
            )
        if self.photo_pooling != AUTO:
            return self.photo_pooling
        return MULTISCALE if photos >= MULTISCALE_MIN_PHOTOS else AVERAGE

    def encode(
        self, catalog: pd.DataFrame, fields: ListingFields, *, progress: bool = False
    ) -> ListingFeatures:
        """Encoder outputs of a catalog, reusable across :meth:`fit` calls."""
        fields.check(catalog)
        self._use_encoders_for(catalog, fields)
        photos = catalog[fields.photo].tolist() if fields.photo else [None] * len(catalog)
        return self.encoders.encode(photos, catalog[fields.title].tolist(), progress=progress)

    def _use_encoders_for(self, catalog: pd.DataFrame, fields: ListingFields) -> None:
        """Fresh encoders for learning from ``catalog`` (the settings may have changed since
        the last fit, and ``"auto"`` pooling depends on its number of photos)."""
        column = catalog[fields.photo] if fields.photo else pd.Series([], dtype=object)
        self._catalog_photos = int(sum(_present(photo) for photo in column))
        self._encoders = None

    # -- suggesting ----------------------------------------------------------------------

    def suggest(
        self,
        *,
        photo: Any | None = None,
        text: str | None = None,
        brand: str | None = None,
        condition: int | None = None,
    ) -> ListingSuggestion:
        """Suggestions for one listing: a photo (bytes, path or PIL image) and/or words.

        ``brand`` and ``condition`` (1-5), when the seller gives them, are kept as given and
        inform the price.
        """
        return self.suggest_batch(
            photos=[photo], texts=[text], brands=[brand], conditions=[condition]
        )[0]

    def suggest_batch(
        self,
        *,
        photos: Sequence[Any | None] | None = None,
        texts: Sequence[str | None] | None = None,
        brands: Sequence[str | None] | None = None,
        conditions: Sequence[int | None] | None = None,
        features: ListingFeatures | None = None,
    ) -> list[ListingSuggestion]:
        """:meth:`suggest` for many listings at once (one encoder and model call per batch).

        ``features``: the encoder outputs of these photos and texts, when already computed
        (evaluation over a held-out catalog); ``photos`` may then be left out.
        """
        self._check_fitted()
        if features is not None and photos is None:
            photos = [_ENCODED if has else None for has in features.has_photo]
        queries = validated_queries(photos, texts, brands, conditions)
        notes: list[list[str]] = [[] for _ in queries]
        usable_texts = [self._usable_text(q, note) for q, note in zip(queries, notes, strict=True)]
        if features is None:
            features = self.encoders.encode([q.photo for q in queries], usable_texts)
        return self._suggest_features(queries, features, notes)

    def _suggest_features(
        self, queries: list[Query], features: ListingFeatures, notes: list[list[str]]
    ) -> list[ListingSuggestion]:
        probabilities, modes = self.classifier_.predict_proba(
            photos=features.photo_inputs,
            texts=features.titles,
            has_photo=features.has_photo,
            has_text=features.has_text,
        )
        found = self._neighbours(features)
        familiar = self._familiar(features)
        answers = []
        for row, query in enumerate(queries):
            if not familiar[row]:
                notes[row].append(
                    "This photo looks unlike anything in the catalog, so no fields were "
                    "filled in; please fill them yourself or try a clearer photo."
                )
            neighbours = similar_listings(
                self.catalog_, self.fields_, found.ids[row], found.scores[row]
            )
            suggestions = field_suggestions(
                {n: p[row] for n, p in probabilities.items()},
                modes[row],
                familiar[row],
                neighbours,
                query,
                fields=self.fields_,
                classifier=self.classifier_,
                min_confidence=self.min_confidence,
                brands=self.brands_,
                parents=self.parents_,
            )
            answers.append(
                listing_suggestion(
                    query,
                    suggestions,
                    neighbours,
                    notes[row],
                    fields=self.fields_,
                    title_style=self.title_style_,
                    price_model=self.price_model_,
                )
            )
        return answers

    def _usable_text(self, query: Query, notes: list[str]) -> str | None:
        """The words to use: text in a script the catalog does not use is set aside when a
        photo is given (the text model only knows the catalog's language)."""
        if query.text is None:
            return None
        foreign = self.catalog_ascii_ > 0.9 and ascii_share([query.text]) < 0.5
        if not foreign:
            return query.text
        if query.photo is not None:
            notes.append(
                "The words are not in the catalog's language, so the suggestions come from "
                "the photo alone."
            )
            return None
        notes.append(
            "The words are not in the catalog's language; suggestions from them are unsure, "
            "so add a photo if you can."
        )
        return query.text

    def _neighbours(self, features: ListingFeatures) -> SearchResult:
        """Similar catalog listings: by photo where there is one, else by the words."""
        k = min(self.neighbours, len(self.catalog_))
        has_photo = features.has_photo
        if has_photo.all():
            return self.search_.similar_to_features(photos=features.photos, k=k)
        found = self.search_.similar_to_features(texts=features.titles, k=k)
        if has_photo.any():
            by_photo = self.search_.similar_to_features(photos=features.photos[has_photo], k=k)
            found.ids[has_photo], found.scores[has_photo] = by_photo.ids, by_photo.scores
        return found

    def _familiar(self, features: ListingFeatures) -> np.ndarray:
        """Photos at least as close to the catalog as its own 1st percentile (texts always)."""
        familiar = ~features.has_photo
        familiar[features.has_photo] = self.familiarity_.familiar(
            features.photos[features.has_photo]
        )
        return familiar

    def _draft_listing(
        self, query: Query, suggestions: list[FieldSuggestion], title: TitleSuggestion | None
    ) -> pd.DataFrame:
        """The listing as the price model reads it (see :func:`draft_listing`)."""
        return draft_listing(query, suggestions, title, self.fields_, self.price_model_)

    # -- catalog -------------------------------------------------------------------------

    def photo(self, listing_id: int) -> bytes:
        """The photo of a catalog listing, as stored (JPEG, PNG, ... bytes)."""
        self._check_fitted()
        if listing_id not in self.catalog_.index or "photo_bytes" not in self.catalog_:
            raise UnknownListingError(
                f"no catalog listing {listing_id} with a photo.", ids=[listing_id]
            )
        data = self.catalog_.at[listing_id, "photo_bytes"]
        if not isinstance(data, bytes) or not data:
            raise UnknownListingError(
                f"catalog listing {listing_id} has no photo.", ids=[listing_id]
            )
        return data

    def _check_fitted(self) -> None:
        if not hasattr(self, "classifier_"):
            raise NotFittedError("this ListingAssistant is not fitted; call fit() or load().")

    # -- persistence ---------------------------------------------------------------------

    def save(self, path: str | Path) -> Path:
        """Save atomically to a folder (manifest, classifier, pool, catalog, price model)."""
        from furima.listing._persistence import save_assistant

        self._check_fitted()
        return save_assistant(self, path)

    @classmethod
    def load(cls, path: str | Path) -> ListingAssistant:
        """Load an assistant written by :meth:`save`."""
        from furima.listing._persistence import load_assistant

        return load_assistant(path)
