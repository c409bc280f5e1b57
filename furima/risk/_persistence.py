"""Saving and loading the fraud scorer as a folder of open formats with a JSON manifest.

A :class:`~furima.risk.FraudScorer` folder::

    manifest.json     format, versions, settings, feature names, positive weight, best
                      iteration, cutoff, validation metrics, checksums
    booster.txt       model="lightgbm": the LightGBM model in its own text format
    automl/           model="automl": the AutoML result in its own format (its manifest and
                      members, see :mod:`furima.automl._persistence`)
    history.parquet   the kept recent transactions (entity features of new payments)
    validation.npz    validation scores, labels and amounts (for ``cost_threshold``)
    reference.parquet the drift reference: validation inputs and scores (``drift``)

Nothing of a LightGBM scorer is pickled; an AutoML scorer's members are, by the AutoML
engine's own format (joblib, refused when saved under other major library versions). Folders
are written beside ``path`` and swapped in atomically (:mod:`furima._artifacts`), so a failed
save leaves the previous model or nothing; every file, the AutoML subfolder's included, is
checksummed in the manifest.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from furima._artifacts import (
    MANIFEST,
    ArtifactKind,
    check_files,
    library_versions,
    read_arrays,
    read_manifest,
    save_atomically,
    sha256,
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
# settings added later, with the values older folders were fitted with
LATER_SETTINGS: dict[str, Any] = {
    "label_time": None,
    "families": None,
    "budget_s": 120.0,
    "max_trials": None,
}
AUTOML_FOLDER = "automl"
AUTOML_MANIFEST = f"{AUTOML_FOLDER}/{MANIFEST}"


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
        model = _write_model(scorer, folder)
        scorer.history_.to_parquet(folder / "history.parquet", index=False)
        scorer.reference_.to_parquet(folder / "reference.parquet", index=False)
        labels, amounts = scorer._validation_outcomes
        np.savez(
            folder / "validation.npz",
            scores=scorer.validation_scores_,
            labels=labels,
            amounts=amounts,
        )
        names = (*FRAUD_SETTINGS, *LATER_SETTINGS)
        manifest: dict[str, Any] = {
            "format": FRAUD_FORMAT,
            "format_version": FORMAT_VERSION,
            "versions": library_versions(("lightgbm", "pandas", "pyarrow")),
            "settings": {name: _plain(getattr(scorer, name)) for name in names},
            "feature_names": list(scorer.feature_names_),
            "cutoff": _cutoff_to_json(scorer.cutoff_),
            "validation": dataclasses.asdict(scorer.validation_),
            **model,
        }
        stamp(folder, manifest)

    return save_atomically(Path(path), write)


def load_fraud_scorer(path: str | Path) -> FraudScorer:
    """Load a scorer written by :func:`save_fraud_scorer`; its scores equal the original's."""
    import pandas as pd

    from furima.risk._fraud import FraudScorer, FraudValidation

    folder, manifest = open_model(path, FRAUD_KIND)
    try:
        settings = {**LATER_SETTINGS, **manifest["settings"]}
        names = (*FRAUD_SETTINGS, *LATER_SETTINGS)
        scorer = FraudScorer(**{name: settings[name] for name in names})
        scorer.feature_names_ = list(manifest["feature_names"])
        scorer.cutoff_ = _cutoff_from_json(manifest["cutoff"])
        scorer.validation_ = FraudValidation(**manifest["validation"])
        _read_model(scorer, folder, manifest)
    except (KeyError, TypeError, ValueError) as error:
        raise ModelFormatError(
            f"{str(folder)!r} has an incomplete fraud scorer manifest ({error!r}); save it again."
        ) from error
    validation = read_arrays(
        folder / "validation.npz", ("scores", "labels", "amounts"), fix="save the scorer again"
    )
    scorer.history_ = pd.read_parquet(folder / "history.parquet")
    scorer.reference_ = _reference(folder, scorer)
    scorer.validation_scores_ = validation["scores"]
    scorer._validation_outcomes = (validation["labels"], validation["amounts"])
    return scorer


def _write_model(scorer: FraudScorer, folder: Path) -> dict[str, Any]:
    """The model's files, and what the manifest says about them."""
    if scorer.model == "automl":
        from furima.automl._persistence import _write as write_automl

        (folder / AUTOML_FOLDER).mkdir()
        write_automl(scorer.automl_, folder / AUTOML_FOLDER)
        # stamp() skips files named manifest.json: checksum the AutoML one here
        return {"automl": AUTOML_FOLDER, "automl_manifest": sha256(folder / AUTOML_MANIFEST)}
    scorer.booster_.save_model(str(folder / "booster.txt"), num_iteration=-1)
    return {
        "positive_weight": scorer.positive_weight_,
        "best_iteration": int(scorer.booster_.best_iteration),
    }


def _read_model(scorer: FraudScorer, folder: Path, manifest: dict[str, Any]) -> None:
    if scorer.model == "automl":
        from furima.automl import AutoMLResult

        if sha256(folder / AUTOML_MANIFEST) != manifest["automl_manifest"]:
            raise ModelFormatError(
                f"{str(folder / AUTOML_MANIFEST)!r} does not match its checksum in the "
                f"manifest: {FRAUD_KIND.damaged}"
            )
        scorer.automl_ = AutoMLResult.load(folder / AUTOML_FOLDER)
        return
    import lightgbm

    scorer.positive_weight_ = float(manifest["positive_weight"])
    booster = lightgbm.Booster(model_file=str(folder / "booster.txt"))
    booster.best_iteration = int(manifest["best_iteration"])
    scorer.booster_ = booster


def _reference(folder: Path, scorer: FraudScorer) -> pd.DataFrame:
    """The drift reference; a folder saved before there was one gets an empty one (its
    ``drift`` then says to fit again)."""
    import pandas as pd

    from furima.risk._fraud_drift import SCORE

    file = folder / "reference.parquet"
    if file.is_file():
        return pd.read_parquet(file)
    return pd.DataFrame(columns=[*scorer.feature_names_, SCORE], dtype=np.float64)


def _plain(value: Any) -> Any:
    """Settings as JSON keeps them (tuples as lists)."""
    return list(value) if isinstance(value, tuple) else value


def _cutoff_to_json(cutoff: pd.Timestamp | float) -> dict[str, Any]:
    if isinstance(cutoff, (int, float, np.number)):
        return {"kind": "number", "value": float(cutoff)}
    return {"kind": "timestamp", "value": cutoff.isoformat()}


def _cutoff_from_json(saved: dict[str, Any]) -> pd.Timestamp | float:
    import pandas as pd

    if saved["kind"] == "number":
        return float(saved["value"])
    return pd.Timestamp(saved["value"])
