"""Encoders: listings to features. Pure fit/transform, no I/O.

- :class:`ListingTextVectorizer`: sparse TF-IDF over listing views and crosses.
- :func:`listing_keys` and :class:`TargetEncoder`: categorical keys and their smoothed targets.
- :class:`MiniLMEncoder`, :class:`MultilingualUSEEncoder`: dense sentence embeddings.
- :class:`ColourEncoder`: the product's colours (CIELAB histograms, background left out).
- :class:`PhotoEncoder`: EfficientNet-Lite0 photo features through onnxruntime (average
  pooled, or pooled at every block for search);
  :func:`decode_image` turns any photo into RGB pixels or a clear :class:`ImageError`.
- :func:`tune_photo_backbone`: EfficientNet-Lite0 fine-tuned on a catalog's labels (GPU when
  there is one), which :class:`PhotoEncoder` then runs in place of the ImageNet weights.
- :class:`PhotoTextEmbedder`: photo and title features projected into one learned space.

Heavy dependencies (onnxruntime, PyTorch, sentence-transformers) load on first use.
"""

from __future__ import annotations

from furima.features._base import Encoder, l2_normalise
from furima.features._colour import ColourEncoder
from furima.features._images import (
    MAX_IMAGE_BYTES,
    MAX_IMAGE_PIXELS,
    decode_image,
    image_media_type,
)
from furima.features._joint_embedding import PhotoTextEmbedder
from furima.features._listing_text import (
    JOINED_VIEWS,
    SPLIT_VIEWS,
    ListingTextVectorizer,
    as_text,
    listing_tokens,
    restore_tfidf,
    tfidf_arrays,
    tfidf_transform,
)
from furima.features._photo import PhotoEncoder
from furima.features._photo_tuning import PhotoTuning, photo_digest, tune_photo_backbone
from furima.features._sentence import MiniLMEncoder, MultilingualUSEEncoder
from furima.features._target_encoding import TargetEncoder, listing_keys

__all__ = [
    "JOINED_VIEWS",
    "MAX_IMAGE_BYTES",
    "MAX_IMAGE_PIXELS",
    "SPLIT_VIEWS",
    "ColourEncoder",
    "Encoder",
    "ListingTextVectorizer",
    "MiniLMEncoder",
    "MultilingualUSEEncoder",
    "PhotoEncoder",
    "PhotoTextEmbedder",
    "PhotoTuning",
    "TargetEncoder",
    "as_text",
    "decode_image",
    "image_media_type",
    "l2_normalise",
    "listing_keys",
    "listing_tokens",
    "photo_digest",
    "restore_tfidf",
    "tfidf_arrays",
    "tfidf_transform",
    "tune_photo_backbone",
]
