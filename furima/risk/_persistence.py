"""Saving and loading the fraud scorer as a folder of open formats with a JSON manifest.

A :class:`~furima.risk.FraudScorer` folder::

    manifest.json     format, versions, settings, feature names, positive weight, best
                      iteration, cutoff, validation metrics, checksums
    booster.txt       the LightGBM model in its own text format
    history.parquet   the kept recent transactions (entity features of new payments)
    validation.npz    validation scores, labels and amounts (for ``cost_threshold``)

Nothing is pickled; folders are written beside ``path`` and swapped in atomically
(:mod:`furima._artifacts`), so a failed save leaves the previous model or nothing.
"""

from __future__ import annotations

import dataclasses
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

__all__ = ["FORMAT_VERSION", "load_fraud_scorer", "open_model", "risk_kind", "save_fraud_scorer"]

FRAUD_FORMAT = "furima.fraud_scorer"
FORMAT_VERSION = 1
FRAUD_SETTINGS = (
    *("time", "label", "amount", "keys", "windows_days", "label_delay_days", "features"),
    *("model", "seed", "learning_rate", "max_rounds"),
)


def risk_kind(format: str, noun: str, written_by: str) -> ArtifactKind:
    return ArtifactKind(
        format=format,
        version=FORMAT_VERSION,
        noun=noun,
        written_by=written_by,
        too_new="in format {saved}; this furima reads up to {supported}. Upgrade furima.",
        damaged="the model is damaged; save or fit it again.",
    )


FRAUD_KIND = risk_kind(FRAUD_FORMAT, "furima fraud scorer", "FraudScorer.save()")


def open_model(path: str | Path, kind: ArtifactKind) -> tuple[Path, dict[str, Any]]:
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

    folder, manifest = open_model(path, FRAUD_KIND)
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
