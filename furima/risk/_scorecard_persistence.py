"""Saving and loading a credit scorecard as a folder of open formats with a JSON manifest.

A :class:`~furima.risk.Scorecard` folder (optbinning only pickles, so its fitted content is
written out as tables and read back into a :class:`~furima.risk.LoadedScorecard`)::

    manifest.json     format, versions, settings (with the target and its bad value),
                      intercept points, calibration, and per feature its bins
                      (numeric split points or category groups), points per bin (regular,
                      Special, Missing), bin words, best bin; checksums
    bins.parquet      optbinning's detailed table: counts, event rate, WoE, IV, points
    information_values.parquet   the information value of every feature

Nothing is pickled; folders are written beside ``path`` and swapped in atomically
(:mod:`furima._artifacts`), so a failed save leaves the previous model or nothing.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from furima._artifacts import library_versions, save_atomically, stamp
from furima.exceptions import ModelFormatError
from furima.risk._credit_gbm_persistence import plain
from furima.risk._persistence import FORMAT_VERSION, open_model, risk_kind

if TYPE_CHECKING:
    from furima.risk._points import BinRule, LoadedScorecard
    from furima.risk._reasons import FeaturePoints
    from furima.risk._scorecard import Scorecard

__all__ = ["SCORECARD_FORMAT", "load_scorecard", "save_scorecard", "write_scorecard"]

SCORECARD_FORMAT = "furima.scorecard"
SCORECARD_SETTINGS = ("target", "bad_value", "pdo", "base_score", "base_odds", "max_reasons")
SCORECARD_KIND = risk_kind(SCORECARD_FORMAT, "furima scorecard", "Scorecard.save()")


def save_scorecard(card: Scorecard, path: str | Path) -> Path:
    """Write a fitted ``card``'s bins, points, WoE/IV tables and scaling to ``path``
    atomically, so :func:`load_scorecard` scores without optbinning's pickled objects."""
    card._check_fitted()
    return save_atomically(Path(path), lambda folder: write_scorecard(card, folder))


def write_scorecard(card: Scorecard, folder: Path) -> None:
    """Write a fitted ``card`` into the existing, empty ``folder`` (no atomic swap)."""
    detailed = card._points_table("detailed")
    detailed.assign(Bin=detailed["Bin"].map(_bin_text)).reset_index(drop=True).to_parquet(
        folder / "bins.parquet", index=False
    )
    card.information_values().to_frame().to_parquet(folder / "information_values.parquet")
    manifest: dict[str, Any] = {
        "format": SCORECARD_FORMAT,
        "format_version": FORMAT_VERSION,
        "versions": library_versions(("optbinning", "pandas", "pyarrow")),
        "settings": {name: plain(getattr(card, name)) for name in SCORECARD_SETTINGS},
        "intercept": card.intercept_,
        "calibration": dataclasses.asdict(card.calibration_),
        "features": [_feature_to_json(card, feature) for feature in card.features_],
    }
    stamp(folder, manifest)


def load_scorecard(path: str | Path) -> LoadedScorecard:
    """Load a scorecard written by :func:`save_scorecard`, as a :class:`LoadedScorecard`."""
    import pandas as pd

    from furima.risk._points import LoadedScorecard

    folder, manifest = open_model(path, SCORECARD_KIND)
    try:
        settings = manifest["settings"]
        features = manifest["features"]
        card = LoadedScorecard(
            bins=[_rule_from_json(feature) for feature in features],
            points=[_points_from_json(feature) for feature in features],
            intercept=float(manifest["intercept"]),
            scaling=(settings["pdo"], settings["base_score"], settings["base_odds"]),
            max_reasons=int(settings["max_reasons"]),
            outcome=(settings["target"], settings.get("bad_value")),  # older folders: None
            detailed=pd.read_parquet(folder / "bins.parquet"),
            information_values=pd.read_parquet(folder / "information_values.parquet").iloc[:, 0],
        )
    except (KeyError, TypeError, ValueError, IndexError) as error:
        raise ModelFormatError(
            f"{str(folder)!r} has an incomplete scorecard manifest ({error!r}); save it again."
        ) from error
    return card


def _bin_text(value: object) -> str:
    """A bin as text: a numeric interval stays optbinning's, a category group is JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(np.asarray(value).tolist())


def _feature_to_json(card: Scorecard, feature: str) -> dict[str, Any]:
    points = card.points_[feature]
    described: dict[str, Any] = {
        "name": feature,
        "points": points.points.tolist(),
        "labels": list(points.labels),
        "best": float(points.best),
        "best_label": points.best_label,
    }
    binned = card._model_.binning_process_.get_binned_variable(feature)
    if feature in card.categorical_:
        described["groups"] = [np.asarray(group).tolist() for group in binned.splits]
    else:
        described["splits"] = np.asarray(binned.splits, dtype=np.float64).tolist()
    return described


def _rule_from_json(described: dict[str, Any]) -> BinRule:
    from furima.risk._points import BinRule

    if "groups" in described:
        groups = tuple(tuple(group) for group in described["groups"])
        return BinRule(described["name"], groups=groups)
    return BinRule(described["name"], splits=tuple(float(x) for x in described["splits"]))


def _points_from_json(described: dict[str, Any]) -> FeaturePoints:
    from furima.risk._reasons import FeaturePoints

    points = np.asarray(described["points"], dtype=np.float64)
    labels = tuple(described["labels"])
    if len(points) != len(labels):
        raise ValueError(
            f"feature {described['name']!r} has {len(points)} points but {len(labels)} bin labels"
        )
    return FeaturePoints(
        described["name"], labels, points, float(described["best"]), described["best_label"]
    )
