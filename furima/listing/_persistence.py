"""Saving and loading a :class:`ListingAssistant` as one folder with a JSON manifest.

    manifest.json    format, versions, fields, parameters, learned values, metrics, checksums
    classifier.npz   the attribute classifier's weights and photo feature scaling
    familiarity.npy  the sample of catalog photo features that unfamiliar photos are told by
    catalog.parquet  the catalog listings shown as evidence (titles, fields, prices, photos)
    search/          the similar-listing pool (a saved SimilarSearch)
    price/           the price model, when the assistant has one (a saved PriceSuggester)

The folder is written beside ``path`` and swapped in atomically (see :mod:`furima._artifacts`):
a crash mid-save leaves the previous assistant loadable.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from furima._artifacts import ArtifactKind, check_files, read_manifest, save_atomically, stamp
from furima.exceptions import ModelFormatError

if TYPE_CHECKING:
    from furima.listing._assistant import ListingAssistant

__all__ = ["load_assistant", "save_assistant"]

FORMAT = "furima.listing_assistant"
# 2: the photo familiarity check reads the encoder's features (familiarity.npy), not the pool's.
# 3: colour features are CIELAB histograms of the product, whole and centre (659 values), not
#    one HSV histogram (85): the classifier of an older assistant expects the old width.
# 4: the classifier re-estimates confidences from the nearest catalog photos (its hidden vectors
#    and agreement models are saved with it). Format 3 still loads, with calibrated confidences
#    alone; an older furima refuses format 4 rather than fill fields at thresholds set for them.
FORMAT_VERSION = 4
_CLASSIFIER, _CATALOG, _SEARCH, _PRICE = "classifier.npz", "catalog.parquet", "search", "price"
_FAMILIARITY = "familiarity.npy"
KIND = ArtifactKind(
    format=FORMAT,
    version=FORMAT_VERSION,
    noun="saved furima listing assistant",
    written_by="ListingAssistant.save()",
    too_new=(
        "in format {saved}; this furima reads listing assistant format {supported} and "
        "older. Upgrade furima, or fit the assistant again with this version."
    ),
    damaged="the assistant is corrupt, truncated or was modified. Fit and save it again.",
    error=ModelFormatError,
    oldest=3,
    too_old=(
        "whose photo features this furima no longer computes the same way. Fit the "
        "assistant again (`furima listing fit`) and save it."
    ),
)


def save_assistant(assistant: ListingAssistant, path: str | Path) -> Path:
    """Write a fitted ``assistant`` to the folder ``path`` atomically."""
    import furima

    def write(folder: Path) -> None:
        arrays, learned = assistant.classifier_.get_state()
        np.savez(folder / _CLASSIFIER, allow_pickle=False, **arrays)
        np.save(folder / _FAMILIARITY, assistant.familiarity_.reference, allow_pickle=False)
        assistant.catalog_.reset_index().to_parquet(folder / _CATALOG, index=False)
        assistant.search_.save(folder / _SEARCH)
        if assistant.price_model_ is not None:
            assistant.price_model_.save(folder / _PRICE)
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "versions": {"furima": furima.__version__},
            "fields": assistant.fields_.to_dict(),
            "params": _params(assistant),
            "classifier": {"params": assistant.classifier_.get_params(), "learned": learned},
            "parents": assistant.parents_,
            "title_style": assistant.title_style_.get_state() if assistant.title_style_ else None,
            "brands": assistant.brands_.get_state() if assistant.brands_ else None,
            "familiarity_threshold": assistant.familiarity_.threshold,
            "catalog_ascii": assistant.catalog_ascii_,
            "has_price_model": assistant.price_model_ is not None,
            "data_fingerprint": assistant.data_fingerprint_,
            "metrics": assistant.classifier_.calibration_,
        }
        stamp(folder, manifest)

    return save_atomically(Path(path), write)


def load_assistant(path: str | Path) -> ListingAssistant:
    """Load an assistant written by :func:`save_assistant`, checking format and checksums."""
    from furima.listing._assistant import ListingAssistant
    from furima.listing._brands import BrandMatcher
    from furima.listing._classifier import AttributeClassifier
    from furima.listing._familiarity import PhotoFamiliarity
    from furima.listing._features import ListingEncoders
    from furima.listing._fields import ListingFields
    from furima.listing._titles import TitleStyle
    from furima.search import SimilarSearch

    folder = Path(path)
    manifest = read_manifest(folder, KIND)
    check_files(folder, manifest, KIND)
    assistant = ListingAssistant(**manifest["params"])
    with np.load(folder / _CLASSIFIER, allow_pickle=False) as arrays:
        state = {name: arrays[name] for name in arrays.files}
    saved = manifest["classifier"]
    assistant.classifier_ = AttributeClassifier.from_state(state, saved["learned"], saved["params"])
    assistant.fields_ = ListingFields.from_dict(manifest["fields"])
    assistant.parents_ = manifest["parents"]
    style = manifest["title_style"]
    assistant.title_style_ = TitleStyle.from_state(style) if style else None
    brands = manifest["brands"]
    assistant.brands_ = BrandMatcher.from_state(brands) if brands else None
    reference = np.load(folder / _FAMILIARITY, allow_pickle=False)
    assistant.familiarity_ = PhotoFamiliarity(reference, float(manifest["familiarity_threshold"]))
    assistant.catalog_ascii_ = float(manifest["catalog_ascii"])
    assistant.data_fingerprint_ = manifest.get("data_fingerprint")  # absent before 0.1.0 final
    assistant.catalog_ = _catalog(folder / _CATALOG)
    assistant.search_ = SimilarSearch.load(folder / _SEARCH)
    # Suggestions encode photos as the pool did: share its encoder (and tuned backbone).
    assistant.photo_backbone = assistant.search_.photo_encoder.backbone
    assistant.photo_pooling = assistant.search_.photo_encoder.pooling
    assistant.photo_mirror = assistant.search_.photo_encoder.mirror
    assistant._encoders = ListingEncoders(assistant.search_.photo_encoder)
    assistant.price_model_ = _price_model(folder, manifest)
    return assistant


def _params(assistant: ListingAssistant) -> dict[str, Any]:
    """The assistant's JSON-ready hyperparameters (component objects are saved on their own)."""
    threshold = assistant.min_confidence
    return {
        "neighbours": assistant.neighbours,
        "min_confidence": dict(threshold) if isinstance(threshold, dict) else threshold,
        "train_embedder": assistant.train_embedder,
        "backend": assistant.backend,
        "seed": assistant.seed,
    }


def _catalog(file: Path) -> pd.DataFrame:
    table = pd.read_parquet(file)
    return table.set_index("id")


def _price_model(folder: Path, manifest: dict[str, Any]) -> Any:
    if not manifest["has_price_model"]:
        return None
    from furima.pricing import PriceSuggester

    return PriceSuggester.load(folder / _PRICE)
