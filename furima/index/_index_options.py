"""Checks of :class:`~furima.index.VectorIndex` options, and the params each backend takes.

Kept apart from the index so the constructor and :meth:`~furima.index.VectorIndex.rebuild`
share one set of checks and error messages.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from furima.exceptions import IndexConfigError
from furima.index._backends import BACKENDS, HNSWParams, IVFPQParams
from furima.index._checks import check_metric

__all__ = ["check_config", "check_params", "params_for"]


def check_config(dim: int, metric: str, backend: str, recall: float, compact_at: float) -> None:
    """Raise :class:`IndexConfigError` for a bad dim, metric, backend, recall or compact_at."""
    if not isinstance(dim, int | np.integer) or dim < 1:
        raise IndexConfigError(f"dim must be a positive integer, but got {dim!r}.")
    check_metric(metric)
    if backend not in BACKENDS:
        raise IndexConfigError(f"backend must be one of {BACKENDS}, but got {backend!r}.")
    if not 0 < recall <= 1:
        raise IndexConfigError(f"target_recall must be in (0, 1], but got {recall!r}.")
    if not 0 < compact_at < 1:
        raise IndexConfigError(f"compact_at must be in (0, 1), but got {compact_at!r}.")


def check_params(backend: str, params: HNSWParams | IVFPQParams | None) -> None:
    """Raise :class:`IndexConfigError` when ``params`` do not belong to ``backend``."""
    wanted = {"hnsw": HNSWParams, "ivfpq": IVFPQParams}.get(backend)
    if params is None or backend == "auto" or (wanted and isinstance(params, wanted)):
        return
    takes = f"params={wanted.__name__}(...)" if wanted else "no params"
    raise IndexConfigError(f"the {backend} backend takes {takes}, but got {type(params).__name__}.")


def params_for(name: str, params: HNSWParams | IVFPQParams | None) -> Any:
    """``params`` when they suit the backend ``name`` (``auto`` may pick another), else None."""
    wanted = {"hnsw": HNSWParams, "ivfpq": IVFPQParams}.get(name)
    return params if wanted is not None and isinstance(params, wanted) else None
