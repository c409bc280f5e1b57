"""Saving and loading an AutoML result: the chosen model(s), refit, ready to register and serve.

Layout (written atomically, like every furima artifact)::

    manifest.json       format, versions, task, metric, columns, classes, the choice and why,
                        the leaderboard, example rows (smoke requests for servers), checksums
    members/<i>.joblib  one ensemble member: its featurizer and fitted model

Members are Python objects (scikit-learn, LightGBM and torch models behind one featurizer), so
they are stored with joblib. A result saved with other major versions of those libraries is
refused with the versions named, rather than unpickled into something subtly wrong.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from furima import _artifacts as artifacts
from furima._artifacts import (
    ArtifactKind,
    check_files,
    library_versions,
    save_atomically,
    stamp,
)
from furima.automl._metrics import metric_for
from furima.exceptions import ModelFormatError

if TYPE_CHECKING:
    from furima.automl._result import AutoMLResult

__all__ = ["AUTOML_MODEL", "FORMAT", "load_result", "save_result"]

FORMAT = "furima.automl_model"
FORMAT_VERSION = 1
AUTOML_MODEL = ArtifactKind(
    format=FORMAT,
    version=FORMAT_VERSION,
    noun="furima AutoML model",
    written_by="`furima automl run --save DIR` or AutoMLResult.save()",
    too_new="in format {saved}; this furima reads format {supported} and older. Upgrade furima, "
    "or run the search again with this version.",
    damaged="the model is corrupt or was modified. Restore it or run the search again.",
)
_LIBRARIES = ("scikit-learn", "lightgbm", "torch", "numpy", "scipy")


def save_result(result: AutoMLResult, path: Path) -> Path:
    """Write ``result`` so that ``path`` names it, replacing what was there in one step."""
    return save_atomically(Path(path), lambda folder: _write(result, folder))


def _write(result: AutoMLResult, folder: Path) -> None:
    import joblib

    (folder / "members").mkdir()
    members = []
    for i, member in enumerate(result.members):
        joblib.dump(
            {"featurizer": member.featurizer, "model": member.model},
            folder / "members" / f"{i}.joblib",
        )
        members.append(
            {
                "trial": member.trial,
                "family": member.family,
                "weight": member.weight,
                "params": _plain(member.params),
                "refit": member.refit,
            }
        )
    board = result.leaderboard.head(50).to_json(orient="records", default_handler=str)
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "versions": library_versions(_LIBRARIES),
        "task": result.task,
        "metric": result.metric.name,
        "columns": result.columns,
        "classes": None if result.classes is None else _plain(result.classes.tolist()),
        "members": members,
        "chosen": _plain(result.chosen),
        "leaderboard": json.loads(board),
        "examples": result.examples,
        "trials": result.trials,
        "params": {
            "families": sorted({m.family for m in result.members}),
            "members": len(result.members),
            "trials": result.trials,
        },
        "metrics": {f"valid_{result.metric.name}": result.best_score},
        "data_fingerprint": result.data_fingerprint,
        "group_column": result.group_column,
    }
    stamp(folder, manifest)


def load_result(path: Path) -> AutoMLResult:
    """Rebuild a saved result (without its Optuna study: the report is written at fit time)."""
    import joblib

    from furima.automl._result import AutoMLResult, Member

    path = Path(path)
    manifest = artifacts.read_manifest(path, AUTOML_MODEL)
    check_files(path, manifest, AUTOML_MODEL)
    _check_versions(path, manifest.get("versions") or {})
    members = []
    for i, entry in enumerate(manifest["members"]):
        stored = joblib.load(path / "members" / f"{i}.joblib")
        members.append(
            Member(
                entry["trial"],
                entry["family"],
                float(entry["weight"]),
                dict(entry["params"]),
                stored["featurizer"],
                stored["model"],
                refit=bool(entry.get("refit", False)),
            )
        )
    classes = manifest.get("classes")
    return AutoMLResult(
        task=manifest["task"],
        metric=metric_for(manifest["task"], manifest["metric"]),
        members=members,
        leaderboard=pd.DataFrame(manifest["leaderboard"]),
        chosen=manifest["chosen"],
        study=None,
        columns=list(manifest["columns"]),
        classes=None if classes is None else np.asarray(classes),
        trials=int(manifest.get("trials", 0)),
        examples=list(manifest.get("examples") or []),
        data_fingerprint=manifest.get("data_fingerprint"),
        group_column=manifest.get("group_column"),
    )


def _check_versions(path: Path, saved: dict[str, str]) -> None:
    """Refuse members pickled under another major version of a library that stores them."""
    now = library_versions(_LIBRARIES)
    clashes = [
        f"{name} {saved[name]} (installed: {now[name]})"
        for name in _LIBRARIES
        if name in saved and _major(saved[name]) != _major(now[name])
    ]
    if clashes:
        raise ModelFormatError(
            f"{str(path)!r} was saved with {', '.join(clashes)}; its models cannot be read "
            "safely by these versions. Install the saved versions, or run the search again."
        )


def _major(version: str) -> str:
    return version.split(".", 1)[0]


def _plain(value: Any) -> Any:
    """``value`` with numpy scalars and arrays as JSON-ready Python values."""
    return json.loads(json.dumps(value, default=_as_python))


def _as_python(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)
