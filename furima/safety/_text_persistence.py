"""Saving a fitted text checker as one ``.npz`` of arrays plus a JSON-ready description.

The description (policies, parameters, modes, per-policy calibration and metrics, the
array file's checksum) goes into the caller's manifest; the arrays (TF-IDF terms and idf
weights, classifier weights, zero-shot directions and percentile tables, example and known
violation vectors, listing ids) load with ``allow_pickle=False``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from furima._artifacts import sha256, write_file_atomically
from furima.exceptions import ModelFormatError
from furima.safety._policies import PolicySet
from furima.safety._text_models import SupervisedModel, TextFeatures, pack_strings, unpack_strings
from furima.safety._zero_shot import ZeroShotModel

if TYPE_CHECKING:
    from furima.safety._text_checks import TextChecker

__all__ = ["FORMAT", "FORMAT_VERSION", "read_checker", "write_checker"]

FORMAT = "furima.safety.text_checks"
FORMAT_VERSION = 1
_FILE = "text_checks.npz"
_PARAMS = (
    "min_labels",
    "sentence_weight",
    "zero_shot_rate",
    "Cs",
    "n_folds",
    "max_known",
    "random_state",
)


def write_checker(checker: TextChecker, folder: Path) -> dict[str, Any]:
    arrays: dict[str, np.ndarray] = {}
    if checker.features_ is not None:
        arrays.update({f"features/{k}": v for k, v in checker.features_.to_arrays().items()})
    for name, model in checker.supervised_.items():
        arrays[f"supervised/{name}/coef"] = model.coef
    for name, zero_shot in checker.zero_shot_.items():
        arrays.update({f"zero_shot/{name}/{k}": v for k, v in zero_shot.to_arrays().items()})
    for name, vectors in checker.examples_.items():
        arrays[f"examples/{name}"] = vectors
    for name, (vectors, ids) in checker.known_.items():
        data, offsets = pack_strings(ids)
        arrays.update({f"known/{name}/vectors": vectors, f"known/{name}/ids": data})
        arrays[f"known/{name}/offsets"] = offsets
    folder.mkdir(parents=True, exist_ok=True)
    write_file_atomically(folder / _FILE, lambda out: np.savez(out, allow_pickle=False, **arrays))
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "file": _FILE,
        "sha256": sha256(folder / _FILE),
        "encoder": getattr(checker._encoder(), "name", type(checker.encoder).__name__),
        "params": {name: _plain(getattr(checker, name)) for name in _PARAMS},
        "policies": checker.policies.to_dict(),
        "modes": dict(checker.modes_),
        "supervised": {name: model.to_meta() for name, model in checker.supervised_.items()},
        "zero_shot": {name: {"rate": model.rate} for name, model in checker.zero_shot_.items()},
        "examples": sorted(checker.examples_),
        "known": sorted(checker.known_),
    }


def read_checker(
    cls: type[TextChecker], folder: Path, description: dict[str, Any], encoder: Any
) -> TextChecker:
    arrays = _arrays(folder, description)
    params = dict(description["params"])
    params["Cs"] = tuple(params["Cs"])
    checker = cls(PolicySet.from_dict(description["policies"]), encoder=encoder, **params)
    _check_encoder(checker, description)
    checker.modes_ = dict(description["modes"])
    checker.features_ = None
    if description["supervised"]:
        features = {
            k[len("features/") :]: v for k, v in arrays.items() if k.startswith("features/")
        }
        checker.features_ = TextFeatures.from_arrays(checker.sentence_weight, features)
    checker.supervised_ = {
        name: SupervisedModel.from_meta(meta, arrays[f"supervised/{name}/coef"])
        for name, meta in description["supervised"].items()
    }
    checker.zero_shot_ = {
        name: ZeroShotModel.from_arrays(meta, _under(arrays, f"zero_shot/{name}/"))
        for name, meta in description["zero_shot"].items()
    }
    checker.examples_ = {name: arrays[f"examples/{name}"] for name in description["examples"]}
    checker.known_ = {
        name: (
            arrays[f"known/{name}/vectors"],
            unpack_strings(arrays[f"known/{name}/ids"], arrays[f"known/{name}/offsets"]),
        )
        for name in description["known"]
    }
    return checker


def _arrays(folder: Path, description: dict[str, Any]) -> dict[str, np.ndarray]:
    if description.get("format") != FORMAT:
        raise ModelFormatError(
            f"not a furima text checker description (format {description.get('format')!r}); "
            "pass the dict that TextChecker.write() returned."
        )
    if int(description.get("format_version", 0)) > FORMAT_VERSION:
        raise ModelFormatError(
            f"the text checker was saved in format {description['format_version']}; this furima "
            f"reads format {FORMAT_VERSION} and older. Upgrade furima, or refit the checker."
        )
    path = folder / description["file"]
    if not path.is_file():
        raise ModelFormatError(
            f"the text checker's file {str(path)!r} is missing; refit the checker."
        )
    if sha256(path) != description["sha256"]:
        raise ModelFormatError(
            f"the text checker's file {str(path)!r} does not match its checksum; it is corrupt or "
            "was modified. Restore it or refit the checker."
        )
    with np.load(path, allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files}


def _check_encoder(checker: TextChecker, description: dict[str, Any]) -> None:
    encoder = checker._encoder()
    name = getattr(encoder, "name", type(encoder).__name__)
    if name != description["encoder"]:
        raise ModelFormatError(
            f"the text checker was fitted with sentence encoder {description['encoder']!r}, but "
            f"{name!r} was given; pass the same encoder, or none for the default."
        )


def _under(arrays: dict[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    return {key[len(prefix) :]: value for key, value in arrays.items() if key.startswith(prefix)}


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value
