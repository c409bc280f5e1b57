"""How a :class:`~furima.listing.ListingAssistant` learns its parts from a catalog.

The attribute classifier (calibrated, with a tuned backbone, on the photos it held out of
tuning), the title style and the similar-listing pool. Kept apart from the assistant so that
its ``fit`` reads as the list of what it learns; these functions take plain data and return the
fitted parts.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from furima.features import PhotoEncoder, photo_digest
from furima.listing._brands import BrandMatcher
from furima.listing._classifier import AttributeClassifier
from furima.listing._features import ListingFeatures, _present
from furima.listing._fields import ListingFields
from furima.listing._titles import TitleStyle
from furima.search import PoolColumns, SimilarSearch

if TYPE_CHECKING:
    from furima.features import PhotoTextEmbedder

__all__ = ["build_pool", "fit_classifier", "fit_title_style", "rows_held_out_of_tuning"]

_MIN_CALIBRATION_ROWS = 20  # held-out photos needed to calibrate on them alone


def fit_classifier(
    catalog: pd.DataFrame,
    features: ListingFeatures,
    fields: ListingFields,
    *,
    brands: BrandMatcher | None,
    classifier: AttributeClassifier | None,
    photo_encoder: PhotoEncoder,
    seed: int,
    progress: bool,
) -> AttributeClassifier:
    """A fresh classifier with ``classifier``'s settings (or the defaults), fitted to the
    catalog's suggested fields; rare brands known to ``brands`` are not learned, yet real."""
    labels: dict[str, Any] = {
        name: catalog[name].to_numpy(dtype=object) for name in fields.suggested
    }
    learnable = {}
    if fields.brand and brands is not None:  # rare brands: not learned, yet real
        learnable[fields.brand] = brands.learnable
    classifier = classifier or AttributeClassifier(seed=seed)
    fresh = AttributeClassifier(**classifier.get_params())
    return fresh.fit(
        labels,
        photos=features.photo_inputs,
        texts=features.titles,
        has_photo=features.has_photo,
        has_text=features.has_text,
        calibration_rows=rows_held_out_of_tuning(
            catalog, fields.photo, photo_encoder, fresh.calibration_share
        ),
        learnable=learnable,
        progress=progress,
    )


def rows_held_out_of_tuning(
    catalog: pd.DataFrame, column: str | None, encoder: PhotoEncoder, share: float
) -> np.ndarray | None:
    """With a tuned photo backbone: the catalog rows whose photos it held out of tuning, to
    calibrate on. ``None`` (a random split) for the stock backbone, or one tuned on other
    photos; too few held-out rows among these photos warns."""
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


def fit_title_style(catalog: pd.DataFrame, fields: ListingFields) -> TitleStyle | None:
    """The catalog's way of writing titles; ``None`` without a category to name the item."""
    noun = fields.category[-1] if fields.category else None
    if noun is None:
        return None
    values = {name: catalog[name].tolist() for name in fields.suggested}
    return TitleStyle().fit(catalog[fields.title].astype(str).tolist(), values, noun)


def build_pool(
    catalog: pd.DataFrame,
    features: ListingFeatures,
    fields: ListingFields,
    *,
    train_embedder: bool,
    embedder: PhotoTextEmbedder | None,
    backend: str,
    photo_encoder: PhotoEncoder,
    progress: bool,
) -> SimilarSearch:
    """The similar-listing pool over the catalog, from its already encoded features."""
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
        train_embedder=train_embedder,
        embedder=embedder,
        backend=backend,
        features=features.pool(),
        photo_encoder=photo_encoder,
        progress=progress,
    )
