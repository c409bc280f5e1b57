"""AutoML models, served under the name they were registered with (``fraud``, ``spam``, ...).

``POST /v1/<name>:predict`` takes one row of the columns the model learned from and answers
with the prediction: a value for regression, a score for ranking (higher first), a label (and
every class's probability) for classification. A fresh version must answer the example rows
saved with it before it takes traffic.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from furima.serve._tasks import ServingTask

__all__ = ["PredictRequest", "PredictResponse", "automl_task"]

Value = str | float | int | bool | None


class PredictRequest(BaseModel):
    """One row to score."""

    model_config = ConfigDict(extra="forbid")

    features: dict[str, Value] = Field(
        max_length=2_000,
        description="The row's columns by name, as in the training table; extra ones are "
        "ignored, missing ones are an error.",
    )
    listing_id: str | None = Field(None, max_length=200, description="For sticky routing.")


class PredictResponse(BaseModel):
    listing_id: str | None = Field(description="The request's listing id, if it gave one.")
    prediction: float | str | int | bool = Field(
        description="A value, a ranking score, or a class label."
    )
    probabilities: dict[str, float] | None = Field(
        description="Each class's probability (classification only)."
    )


def _load(path: Path) -> Any:
    from furima.automl import AutoMLResult

    return AutoMLResult.load(path)


def _predict(model: Any, requests: Sequence[PredictRequest]) -> list[dict[str, Any]]:
    import pandas as pd

    from furima.exceptions import DataError

    rows = pd.DataFrame([request.features for request in requests])
    missing = [c for c in model.columns if c not in rows.columns]
    if missing:
        raise DataError(
            f"features lacks {', '.join(missing)}; this model needs every one of: "
            f"{', '.join(model.columns)}."
        )
    rows = _typed(rows[model.columns].copy(), model.numeric_columns)
    predictions = model.predict(rows)
    scored = model.task in ("regression", "ranking")  # one number per row
    probabilities = None if scored else model.predict_proba(rows)
    answers = []
    for i, request in enumerate(requests):
        answer: dict[str, Any] = {
            "listing_id": request.listing_id,
            "prediction": _plain(predictions[i]),
            "probabilities": None,
        }
        if probabilities is not None:
            answer["probabilities"] = _by_class(model.classes, probabilities[i])
        answers.append(answer)
    return answers


def _typed(rows: Any, numeric: Sequence[str]) -> Any:
    """Numeric columns as floats (JSON null is missing); a value that is no number is an error."""
    import pandas as pd

    from furima.exceptions import DataError

    for column in numeric:
        values = pd.to_numeric(rows[column], errors="coerce")
        bad = values.isna() & rows[column].notna()
        if bad.any():
            raise DataError(
                f"features[{column!r}] must be a number or null; got {rows[column][bad].iloc[0]!r}."
            )
        rows[column] = values.astype("float64")
    return rows


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def _by_class(classes: Any, row: Any) -> dict[str, float]:
    if getattr(row, "ndim", 0) == 0:  # binary: P(positive)
        return {str(classes[0]): float(1 - row), str(classes[1]): float(row)}
    return {str(label): float(p) for label, p in zip(classes, row, strict=True)}


def _smoke(model: Any) -> list[PredictRequest]:
    if not model.examples:
        raise ValueError("the saved model has no example rows to check it with; save it again")
    return [PredictRequest.model_validate({"features": row}) for row in model.examples]


def _check(answer: dict[str, Any]) -> None:
    prediction = answer["prediction"]
    if isinstance(prediction, float) and not math.isfinite(prediction):
        raise ValueError(f"a smoke prediction is not finite: {prediction}")
    for label, p in (answer["probabilities"] or {}).items():
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"a smoke probability for {label!r} is outside [0, 1]: {p}")


def _compare(served: dict[str, Any], shadow: dict[str, Any]) -> float:
    """Regression: the absolute difference; classification: 1 when the labels differ."""
    first, second = served["prediction"], shadow["prediction"]
    if isinstance(first, int | float) and not isinstance(first, bool):
        return abs(float(first) - float(second))
    return float(first != second)


def automl_task(name: str) -> ServingTask:
    """The serving spec of the AutoML model registered as ``name``."""
    return ServingTask(
        name=name,
        path=f"/v1/{name}:predict",
        summary=f"Score one row with the AutoML model {name!r}",
        request=PredictRequest,
        response=PredictResponse,
        load=_load,
        predict=_predict,
        smoke=_smoke,
        check=_check,
        listing_key=lambda request: request.listing_id,
        compare=_compare,
    )
