"""A :class:`~furima.safety.ProductMatcher` as files: trees as LightGBM text, the rest as arrays.

    matcher_trees.txt   the LightGBM booster (``Booster.model_to_string``, its text format)
    matcher_text.npz    TF-IDF terms and idf per view, sparse pair models' terms and weights

No pickle: the arrays load with ``allow_pickle=False``. Each file is written atomically; the
description returned by :func:`write_matcher` holds the threshold, the signal names, the
encoder and checksums, and is what :func:`read_matcher` checks the files against.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from furima._artifacts import library_versions, sha256, write_file_atomically
from furima.exceptions import ModelFormatError

if TYPE_CHECKING:
    import lightgbm

    from furima.features import Encoder

__all__ = ["FORMAT", "FORMAT_VERSION", "read_matcher", "write_matcher"]

FORMAT = "furima.product_matcher"
FORMAT_VERSION = 1
_TREES = "matcher_trees.txt"
_ARRAYS = "matcher_text.npz"
_DEFAULT_ENCODER = "all-minilm-l6-v2"


def write_matcher(
    folder: Path, booster: lightgbm.Booster, arrays: dict[str, np.ndarray], details: dict[str, Any]
) -> dict[str, Any]:
    """Write the files into ``folder`` and return the description that reads them back."""
    folder.mkdir(parents=True, exist_ok=True)
    text = booster.model_to_string().encode()
    write_file_atomically(folder / _TREES, lambda out: out.write(text))
    write_file_atomically(folder / _ARRAYS, lambda out: np.savez(out, allow_pickle=False, **arrays))
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "versions": library_versions(("lightgbm", "scikit-learn")),
        "files": {name: sha256(folder / name) for name in (_TREES, _ARRAYS)},
        **details,
    }


def read_matcher(
    folder: Path, description: Any, encoder: Encoder | None
) -> tuple[lightgbm.Booster, dict[str, np.ndarray], dict[str, Any]]:
    """The booster, arrays and checked description of a matcher written by :func:`write_matcher`."""
    import lightgbm

    checked = _checked_description(folder, description)
    _check_encoder(checked, encoder)
    for name, expected in checked["files"].items():
        file = folder / name
        if not file.is_file():
            raise ModelFormatError(f"{str(folder)!r} is incomplete: {name} is missing.")
        if sha256(file) != expected:
            raise ModelFormatError(
                f"{str(file)!r} does not match its checksum: the matcher's files were changed "
                "or damaged. Write the matcher again (fit, then write)."
            )
    booster = lightgbm.Booster(model_str=(folder / _TREES).read_text())
    with np.load(folder / _ARRAYS, allow_pickle=False) as stored:
        arrays = {key: stored[key] for key in stored.files}
    return booster, arrays, checked


def _checked_description(folder: Path, description: Any) -> dict[str, Any]:
    if not isinstance(description, dict) or description.get("format") != FORMAT:
        found = description.get("format") if isinstance(description, dict) else description
        raise ModelFormatError(
            f"The description for {str(folder)!r} is not a product matcher's (format "
            f"{found!r}, expected {FORMAT!r}). Pass the dict that ProductMatcher.write returned."
        )
    version = description.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ModelFormatError(
            f"The matcher in {str(folder)!r} has format version {version!r}; this furima reads "
            f"up to {FORMAT_VERSION}. Upgrade furima, or fit and write the matcher again."
        )
    missing = {"threshold", "embeddings", "params", "files"} - description.keys()
    if missing:
        raise ModelFormatError(
            f"The matcher description for {str(folder)!r} lacks {sorted(missing)}. Pass the "
            "dict that ProductMatcher.write returned, unchanged."
        )
    return description


def _check_encoder(description: dict[str, Any], encoder: Encoder | None) -> None:
    saved = description.get("encoder")
    if not description["embeddings"] or saved is None:
        return
    given = encoder.name if encoder is not None else _DEFAULT_ENCODER
    if given != saved:
        raise ModelFormatError(
            f"This matcher was fitted with the sentence encoder {saved!r}, but {given!r} would "
            "score with it. Pass that encoder: ProductMatcher.read(folder, description, "
            "encoder=...)."
        )
