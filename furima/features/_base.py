"""The encoder contract shared by text and photo encoders."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

__all__ = ["Encoder", "l2_normalise"]


@runtime_checkable
class Encoder(Protocol):
    """Turns a batch of items (texts or photos) into one dense row per item.

    ``name`` identifies the model (it is stored with every feature pool so vectors from
    different encoders are never mixed); ``dim`` is the row width. ``encode`` is batch-first,
    returns float32 ``(len(items), dim)`` rows of unit L2 norm, and shows a progress bar when
    ``progress`` is true.
    """

    name: str
    dim: int

    def encode(self, items: Sequence[Any], *, progress: bool = False) -> np.ndarray: ...


def l2_normalise(rows: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (all-zero rows stay zero)."""
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    scaled: np.ndarray = (rows / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)
    return scaled
