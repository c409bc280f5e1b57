"""A model's parameters, metrics and saved folder as MLflow records them."""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlflow import MlflowClient

__all__ = ["log_batch", "log_tree", "mlflow_metrics", "mlflow_params"]

_MAX_PARAM_CHARS = 500
_MLFLOW_NAME = re.compile(r"[^\w\-. :/]")


def _leaves(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings flattened to dotted names (``{"a": {"b": 1}}`` -> ``{"a.b": 1}``), with
    characters MLflow refuses in names (``photo+text``) replaced by ``_``."""
    leaves: dict[str, Any] = {}
    for key, value in values.items():
        name = _MLFLOW_NAME.sub("_", f"{prefix}{key}")
        if isinstance(value, Mapping):
            leaves.update(_leaves(value, f"{name}."))
        else:
            leaves[name] = value
    return leaves


def mlflow_params(*sources: Mapping[str, Any]) -> dict[str, str]:
    """MLflow parameters: every leaf as (truncated) text."""
    params = {k: v for source in sources for k, v in _leaves(source).items()}
    return {
        k: (v if isinstance(v, str) else json.dumps(v, default=str))[:_MAX_PARAM_CHARS]
        for k, v in params.items()
    }


def mlflow_metrics(*sources: Mapping[str, Any]) -> dict[str, float]:
    """MLflow metrics: the finite numeric leaves."""
    leaves = {k: v for source in sources for k, v in _leaves(source).items()}
    return {
        k: float(v)
        for k, v in leaves.items()
        if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
    }


def log_batch(
    client: MlflowClient, run_id: str, params: dict[str, str], metrics: dict[str, float]
) -> None:
    from mlflow.entities import Metric, Param

    now = int(time.time() * 1000)
    items = [Param(k, v) for k, v in params.items()]
    values = [Metric(k, v, now, 0) for k, v in metrics.items()]
    for start in range(0, max(len(items), len(values)), 100):
        end = start + 100
        client.log_batch(run_id, metrics=values[start:end], params=items[start:end])


def log_tree(client: MlflowClient, run_id: str, folder: Path, artifact_path: str) -> None:
    """Log a saved folder as it is read back: a link that furima's atomic saves use (``search``
    -> ``.search@...``) becomes a plain folder of that name, and the hidden version folder is
    logged too, since the manifest's checksums name its files."""
    for entry in sorted(folder.iterdir()):
        if entry.is_dir():
            log_tree(client, run_id, entry.resolve(), f"{artifact_path}/{entry.name}")
        else:
            client.log_artifact(run_id, str(entry.resolve()), artifact_path)
