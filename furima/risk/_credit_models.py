"""The three credit models behind one door: build one by name, load any saved one, and say
what each of its inputs takes (a number, or one of the categories seen in training).

The CLI and the ``credit`` serving task use these, so a scorecard, a monotone LightGBM and
their blend are fitted, saved, registered, scored and served the same way.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from furima.exceptions import DataError, ModelFormatError

if TYPE_CHECKING:
    from furima.risk._credit_gbm import CreditBlend, CreditGBM
    from furima.risk._points import LoadedScorecard
    from furima.risk._scorecard import Scorecard

    UnfittedCreditModel = Scorecard | CreditGBM | CreditBlend
    CreditModel = Scorecard | LoadedScorecard | CreditGBM | CreditBlend

__all__ = ["CREDIT_MODELS", "credit_model", "input_categories", "load_credit_model"]

CREDIT_MODELS = ("scorecard", "gbm", "blend")
"""``scorecard``: points per bin, a table a regulator reads; ``gbm``: monotone LightGBM;
``blend``: the two averaged (the best measured ranking)."""


def credit_model(kind: str, target: str, **settings: Any) -> UnfittedCreditModel:
    """An unfitted credit model of ``kind`` (one of :data:`CREDIT_MODELS`)."""
    from furima.risk._credit_gbm import CreditBlend, CreditGBM
    from furima.risk._scorecard import Scorecard

    builders: dict[str, Any] = {"scorecard": Scorecard, "gbm": CreditGBM, "blend": CreditBlend}
    if kind not in builders:
        raise DataError(f"unknown credit model {kind!r}; choose one of {', '.join(CREDIT_MODELS)}.")
    model: UnfittedCreditModel = builders[kind](target, **settings)
    return model


def load_credit_model(path: str | Path) -> CreditModel:
    """Load a scorecard, credit GBM or blend saved by its ``save``, by the folder's format."""
    from furima.risk._credit_gbm import CreditBlend, CreditGBM
    from furima.risk._credit_gbm_persistence import CREDIT_BLEND_FORMAT, CREDIT_GBM_FORMAT
    from furima.risk._scorecard import Scorecard
    from furima.risk._scorecard_persistence import SCORECARD_FORMAT

    loaders: dict[str, Any] = {
        SCORECARD_FORMAT: Scorecard.load,
        CREDIT_GBM_FORMAT: CreditGBM.load,
        CREDIT_BLEND_FORMAT: CreditBlend.load,
    }
    folder = Path(path)
    try:
        form = json.loads((folder / "manifest.json").read_text()).get("format")
    except (OSError, ValueError, AttributeError) as error:
        raise ModelFormatError(
            f"{str(folder)!r} is not a saved credit model (no readable manifest.json: {error}); "
            "save one with `furima risk credit fit`."
        ) from None
    if form not in loaders:
        raise ModelFormatError(
            f"{str(folder)!r} holds a {form!r} model, not a credit model "
            f"({', '.join(sorted(loaders))})."
        )
    model: CreditModel = loaders[form](folder)
    return model


def input_categories(model: CreditModel) -> dict[str, list[object] | None]:
    """Each input feature of a fitted or loaded credit model: the categories it was trained
    on, or ``None`` for a numeric feature."""
    from furima.risk._credit_gbm import CreditBlend, CreditGBM
    from furima.risk._points import LoadedScorecard

    if isinstance(model, CreditBlend):
        model = model.gbm_
    if isinstance(model, CreditGBM):
        return {f: model.categories_.get(f) for f in model.features_}
    if isinstance(model, LoadedScorecard):
        return {
            f: None if rule.groups is None else [c for group in rule.groups for c in group]
            for f, rule in model.bins_.items()
        }
    return {
        f: None if f not in model.categorical_ else _scorecard_categories(model, f)
        for f in model.features_
    }


def _scorecard_categories(model: Scorecard, feature: str) -> list[object]:
    splits = model._model_.binning_process_.get_binned_variable(feature).splits
    return [category for group in splits for category in group]
