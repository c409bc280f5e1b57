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
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from furima.catalog import fingerprint
from furima.exceptions import DataError, NotFittedError, UnknownListingError
from furima.features import PhotoEncoder, photo_digest
from furima.features._photo import AVERAGE, MULTISCALE
from furima.listing._brands import BrandMatcher
from furima.listing._categories import consistent_categories, parent_maps
from furima.listing._classifier import AttributeClassifier
from furima.listing._familiarity import PhotoFamiliarity
from furima.listing._features import ListingEncoders, ListingFeatures, _present
from furima.listing._fields import ListingFields
from furima.listing._requests import Query, ascii_share, validated_queries
from furima.listing._suggestion import (
    Choice,
    FieldSuggestion,
    ListingSuggestion,
    PriceRange,
    SimilarListing,
    TitleSuggestion,
)
from furima.listing._titles import TitleStyle
from furima.search import PoolColumns, SimilarSearch

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

_EVIDENCE = 5  # listing ids shown as evidence per field
_TOP = 3  # candidates shown per field
_ENCODED = b"<encoded>"  # marks a photo whose features were given
_LIKELY = 0.5  # unfilled fields still name the title when at least this likely
_MIN_CALIBRATION_ROWS = 20  # held-out photos needed to calibrate on them alone


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
        self.classifier_ = self._fit_classifier(catalog, features, progress)
        self.parents_ = parent_maps(catalog, fields.category)
        self.title_style_ = self._fit_title_style(catalog)
        self.search_ = self._build_pool(catalog, features, progress)
        self.catalog_ = _reference_table(catalog, ids, fields)
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

    def _fit_classifier(
        self, catalog: pd.DataFrame, features: ListingFeatures, progress: bool
    ) -> AttributeClassifier:
        fields = self.fields_
        labels: dict[str, Any] = {
            name: catalog[name].to_numpy(dtype=object) for name in fields.suggested
        }
        learnable = {}
        if fields.brand and self.brands_ is not None:  # rare brands: not learned, yet real
            learnable[fields.brand] = self.brands_.learnable
        classifier = self.classifier or AttributeClassifier(seed=self.seed)
        fresh = AttributeClassifier(**classifier.get_params())
        return fresh.fit(
            labels,
            photos=features.photo_inputs,
            texts=features.titles,
            has_photo=features.has_photo,
            has_text=features.has_text,
            calibration_rows=self._rows_held_out_of_tuning(catalog, fresh.calibration_share),
            learnable=learnable,
            progress=progress,
        )

    def _rows_held_out_of_tuning(self, catalog: pd.DataFrame, share: float) -> np.ndarray | None:
        """With a tuned photo backbone: the catalog rows whose photos it held out of tuning, to
        calibrate on. ``None`` (a random split) for the stock backbone, or one tuned on other
        photos; too few held-out rows among these photos warns."""
        encoder, column = self.encoders.photo, self.fields_.photo
        if encoder.backbone is None or column is None:
            return None
        held = np.flatnonzero(
            [_present(photo) and photo_digest(photo) in encoder.held_out_photos
             for photo in catalog[column]]
        )  # fmt: skip
        if len(held) == 0:
            return None  # tuned on other photos: these are all new to it
        if len(held) >= max(_MIN_CALIBRATION_ROWS, share * len(catalog) / 2):
            return held
        warnings.warn(
            f"the photo backbone held out {len(held)} of these {len(catalog)} listings' photos "
            "from tuning; confidences are calibrated on photos it may have trained on, so "
            "fields will be filled too eagerly. Tune it on this catalog with a validation "
            "share (`furima photo tune --validation-share 0.1`).",
            UserWarning,
            stacklevel=3,
        )
        return None

    def _fit_title_style(self, catalog: pd.DataFrame) -> TitleStyle | None:
        fields = self.fields_
        noun = fields.category[-1] if fields.category else None
        if noun is None:
            return None
        values = {name: catalog[name].tolist() for name in fields.suggested}
        return TitleStyle().fit(catalog[fields.title].astype(str).tolist(), values, noun)

    def _build_pool(
        self, catalog: pd.DataFrame, features: ListingFeatures, progress: bool
    ) -> SimilarSearch:
        fields = self.fields_
        columns = PoolColumns(
            id=fields.id,
            title=fields.title,
            photo=fields.photo,
            label=fields.category[-1] if fields.category else None,
            category=fields.category[0] if fields.category else None,
            price=fields.price,
        )
        return SimilarSearch.build(
            catalog,
            columns=columns,
            train_embedder=self.train_embedder,
            embedder=self.embedder,
            backend=self.backend,
            features=features.pool(),
            photo_encoder=self.encoders.photo,
            progress=progress,
        )

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
            neighbours = self._similar_listings(found.ids[row], found.scores[row])
            suggestions = self._field_suggestions(
                {n: p[row] for n, p in probabilities.items()},
                modes[row],
                familiar[row],
                neighbours,
                query,
            )
            answers.append(self._answer(query, suggestions, neighbours, notes[row]))
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

    def _similar_listings(self, ids: np.ndarray, scores: np.ndarray) -> list[SimilarListing]:
        fields = self.fields_
        kept = ids >= 0
        records = self.catalog_.loc[ids[kept]].to_dict("records")
        return [
            SimilarListing(
                id=int(listing_id),
                title=str(record[fields.title]),
                score=float(score),
                attributes={n: str(record[n]) for n in fields.suggested if pd.notna(record[n])},
                price=_price_of(record, fields.price),
            )
            for listing_id, record, score in zip(ids[kept], records, scores[kept], strict=True)
        ]

    def _field_suggestions(
        self,
        probabilities: dict[str, np.ndarray],
        mode: str,
        familiar: bool,
        neighbours: list[SimilarListing],
        query: Query,
    ) -> list[FieldSuggestion]:
        suggestions = {}
        for name in self.fields_.suggested:
            classes = self.classifier_.classes_[name]
            p = probabilities[name]
            best = np.argsort(-p)[:_TOP]
            top = [Choice(str(classes[i]), float(p[i])) for i in best]
            threshold = self._threshold(name, mode)
            value = top[0].value if familiar and top[0].confidence >= threshold else None
            suggestions[name] = FieldSuggestion(
                name=name,
                label=self.fields_.label(name),
                value=value,
                confidence=top[0].confidence,
                threshold=threshold,
                top=top,
                evidence=_agreeing(neighbours, name, top[0].value),
                source=mode,
            )
        if self.fields_.brand:
            suggestions[self.fields_.brand] = self._brand(
                suggestions[self.fields_.brand], query, neighbours
            )
        return consistent_categories(
            list(suggestions.values()), self.fields_.category, self.parents_
        )

    def _threshold(self, name: str, mode: str) -> float:
        if isinstance(self.min_confidence, int | float):
            return float(self.min_confidence)
        if isinstance(self.min_confidence, Mapping) and name in self.min_confidence:
            return float(self.min_confidence[name])
        return self.classifier_.threshold(name, mode)

    def _brand(
        self, suggestion: FieldSuggestion, query: Query, neighbours: list[SimilarListing]
    ) -> FieldSuggestion:
        """The seller's brand as given; else a brand named in the words; else the model's."""
        name = suggestion.name
        if query.brand:
            return replace(
                suggestion,
                value=query.brand,
                confidence=1.0,
                top=[Choice(query.brand, 1.0)],
                evidence=_agreeing(neighbours, name, query.brand),
                source="seller",
            )
        named = self.brands_.find(query.text) if self.brands_ and query.text else None
        if named is None or self.brands_ is None:
            return suggestion
        confidence = self.brands_.precision
        return replace(
            suggestion,
            value=named if confidence >= suggestion.threshold else None,
            confidence=confidence,
            top=[Choice(named, confidence)],
            evidence=_agreeing(neighbours, name, named),
            source="text",
        )

    def _answer(
        self,
        query: Query,
        suggestions: list[FieldSuggestion],
        neighbours: list[SimilarListing],
        notes: list[str],
    ) -> ListingSuggestion:
        empty = [s.label.lower() for s in suggestions if not s.filled]
        if empty and len(empty) < len(suggestions):
            notes.append(f"Not sure enough to fill in: {', '.join(empty)}. Please choose.")
        title = self._title(suggestions, neighbours)
        return ListingSuggestion(
            fields=suggestions,
            title=title,
            price=self._price(query, suggestions, title, neighbours),
            similar=neighbours,
            notes=notes,
        )

    def _title(
        self, suggestions: list[FieldSuggestion], neighbours: list[SimilarListing]
    ) -> TitleSuggestion | None:
        if self.title_style_ is None or not any(s.filled for s in suggestions):
            return None
        values = {s.name: _likely(s) for s in suggestions}
        noun = self.fields_.category[-1]
        kind = values[noun] = next(s.top[0].value for s in suggestions if s.name == noun)
        backing = [n for n in neighbours if n.attributes.get(noun) == kind]
        backing = backing or neighbours
        text = self.title_style_.compose(
            values, [n.title for n in backing], [max(n.score, 0.0) for n in backing]
        )
        return TitleSuggestion(text, [n.id for n in backing[:_EVIDENCE]]) if text else None

    def _price(
        self,
        query: Query,
        suggestions: list[FieldSuggestion],
        title: TitleSuggestion | None,
        neighbours: list[SimilarListing],
    ) -> PriceRange | None:
        priced = [n for n in neighbours if n.price is not None]
        evidence = [n.id for n in priced[:_EVIDENCE]]
        if self.price_model_ is not None and (title is not None or query.text):
            draft = self._draft_listing(query, suggestions, title)
            (price,) = self.price_model_.suggest(draft)
            return PriceRange(price.price, price.low, price.high, price.coverage, evidence, "model")
        if len(priced) >= 3:
            prices = np.array([n.price for n in priced], dtype=np.float64)
            low, middle, high = np.quantile(prices, [0.1, 0.5, 0.9])
            return PriceRange(
                float(middle), float(low), float(high), 0.8, evidence, "similar listings"
            )
        return None

    def _draft_listing(
        self, query: Query, suggestions: list[FieldSuggestion], title: TitleSuggestion | None
    ) -> pd.DataFrame:
        """The listing as the price model reads it (name, brand, category, attributes)."""
        values = {s.name: s.value for s in suggestions}
        fields = self.fields_
        path = [str(values[level]) for level in fields.category if values.get(level)]
        row: dict[str, Any] = {
            "name": title.value if title is not None else query.text,
            "description": query.text or "",
            "brand": values.get(fields.brand) if fields.brand else None,
            "category": "/".join(path) if path else None,
            "condition": query.condition,
        }
        for name in fields.attributes:
            row[fields.price_attributes.get(name, name)] = values.get(name)
        photo_column = getattr(self.price_model_, "photo_column_", None)
        if photo_column is not None:  # a price model that learned from photos sees this one
            row[photo_column] = query.photo
        return pd.DataFrame([row])

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


