"""Saving and loading price models as open formats with a JSON manifest.

A saved model is a folder::

    manifest.json         format, versions, parameters, metrics, data fingerprint, checksums
    arrays.npz            vocabularies, idf weights, coefficients, reference listings
                          (numpy, loaded with allow_pickle=False)
    stacker_<name>.txt    LightGBM text models (point, low, high)

``path`` itself is a symlink to a hidden version folder beside it; saving writes a new version
folder and swaps the link with one atomic rename (see :mod:`furima._artifacts`), so a crash
never leaves a half-written model, or no model, where a model is expected.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from furima import _artifacts as artifacts
from furima._artifacts import (
    ArtifactKind,
    check_files,
    library_versions,
    save_atomically,
    stamp,
)
from furima.exceptions import ModelFormatError
from furima.pricing._members import MEMBERS, PriceMember
from furima.pricing._photo_members import PhotoPrices
from furima.pricing._reference_members import NUMERIC_MEMBERS
from furima.pricing._stacker import LinearBlend, Stacker
from furima.pricing._suggester import PriceSuggester

__all__ = ["FORMAT", "FORMAT_VERSION", "load_model", "save_model"]

FORMAT = "furima.price_model"
FORMAT_VERSION = 2
_ARRAYS = "arrays.npz"
PRICE_MODEL = ArtifactKind(
    format=FORMAT,
    version=FORMAT_VERSION,
    noun="furima price model",
    written_by="`furima price fit` or PriceSuggester.save()",
    too_new="in model format {saved}; this furima reads format {supported} and older. Upgrade "
    "furima, or refit the model with this version (`furima price fit`).",
    damaged="the model is corrupt or was modified. Restore it or refit.",
)
_LIBRARIES = ("numpy", "scipy", "scikit-learn", "lightgbm", "pandas")
_PARAMS = (
    "coverage",
    "n_folds",
    "holdout_threshold",
    "holdout_rows",
    "n_comparables",
    "n_threads",
    "random_state",
)
_MEMBER_KINDS: dict[str, type[PriceMember]] = {
    **MEMBERS,
    **NUMERIC_MEMBERS,
    PhotoPrices.kind: PhotoPrices,
}


def _manifest(model: PriceSuggester, members: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "versions": library_versions(_LIBRARIES),
        "params": {name: getattr(model, name) for name in _PARAMS},
        "training": {
            **model.training_,
            "attribute_columns": model.attribute_columns_,
            "numeric_columns": model.numeric_columns_,
        },
        "data_fingerprint": model.data_fingerprint_,
        "metrics": model.metrics_,
        "members": members,
        "stacker": {
            "coverage": model.stacker_.coverage,
            "margin": model.stacker_.margin_,
            "rounds": model.stacker_.rounds_,
            "point_model": model.stacker_.point_model_,
            "linear_weight": model.stacker_.linear_weight_,
            "linear": model.stacker_.linear_.to_dict() if model.stacker_.linear_ else None,
            "models": sorted(model.stacker_.models_),
        },
    }


def _write(model: PriceSuggester, folder: Path) -> None:
    arrays: dict[str, np.ndarray] = {}
    members = []
    for i, member in enumerate(model.members_):
        meta, member_arrays = member.to_arrays()
        members.append({"kind": member.kind, "meta": meta})
        arrays.update({f"m{i}/{key}": value for key, value in member_arrays.items()})
    np.savez(folder / _ARRAYS, allow_pickle=False, **arrays)
    for name, booster in model.stacker_.models_.items():
        booster.save_model(str(folder / f"stacker_{name}.txt"))
    stamp(folder, _manifest(model, members))


def save_model(model: PriceSuggester, path: Path) -> Path:
    """Write ``model`` so that ``path`` names it, replacing any model there in one atomic step.

    The files go to a new hidden version folder beside ``path``; ``path`` is a symlink that is
    swapped to the new folder by a single rename, so readers see the old model or the new one,
    never a mix, and a crash at any point leaves the previous model loadable.
    """
    return save_atomically(path, lambda folder: _write(model, folder))


def read_manifest(path: Path) -> dict[str, Any]:
    """The manifest of a saved model, checked for format and version."""
    return artifacts.read_manifest(path, PRICE_MODEL)


def load_model(path: Path) -> PriceSuggester:
    """Rebuild a fitted :class:`PriceSuggester` from a saved folder."""
    import lightgbm

    manifest = read_manifest(path)
    check_files(path, manifest, PRICE_MODEL)
    model = PriceSuggester(**manifest["params"])
    with np.load(path / _ARRAYS, allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in archive.files}
    model.members_ = []
    for i, entry in enumerate(manifest["members"]):
        if entry["kind"] not in _MEMBER_KINDS:
            raise ModelFormatError(f"Unknown member kind {entry['kind']!r} in {str(path)!r}.")
        prefix = f"m{i}/"
        member_arrays = {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}
        model.members_.append(
            _MEMBER_KINDS[entry["kind"]].from_arrays(entry["meta"], member_arrays)
        )
    stacker = Stacker(coverage=manifest["stacker"]["coverage"])
    stacker.margin_ = float(manifest["stacker"]["margin"])
    stacker.rounds_ = int(manifest["stacker"].get("rounds", 0))  # absent before 0.1.0 final
    stacker.point_model_ = manifest["stacker"].get("point_model", "boosted")
    # format 1 had no weight: the linear blend, when saved, was the whole point estimate
    stacker.linear_weight_ = float(
        manifest["stacker"].get("linear_weight", float(stacker.point_model_ == "linear"))
    )
    if manifest["stacker"].get("linear"):
        stacker.linear_ = LinearBlend.from_dict(manifest["stacker"]["linear"])
    stacker.models_ = {
        name: lightgbm.Booster(model_file=str(path / f"stacker_{name}.txt"))
        for name in manifest["stacker"]["models"]
    }
    model.stacker_ = stacker
    model.attribute_columns_ = list(manifest["training"]["attribute_columns"])
    # models saved before numeric attributes have none: every attribute was text
    model.numeric_columns_ = list(manifest["training"].get("numeric_columns", []))
    model.training_ = {
        k: v
        for k, v in manifest["training"].items()
        if k not in ("attribute_columns", "numeric_columns")
    }
    model.metrics_ = manifest["metrics"]
    model.data_fingerprint_ = manifest["data_fingerprint"]
    return model
