"""The ``credit`` task: applicants scored by the registered credit model (a scorecard, a
monotone LightGBM or their blend).

``POST /v1/credit:score`` takes 1 to 1,000 applicants, each a map of the scorecard's feature
names to values (an optional ``applicant_id`` comes back with its answer), and answers, in the
same order, each applicant's score in points, probability of default and reasons. A field that
is absent or ``null`` is scored in the scorecard's Missing bin and stated as a reason (the
applicant can supply it); it is never refused. A field name the scorecard does not know, or a
text where the scorecard bins numbers, is refused with a 422 that names it and lists the
fields the scorecard uses, because silently ignoring it would score the applicant on less
than was sent.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from furima.exceptions import DataError
from furima.serve._tasks import ServingTask

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["CREDIT_TASK", "Applicant", "CreditRequest", "CreditResponse", "typical_fields"]

_MAX_APPLICANTS = 1000
_MAX_FIELDS = 500

FieldValue = float | str | None


class Applicant(BaseModel):
    """One applicant: the scorecard's fields (absent or ``null`` ones are scored as missing)."""

    model_config = ConfigDict(extra="forbid")

    applicant_id: str | None = Field(None, max_length=200, description="Echoed in the answer.")
    fields: dict[str, FieldValue] = Field(
        max_length=_MAX_FIELDS,
        description="Feature name -> value; a number for a numeric feature, text for a "
        "categorical one, null (or leaving it out) when unknown.",
    )


class CreditRequest(BaseModel):
    """Applicants to score (1 to 1,000), answered in this order."""

    model_config = ConfigDict(extra="forbid")

    applicants: list[Applicant] = Field(min_length=1, max_length=_MAX_APPLICANTS)


class ApplicantScore(BaseModel):
    applicant_id: str | None
    score: float = Field(description="Points; higher is less risky.")
    probability_of_default: float = Field(description="The scorecard's own PD, in [0, 1].")
    reasons: list[str] = Field(
        description="Missing fields first, then the features that cost the most points."
    )


class CreditResponse(BaseModel):
    scores: list[ApplicantScore] = Field(description="One per applicant, in request order.")


def _load(path: Path) -> Any:
    from furima.risk._credit_models import load_credit_model

    return load_credit_model(path)


def _numeric_features(model: Any) -> set[str]:
    """The features the model takes as numbers (not categories)."""
    from furima.risk._credit_models import input_categories

    return {name for name, categories in input_categories(model).items() if categories is None}


def _check_fields(model: Any, request: CreditRequest) -> None:
    """Refuse field names the scorecard does not know and text sent for numeric features."""
    known = set(model.features_)
    numeric = _numeric_features(model)
    for position, applicant in enumerate(request.applicants):
        unknown = sorted(set(applicant.fields) - known)
        if unknown:
            raise DataError(
                f"applicant {position} has field(s) {unknown} that the scorecard does not use; "
                f"it scores on {sorted(known)} (leave a field out or send null when unknown)."
            )
        texts = sorted(
            name
            for name, value in applicant.fields.items()
            if name in numeric and isinstance(value, str)
        )
        if texts:
            raise DataError(
                f"applicant {position} sends text for the numeric field(s) {texts}; send a "
                "number, or null when unknown."
            )


def _category(value: FieldValue, text_categories: bool) -> object:
    """A categorical value as the scorecard's groups hold it (text when they hold text)."""
    if value is None or not text_categories or isinstance(value, str):
        return value
    return f"{value:g}" if isinstance(value, float) and value.is_integer() else str(value)


def _frame(model: Any, applicants: Sequence[Applicant]) -> pd.DataFrame:
    """One row per applicant, one column per scorecard feature (missing: NaN or None)."""
    import numpy as np
    import pandas as pd

    from furima.risk._credit_models import input_categories

    columns: dict[str, Any] = {}
    for name, categories in input_categories(model).items():
        values = [applicant.fields.get(name) for applicant in applicants]
        if categories is None:
            columns[name] = np.array([np.nan if v is None else v for v in values], dtype=float)
            continue
        text = all(isinstance(c, str) for c in categories)
        columns[name] = pd.Series([_category(v, text) for v in values], dtype=object)
    return pd.DataFrame(columns, index=range(len(applicants)))


def _predict(model: Any, requests: Sequence[CreditRequest]) -> list[dict[str, Any]]:
    for request in requests:
        _check_fields(model, request)
    applicants = [applicant for request in requests for applicant in request.applicants]
    scored = model.score(_frame(model, applicants))
    rows = [
        {
            "applicant_id": applicant.applicant_id,
            "score": float(score),
            "probability_of_default": float(probability),
            "reasons": list(reasons),
        }
        for applicant, score, probability, reasons in zip(
            applicants,
            scored["score"],
            scored["probability_of_default"],
            scored["reasons"],
            strict=True,
        )
    ]
    answers, start = [], 0
    for request in requests:
        end = start + len(request.applicants)
        answers.append({"scores": rows[start:end]})
        start = end
    return answers


def typical_fields(model: Any) -> dict[str, FieldValue]:
    """An applicant with a value the model knows for every feature: a middle training
    category, and for numbers a scorecard's middle split point (0 for the GBM)."""
    from furima.risk._credit_models import input_categories

    scorecard = getattr(model, "scorecard_", model)
    fields: dict[str, FieldValue] = {}
    for name, categories in input_categories(model).items():
        if categories:
            category = categories[len(categories) // 2]
            fields[name] = category if isinstance(category, str) else float(str(category))
            continue
        splits = scorecard.bins_[name].splits if hasattr(scorecard, "bins_") else None
        fields[name] = float(splits[len(splits) // 2]) if splits else 0.0
    return fields


def _smoke(model: Any) -> list[CreditRequest]:
    """An applicant with every field missing, and one in each feature's middle bin."""
    return [
        CreditRequest.model_validate(
            {
                "applicants": [
                    {"applicant_id": "smoke-all-missing", "fields": {}},
                    {"applicant_id": "smoke-typical", "fields": typical_fields(model)},
                ]
            }
        )
    ]


def _check(answer: dict[str, Any]) -> None:
    for row in answer["scores"]:
        who = row["applicant_id"]
        if not math.isfinite(row["score"]):
            raise ValueError(f"the smoke-test applicant {who!r} got a score that is not finite")
        probability = row["probability_of_default"]
        if not (math.isfinite(probability) and 0.0 <= probability <= 1.0):
            raise ValueError(
                f"the smoke-test applicant {who!r} got a probability of default {probability} "
                "outside [0, 1]"
            )
        if not isinstance(row["reasons"], list):
            raise ValueError(f"the smoke-test applicant {who!r} got reasons that are not a list")


def _compare(served: dict[str, Any], shadow: dict[str, Any]) -> float:
    """The mean absolute difference of the two answers' probabilities of default."""
    pairs = list(zip(served["scores"], shadow["scores"], strict=True))
    gaps = [
        abs(float(mine["probability_of_default"]) - float(theirs["probability_of_default"]))
        for mine, theirs in pairs
    ]
    return sum(gaps) / max(1, len(gaps))


CREDIT_TASK = ServingTask(
    name="credit",
    path="/v1/credit:score",
    summary="Credit applicants scored in points, with probability of default and reasons",
    request=CreditRequest,
    response=CreditResponse,
    load=_load,
    predict=_predict,
    smoke=_smoke,
    check=_check,
    compare=_compare,
    json_bytes=4_000_000,  # 1,000 applicants of ~20 fields each
)
