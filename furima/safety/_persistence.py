"""Saving and loading a :class:`SafetyChecker` as one folder with a JSON manifest.

    manifest.json     format, versions, the policies, settings, each part's description,
                      checksums
    text/             the text checker (TF-IDF vocabularies, classifier weights, policy
                      embeddings, known violating listings)
    photos/           the catalog photo sample that unfamiliar photos are told by
    duplicates/       the catalog's photo hashes, photo vectors and text signatures
    same_product/     the product matcher, the catalog's texts and text vectors (with one)
    price/            the price model behind the price policy (a saved PriceSuggester)

Nothing is pickled. The folder is written beside ``path`` and swapped in atomically
(:mod:`furima._artifacts`): a crash mid-save leaves the previous checker loadable.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from furima._artifacts import (
    ArtifactKind,
    check_files,
    library_versions,
    read_manifest,
    save_atomically,
    stamp,
)
from furima.exceptions import ModelFormatError

if TYPE_CHECKING:
    from furima.safety._checker import SafetyChecker

__all__ = ["FORMAT", "load_checker", "save_checker"]

FORMAT = "furima.safety_checker"
FORMAT_VERSION = 1
KIND = ArtifactKind(
    format=FORMAT,
    version=FORMAT_VERSION,
    noun="furima safety checker",
    written_by="SafetyChecker.save() or `furima safety fit`",
    too_new="in format {saved}; this furima reads up to {supported}. Upgrade furima.",
    damaged="the checker is damaged; fit and save it again (`furima safety fit`).",
)
_TEXT, _PHOTOS, _DUPLICATES, _PRICE = "text", "photos", "duplicates", "price"
_SAME_PRODUCT = "same_product"


def save_checker(checker: SafetyChecker, path: Path) -> Path:
    """Write a fitted ``checker`` to the folder ``path`` atomically."""

    def write(folder: Path) -> None:
        parts: dict[str, Any] = {}
        for name, part in (
            (_TEXT, checker.text_),
            (_PHOTOS, checker.product_photos_),
            (_DUPLICATES, checker.duplicates_),
            (_SAME_PRODUCT, checker.same_product_),
        ):
            if part is not None:
                (folder / name).mkdir()
                parts[name] = part.write(folder / name)
        if checker.price_check_ is not None:
            checker.price_check_.model.save(folder / _PRICE)
            parts[_PRICE] = {}
        stamp(
            folder,
            {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "versions": library_versions(("numpy", "scikit-learn", "onnxruntime")),
                "policies": checker.policies.to_dict(),
                "currency": checker.currency,
                "n_catalog": checker.n_catalog_,
                "parts": parts,
            },
        )

    return save_atomically(path, write)


def load_checker(path: Path) -> SafetyChecker:
    """Load a checker written by :func:`save_checker`, checking its checksums."""
    from furima.safety._checker import SafetyChecker
    from furima.safety._policies import PolicySet

    manifest = read_manifest(path, KIND)
    check_files(path, manifest, KIND)
    parts = manifest["parts"]
    try:
        policies = PolicySet.from_dict(manifest["policies"])
    except (KeyError, TypeError, ValueError) as error:
        raise ModelFormatError(f"{path}: the saved policies cannot be read ({error}).") from None
    same_product = _read(path, parts, _SAME_PRODUCT)
    checker = SafetyChecker(
        policies,
        matcher=None if same_product is None else same_product.matcher,
        currency=manifest["currency"],
    )
    checker.same_product_ = same_product
    checker.text_ = _read(path, parts, _TEXT)
    checker.product_photos_ = _read(path, parts, _PHOTOS)
    checker.duplicates_ = _read(path, parts, _DUPLICATES)
    checker.price_check_ = None
    if _PRICE in parts:
        from furima.pricing import PriceSuggester
        from furima.safety._price_check import PriceAnomalyCheck

        model = PriceSuggester.load(path / _PRICE)
        checker.price_model = model
        checker.price_check_ = PriceAnomalyCheck(model, currency=checker.currency)
    checker.n_catalog_ = int(manifest["n_catalog"])
    return checker


def _read(path: Path, parts: dict[str, Any], name: str) -> Any:
    """The saved part ``name`` read back with its class's ``read``, or ``None``."""
    if name not in parts:
        return None
    if name == _TEXT:
        from furima.safety._text_checks import TextChecker as Part
    elif name == _PHOTOS:
        from furima.safety._photo_checks import ProductPhotoCheck as Part  # type: ignore[assignment]
    elif name == _DUPLICATES:
        from furima.safety._duplicates import DuplicateFinder as Part  # type: ignore[assignment]
    else:
        from furima.safety._same_product import SameProductCheck as Part  # type: ignore[assignment]
    return Part.read(path / name, parts[name])
