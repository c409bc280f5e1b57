"""Saving and loading the risk models as folders of open formats with a JSON manifest.

A :class:`~furima.risk.FraudScorer` folder::

    manifest.json     format, versions, settings, feature names, positive weight, best
                      iteration, cutoff, validation metrics, checksums
    booster.txt       the LightGBM model in its own text format
    history.parquet   the kept recent transactions (entity features of new payments)
    validation.npz    validation scores, labels and amounts (for ``cost_threshold``)

A :class:`~furima.risk.Scorecard` folder (optbinning only pickles, so its fitted content is
written out as tables and read back into a :class:`~furima.risk.LoadedScorecard`)::

    manifest.json     format, versions, settings, intercept, and per feature its bins
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

if TYPE_CHECKING:
    import pandas as pd

    from furima.risk._fraud import FraudScorer
    from furima.risk._points import BinRule, LoadedScorecard
    from furima.risk._reasons import FeaturePoints
    from furima.risk._scorecard import Scorecard

__all__ = ["load_fraud_scorer", "load_scorecard", "save_fraud_scorer", "save_scorecard"]

FRAUD_FORMAT = "furima.fraud_scorer"
SCORECARD_FORMAT = "furima.scorecard"
FORMAT_VERSION = 1
FRAUD_SETTINGS = (
    *("time", "label", "amount", "keys", "windows_days", "label_delay_days", "features"),
    *("model", "seed", "learning_rate", "max_rounds"),
)
SCORECARD_SETTINGS = ("target", "pdo", "base_score", "base_odds", "max_reasons")


def _kind(format: str, noun: str, written_by: str) -> ArtifactKind:
    return ArtifactKind(
        format=format,
        version=FORMAT_VERSION,
        noun=noun,
        written_by=written_by,
        too_new="in format {saved}; this furima reads up to {supported}. Upgrade furima.",
        damaged="the model is damaged; save or fit it again.",
    )


FRAUD_KIND = _kind(FRAUD_FORMAT, "furima fraud scorer", "FraudScorer.save()")
SCORECARD_KIND = _kind(SCORECARD_FORMAT, "furima scorecard", "Scorecard.save()")


def _open(path: str | Path, kind: ArtifactKind) -> tuple[Path, dict[str, Any]]:
    """The folder and its manifest, refused unless the format and every checksum hold."""
    folder = Path(path)
    manifest = read_manifest(folder, kind)
    check_files(folder, manifest, kind)
    return folder, manifest


# ------------------------------------------------------------------------------ fraud scorer
def save_fraud_scorer(scorer: FraudScorer, path: str | Path) -> Path:
    """Write a fitted ``scorer`` to the folder ``path`` atomically."""
    scorer._check_fitted()

    def write(folder: Path) -> None:
        scorer.booster_.save_model(str(folder / "booster.txt"), num_iteration=-1)
        scorer.history_.to_parquet(folder / "history.parquet", index=False)
        labels, amounts = scorer._validation_outcomes
        np.savez(
            folder / "validation.npz",
            scores=scorer.validation_scores_,
            labels=labels,
            amounts=amounts,
        )
        manifest: dict[str, Any] = {
            "format": FRAUD_FORMAT,
            "format_version": FORMAT_VERSION,
            "versions": library_versions(("lightgbm", "pandas", "pyarrow")),
            "settings": {name: getattr(scorer, name) for name in FRAUD_SETTINGS},
            "feature_names": list(scorer.feature_names_),
            "positive_weight": scorer.positive_weight_,
            "best_iteration": int(scorer.booster_.best_iteration),
            "cutoff": _cutoff_to_json(scorer.cutoff_),
            "validation": dataclasses.asdict(scorer.validation_),
        }
        stamp(folder, manifest)

    return save_atomically(Path(path), write)


def load_fraud_scorer(path: str | Path) -> FraudScorer:
    """Load a scorer written by :func:`save_fraud_scorer`; its scores equal the original's."""
    import lightgbm
    import pandas as pd

    from furima.risk._fraud import FraudScorer, FraudValidation

    folder, manifest = _open(path, FRAUD_KIND)
    try:
        settings = manifest["settings"]
        scorer = FraudScorer(**{name: settings[name] for name in FRAUD_SETTINGS})
        scorer.feature_names_ = list(manifest["feature_names"])
        scorer.positive_weight_ = float(manifest["positive_weight"])
        scorer.cutoff_ = _cutoff_from_json(manifest["cutoff"])
        scorer.validation_ = FraudValidation(**manifest["validation"])
        best_iteration = int(manifest["best_iteration"])
    except (KeyError, TypeError, ValueError) as error:
        raise ModelFormatError(
            f"{str(folder)!r} has an incomplete fraud scorer manifest ({error!r}); save it again."
        ) from error
    validation = read_arrays(
        folder / "validation.npz", ("scores", "labels", "amounts"), fix="save the scorer again"
    )
    booster = lightgbm.Booster(model_file=str(folder / "booster.txt"))
    booster.best_iteration = best_iteration
    scorer.booster_ = booster
    scorer.history_ = pd.read_parquet(folder / "history.parquet")
    scorer.validation_scores_ = validation["scores"]
    scorer._validation_outcomes = (validation["labels"], validation["amounts"])
    return scorer


def _cutoff_to_json(cutoff: pd.Timestamp | float) -> dict[str, Any]:
    if isinstance(cutoff, (int, float, np.number)):
        return {"kind": "number", "value": float(cutoff)}
    return {"kind": "timestamp", "value": cutoff.isoformat()}


def _cutoff_from_json(saved: dict[str, Any]) -> pd.Timestamp | float:
    import pandas as pd

    if saved["kind"] == "number":
        return float(saved["value"])
    return pd.Timestamp(saved["value"])


# --------------------------------------------------------------------------------- scorecard
def save_scorecard(card: Scorecard, path: str | Path) -> Path:
    """Write a fitted ``card``'s bins, points, WoE/IV tables and scaling to ``path``
    atomically, so :func:`load_scorecard` scores without optbinning's pickled objects."""
    card._check_fitted()

    def write(folder: Path) -> None:
        detailed = card._model_.table(style="detailed")
        detailed.assign(Bin=detailed["Bin"].map(_bin_text)).reset_index(drop=True).to_parquet(
            folder / "bins.parquet", index=False
        )
        card.information_values().to_frame().to_parquet(folder / "information_values.parquet")
        manifest: dict[str, Any] = {
            "format": SCORECARD_FORMAT,
            "format_version": FORMAT_VERSION,
            "versions": library_versions(("optbinning", "pandas", "pyarrow")),
            "settings": {name: getattr(card, name) for name in SCORECARD_SETTINGS},
            "intercept": float(card._model_.intercept_),
            "features": [_feature_to_json(card, feature) for feature in card.features_],
        }
        stamp(folder, manifest)

    return save_atomically(Path(path), write)


def load_scorecard(path: str | Path) -> LoadedScorecard:
    """Load a scorecard written by :func:`save_scorecard`, as a :class:`LoadedScorecard`."""
    import pandas as pd

    from furima.risk._points import LoadedScorecard

    folder, manifest = _open(path, SCORECARD_KIND)
    try:
        settings = manifest["settings"]
        features = manifest["features"]
        card = LoadedScorecard(
            bins=[_rule_from_json(feature) for feature in features],
            points=[_points_from_json(feature) for feature in features],
            intercept=float(manifest["intercept"]),
            scaling=(settings["pdo"], settings["base_score"], settings["base_odds"]),
            max_reasons=int(settings["max_reasons"]),
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
