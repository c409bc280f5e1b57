"""Saving and loading a :class:`~furima.risk.CreditGBM` (and a ``CreditBlend``: a folder with
``scorecard/`` and ``gbm/`` in their own formats and a manifest of its settings) as a folder
of open formats::

    manifest.json   format "furima.credit_gbm", versions, settings (target, bad value,
                    scaling, reasons), features, each categorical feature's training
                    categories (in LightGBM's code order), monotone directions, the Platt
                    calibration, checksums
    booster.txt     the LightGBM model in its own text format

Nothing is pickled; the folder is written beside ``path`` and swapped in atomically
(:mod:`furima._artifacts`), so a failed save leaves the previous model or nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from furima._artifacts import library_versions, save_atomically, stamp
from furima.exceptions import ModelFormatError
from furima.risk._persistence import FORMAT_VERSION, open_model, risk_kind

if TYPE_CHECKING:
    from furima.risk._credit_gbm import CreditBlend, CreditGBM

__all__ = [
    "CREDIT_BLEND_FORMAT",
    "CREDIT_GBM_FORMAT",
    "load_credit_blend",
    "load_credit_gbm",
    "save_credit_blend",
    "save_credit_gbm",
]

CREDIT_GBM_FORMAT = "furima.credit_gbm"
CREDIT_GBM_SETTINGS = (
    *("target", "bad_value", "categorical", "pdo", "base_score", "base_odds", "max_reasons"),
    *("learning_rate", "num_leaves", "max_rounds", "seed"),
)
CREDIT_GBM_KIND = risk_kind(CREDIT_GBM_FORMAT, "furima credit GBM", "CreditGBM.save()")
CREDIT_BLEND_FORMAT = "furima.credit_blend"
CREDIT_BLEND_SETTINGS = (
    *("target", "bad_value", "categorical", "pdo", "base_score", "base_odds", "max_reasons"),
    "seed",
)
CREDIT_BLEND_KIND = risk_kind(CREDIT_BLEND_FORMAT, "furima credit blend", "CreditBlend.save()")


def save_credit_gbm(model: CreditGBM, path: str | Path) -> Path:
    """Write a fitted ``model`` to the folder ``path`` atomically."""
    model._check_fitted()
    return save_atomically(Path(path), lambda folder: write_credit_gbm(model, folder))


def write_credit_gbm(model: CreditGBM, folder: Path) -> None:
    """Write a fitted ``model`` into the existing, empty ``folder`` (no atomic swap)."""
    model.booster_.save_model(str(folder / "booster.txt"))
    settings = {name: plain(getattr(model, name)) for name in CREDIT_GBM_SETTINGS}
    manifest: dict[str, Any] = {
        "format": CREDIT_GBM_FORMAT,
        "format_version": FORMAT_VERSION,
        "versions": library_versions(("lightgbm", "pandas")),
        "settings": settings,
        "features": list(model.features_),
        "categories": {f: [plain(v) for v in c] for f, c in model.categories_.items()},
        "directions": dict(model.directions_),
        "calibration": {
            "slope": model.calibration_.slope,
            "intercept": model.calibration_.intercept,
        },
    }
    stamp(folder, manifest)


def load_credit_gbm(path: str | Path) -> CreditGBM:
    """Load a model written by :func:`save_credit_gbm`; its scores equal the original's."""
    import lightgbm

    from furima.risk._calibration import PlattScaling
    from furima.risk._credit_gbm import CreditGBM

    folder, manifest = open_model(path, CREDIT_GBM_KIND)
    try:
        settings = manifest["settings"]
        model = CreditGBM(**{name: settings[name] for name in CREDIT_GBM_SETTINGS})
        features = [str(f) for f in manifest["features"]]
        categories = {str(f): list(c) for f, c in manifest["categories"].items()}
        directions = {str(f): int(d) for f, d in manifest["directions"].items()}
        calibration = PlattScaling(**manifest["calibration"])
    except (KeyError, TypeError, ValueError) as error:
        raise ModelFormatError(
            f"{str(folder)!r} has an incomplete credit GBM manifest ({error!r}); save it again."
        ) from error
    booster = lightgbm.Booster(model_file=str(folder / "booster.txt"))
    return model._restore(features, categories, directions, calibration, booster)


def save_credit_blend(blend: CreditBlend, path: str | Path) -> Path:
    """Write a fitted ``blend`` to the folder ``path`` atomically: ``scorecard/`` and
    ``gbm/`` (each with its own manifest) and a manifest naming the blend's settings."""
    from furima.risk._scorecard_persistence import write_scorecard

    blend._check_fitted()

    def write(folder: Path) -> None:
        (folder / "scorecard").mkdir()
        write_scorecard(blend.scorecard_, folder / "scorecard")
        (folder / "gbm").mkdir()
        write_credit_gbm(blend.gbm_, folder / "gbm")
        manifest: dict[str, Any] = {
            "format": CREDIT_BLEND_FORMAT,
            "format_version": FORMAT_VERSION,
            "versions": library_versions(("lightgbm", "optbinning", "pandas")),
            "settings": {name: plain(getattr(blend, name)) for name in CREDIT_BLEND_SETTINGS},
        }
        stamp(folder, manifest)

    return save_atomically(Path(path), write)


def load_credit_blend(path: str | Path) -> CreditBlend:
    """Load a blend written by :func:`save_credit_blend`; its scores equal the original's."""
    from furima.risk._credit_gbm import CreditBlend
    from furima.risk._scorecard_persistence import load_scorecard

    folder, manifest = open_model(path, CREDIT_BLEND_KIND)
    try:
        settings = manifest["settings"]
        blend = CreditBlend(**{name: settings[name] for name in CREDIT_BLEND_SETTINGS})
    except (KeyError, TypeError, ValueError) as error:
        raise ModelFormatError(
            f"{str(folder)!r} has an incomplete credit blend manifest ({error!r}); save it again."
        ) from error
    blend.scorecard_ = load_scorecard(folder / "scorecard")
    blend.gbm_ = load_credit_gbm(folder / "gbm")
    return blend


def plain(value: Any) -> Any:
    """A JSON-ready copy of a setting: numpy scalars as Python ones, tuples as lists."""
    if hasattr(value, "item") and callable(value.item):
        return value.item()
    if isinstance(value, (tuple, list)):
        return [plain(v) for v in value]
    return value
