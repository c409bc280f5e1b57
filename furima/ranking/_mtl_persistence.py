"""Saving and loading a :class:`~furima.ranking.MultiTaskRanker` as one folder.

    manifest.json      format, versions, settings, events, features, calibration methods and
                       their measured errors, training history, checksums
    network.onnx       the probability graph run by onnxruntime
    transform.npz      the input transform (numeric scaling, categorical vocabularies)
    calibration.npz    each head's calibrator parameters

No torch weights and no pickles: the folder scores on onnxruntime alone. It is written beside
``path`` and swapped in atomically (:mod:`furima._artifacts`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from furima._artifacts import (
    ArtifactKind,
    check_files,
    library_versions,
    read_arrays,
    read_manifest,
    save_atomically,
    stamp,
)
from furima.exceptions import ModelFormatError
from furima.ranking._calibration import Calibrator
from furima.ranking._mtl_features import FeatureTransform

if TYPE_CHECKING:
    from furima.ranking._multitask import MultiTaskRanker

__all__ = ["FORMAT", "load_multitask", "save_multitask"]

FORMAT = "furima.multitask_ranker"
FORMAT_VERSION = 1
KIND = ArtifactKind(
    format=FORMAT,
    version=FORMAT_VERSION,
    noun="furima multi-task ranker",
    written_by="MultiTaskRanker.save()",
    too_new="in format {saved}; this furima reads up to {supported}. Upgrade furima.",
    damaged="the ranker is damaged; fit and save it again.",
)
_FIX = "fit the ranker and save it again"
_TRANSFORM_KEYS = ("numeric", "categorical", "log", "centre", "scale", "indicate")
Model = TypeVar("Model", bound="MultiTaskRanker")


def save_multitask(model: MultiTaskRanker, path: Path) -> Path:
    """Write the fitted ``model`` to the folder ``path`` atomically."""

    def write(folder: Path) -> None:
        (folder / "network.onnx").write_bytes(model._onnx)
        np.savez(folder / "transform.npz", allow_pickle=False, **model.transform_.to_arrays())
        np.savez(
            folder / "calibration.npz",
            allow_pickle=False,
            **{e: model.calibrators_[e].parameters for e in model.events_},
        )
        manifest: dict[str, Any] = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "versions": library_versions(("numpy", "onnxruntime", "torch")),
            "settings": model.settings(),
            "events": list(model.events_),
            "features": list(model.features_),
            "calibration": {e: model.calibrators_[e].method for e in model.events_},
            "calibration_report": model.calibration_report_,
            "history": model.history_,
            "best_epochs": model.best_epochs_,
        }
        stamp(folder, manifest)

    return save_atomically(path, write)


def load_multitask(cls: type[Model], path: Path) -> Model:
    """The ranker saved in ``path`` by :func:`save_multitask`, its files checked."""
    manifest = read_manifest(path, KIND)
    check_files(path, manifest, KIND)
    try:
        events = tuple(str(e) for e in manifest["events"])
        settings = dict(manifest["settings"])
        if settings.get("events") is not None:
            settings["events"] = tuple(settings["events"])
        model = cls(**settings)
        methods = manifest["calibration"]
        model.features_ = tuple(str(f) for f in manifest["features"])
        model.history_ = list(manifest["history"])
        model.best_epochs_ = [int(epoch) for epoch in manifest["best_epochs"]]
        model.calibration_report_ = dict(manifest["calibration_report"])
    except (KeyError, TypeError, ValueError) as error:
        raise ModelFormatError(
            f"{str(path)!r} holds an incomplete multi-task ranker manifest ({error!r}); {_FIX}."
        ) from error
    transform = read_arrays(path / "transform.npz", _TRANSFORM_KEYS, fix=_FIX)
    parameters = read_arrays(path / "calibration.npz", events, fix=_FIX)
    try:
        model.transform_ = FeatureTransform.from_arrays(transform)
    except KeyError as error:
        raise ModelFormatError(f"{str(path)!r} lacks the vocabulary {error}; {_FIX}.") from error
    model.calibrators_ = {e: Calibrator(str(methods[e]), parameters[e]) for e in events}
    model._onnx = (path / "network.onnx").read_bytes()
    model._session = None
    model.events_ = events
    return model