def _price_of(record: Mapping[Any, Any], column: str | None) -> float | None:
    value = record[column] if column else None
    return None if value is None or pd.isna(value) else float(value)


def _likely(suggestion: FieldSuggestion) -> str | None:
    """A field's value for the title: the filled value, else a candidate more likely right
    than wrong (the seller edits the title anyway; a missing word helps less). The product
    type always takes its best candidate: a title names what the item is."""
    if suggestion.value is not None or not suggestion.top:
        return suggestion.value
    best = suggestion.top[0]
    return best.value if best.confidence >= _LIKELY else None


def _agreeing(neighbours: list[SimilarListing], name: str, value: str) -> list[int]:
    return [n.id for n in neighbours if n.attributes.get(name) == value][:_EVIDENCE]


def _reference_table(catalog: pd.DataFrame, ids: np.ndarray, fields: ListingFields) -> pd.DataFrame:
    """What suggestions show of catalog listings: title, fields, price and photo bytes."""
    columns = [fields.title, *fields.suggested, *((fields.price,) if fields.price else ())]
    table = catalog[columns].copy()
    for name in (fields.title, *fields.suggested):
        table[name] = table[name].astype("string")
    if fields.photo:
        table["photo_bytes"] = [_photo_bytes(value) for value in catalog[fields.photo]]
    table.index = pd.Index(ids, name="id")
    return table


def _photo_bytes(value: Any) -> bytes | None:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str | Path) and str(value) and Path(value).is_file():
        return Path(value).read_bytes()
    return None
