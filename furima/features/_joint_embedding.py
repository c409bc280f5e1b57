"""Learned listing embeddings: photo and title features projected into one space.

:class:`PhotoTextEmbedder` trains two small towers on frozen, cached encoder features:

- a photo tower (MLP) and a title tower (residual linear adapter) trained with a symmetric
  contrastive loss (CLIP-style InfoNCE with a learned temperature), so a title finds its photo
  and a photo finds its title. Identical titles in a batch count as positives of each other,
  so duplicate listings are not pushed apart;
- a cosine-softmax head on the photo embedding over product-type labels (normalised softmax,
  i.e. metric learning by classification), so photos of the same product type group together.

Training uses PyTorch on CPU (minutes on 35k pairs); inference is two numpy matrix products, so
serving needs neither PyTorch nor the training code.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from furima._progress import tracker
from furima.exceptions import DataError, NotFittedError
from furima.features._base import l2_normalise

__all__ = ["PhotoTextEmbedder"]


@dataclass(frozen=True)
class _Towers:
    """Learned weights, all float32 numpy arrays (the open, saved form)."""

    photo_w1: np.ndarray
    photo_b1: np.ndarray
    photo_w2: np.ndarray
    photo_b2: np.ndarray
    text_w: np.ndarray
    text_b: np.ndarray


class PhotoTextEmbedder:
    """Photo and text features into one L2-normalised embedding space.

    Args:
        dim: Width of the shared embedding.
        hidden: Width of the photo tower's hidden layer.
        label_weight: Weight of the product-type loss against the contrastive loss (0: off).
        label_scale: Cosine-softmax scale (inverse temperature) of the product-type head.
        epochs: Passes over the training pairs.
        batch_size: Pairs per step (also the number of in-batch negatives); capped at an
            eighth of the training pairs so small catalogs still get enough steps.
        learning_rate: AdamW learning rate.
        weight_decay: AdamW weight decay.
        dropout: Dropout on the photo tower's input and hidden layer.
        seed: Seed of the weight initialisation and batch order.
        threads: PyTorch threads while training (``None``: one per CPU core).
    """

    def __init__(
        self,
        *,
        dim: int = 384,
        hidden: int = 1024,
        label_weight: float = 1.0,
        label_scale: float = 16.0,
        epochs: int = 60,
        batch_size: int = 1024,
        learning_rate: float = 3e-3,
        weight_decay: float = 1e-4,
        dropout: float = 0.2,
        seed: int = 0,
        threads: int | None = None,
    ) -> None:
        self.dim = dim
        self.hidden = hidden
        self.label_weight = label_weight
        self.label_scale = label_scale
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.dropout = dropout
        self.seed = seed
        self.threads = threads

    def fit(
        self,
        photo_features: np.ndarray,
        text_features: np.ndarray,
        labels: Sequence[Any] | None = None,
        *,
        texts: Sequence[str] | None = None,
        progress: bool = False,
    ) -> PhotoTextEmbedder:
        """Train on aligned rows: photo features, title features and (optional) product types.

        ``texts`` (the raw titles) marks rows with identical titles as mutual positives.
        """
        photos, titles = _check_pairs(photo_features, text_features)
        label_codes, classes = _encode_labels(labels, len(photos))
        same_text = _text_groups(texts, len(photos))
        from furima.features._joint_training import train_towers

        with tracker(progress) as bar:
            bar.start("Training photo-text embedding", total=self.epochs)
            weights, history = train_towers(
                self, photos, titles, label_codes, len(classes), same_text, bar.update
            )
        self.towers_ = _Towers(**weights)
        self.classes_ = classes
        self.history_ = history
        self.photo_dim_ = photos.shape[1]
        self.text_dim_ = titles.shape[1]
        return self

    @property
    def is_fitted(self) -> bool:
        """Whether the towers are trained (by :meth:`fit` or :meth:`from_state`)."""
        return getattr(self, "towers_", None) is not None

    def transform_photos(self, photo_features: np.ndarray) -> np.ndarray:
        """Photo encoder rows to unit-length shared embeddings."""
        towers = self._fitted()
        rows = _check_width(photo_features, self.photo_dim_, "photo features")
        hidden = _gelu(rows @ towers.photo_w1 + towers.photo_b1)
        return l2_normalise(hidden @ towers.photo_w2 + towers.photo_b2)

    def transform_texts(self, text_features: np.ndarray) -> np.ndarray:
        """Text encoder rows to unit-length shared embeddings."""
        towers = self._fitted()
        rows = _check_width(text_features, self.text_dim_, "text features")
        return l2_normalise(rows @ towers.text_w + towers.text_b)

    def get_state(self) -> dict[str, np.ndarray]:
        """Learned arrays for saving (``np.savez``; no pickles)."""
        towers = self._fitted()
        state = {name: getattr(towers, name) for name in _Towers.__dataclass_fields__}
        state["classes"] = np.asarray(self.classes_, dtype=str)
        return state

    @classmethod
    def from_state(cls, state: dict[str, np.ndarray], **params: Any) -> PhotoTextEmbedder:
        """Rebuild a fitted embedder from :meth:`get_state` arrays and its parameters."""
        model = cls(**params)
        model.towers_ = _Towers(
            **{
                name: np.asarray(state[name], dtype=np.float32)
                for name in _Towers.__dataclass_fields__
            }
        )
        model.classes_ = [str(label) for label in state["classes"]]
        model.history_ = []
        model.photo_dim_ = model.towers_.photo_w1.shape[0]
        model.text_dim_ = model.towers_.text_w.shape[0]
        return model

    def get_params(self) -> dict[str, Any]:
        """Constructor arguments, as scikit-learn estimators expose them."""
        names = inspect.signature(type(self).__init__).parameters
        return {name: getattr(self, name) for name in names if name != "self"}

    def _fitted(self) -> _Towers:
        towers: _Towers | None = getattr(self, "towers_", None)
        if towers is None:
            raise NotFittedError("PhotoTextEmbedder is not fitted yet; call fit() or load one.")
        return towers


def _gelu(x: np.ndarray) -> np.ndarray:
    return np.asarray(0.5 * x * (1.0 + np.tanh(0.7978845608 * (x + 0.044715 * x**3))))


def _check_pairs(photos: np.ndarray, titles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    photos = np.asarray(photos, dtype=np.float32)
    titles = np.asarray(titles, dtype=np.float32)
    if photos.ndim != 2 or titles.ndim != 2:
        raise DataError("photo and text features must be 2-D arrays (one row per listing).")
    if len(photos) != len(titles):
        raise DataError(
            f"photo and text features must have one row per listing each, "
            f"got {len(photos)} photo rows and {len(titles)} text rows."
        )
    if len(photos) < 2:
        raise DataError("training needs at least 2 listings with a photo and a title.")
    if not (np.isfinite(photos).all() and np.isfinite(titles).all()):
        raise DataError("photo or text features contain NaN or infinite values.")
    return photos, titles


def _check_width(rows: np.ndarray, width: int, what: str) -> np.ndarray:
    rows = np.asarray(rows, dtype=np.float32)
    if rows.ndim == 1:
        rows = rows[None, :]
    if rows.ndim != 2 or rows.shape[1] != width:
        raise DataError(
            f"{what} must have {width} columns (the encoder this embedder was trained on), "
            f"got shape {rows.shape}."
        )
    return rows


def _encode_labels(labels: Sequence[Any] | None, n: int) -> tuple[np.ndarray, list[str]]:
    if labels is None:
        return np.full(n, -1, dtype=np.int64), []
    values = np.asarray([None if label is None else str(label) for label in labels], dtype=object)
    if len(values) != n:
        raise DataError(f"labels must have one entry per listing ({n}), got {len(values)}.")
    known = values != None  # noqa: E711 - element-wise comparison
    classes = sorted(set(values[known].tolist()))
    lookup = {label: code for code, label in enumerate(classes)}
    codes = np.array([lookup[v] if v is not None else -1 for v in values], dtype=np.int64)
    return codes, classes


def _text_groups(texts: Sequence[str] | None, n: int) -> np.ndarray:
    """One group id per row; rows with the same normalised title share it."""
    if texts is None:
        return np.arange(n, dtype=np.int64)
    if len(texts) != n:
        raise DataError(f"texts must have one entry per listing ({n}), got {len(texts)}.")
    keys = [" ".join(str(text).lower().split()) for text in texts]
    lookup: dict[str, int] = {}
    return np.array([lookup.setdefault(key, len(lookup)) for key in keys], dtype=np.int64)
