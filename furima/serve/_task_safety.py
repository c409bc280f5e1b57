"""The ``safety`` task: a listing checked against the marketplace's policies before it is posted.

``POST /v1/listings:check`` takes one listing (title, description, price, a photo as base64)
and answers the checker's decision, each policy's score and reasons with their evidence, and
``problems``: what a seller needs to change, in words a seller understands. The seller's page
calls it before a listing goes live.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from furima.serve._schemas import MAX_PHOTO_BASE64, checked_base64
from furima.serve._tasks import ServingTask

__all__ = ["SAFETY_TASK", "CheckRequest", "CheckResponse", "seller_problems"]

_COLUMNS = ("name", "description", "brand", "category", "price")


class CheckRequest(BaseModel):
    """One listing to check; it needs a title, a description or a photo."""

    model_config = ConfigDict(extra="forbid")

    listing_id: str | None = Field(None, max_length=200, description="The listing's id.")
    name: str | None = Field(None, max_length=500, description="The listing's title.")
    description: str | None = Field(None, max_length=10_000)
    brand: str | None = Field(None, max_length=200)
    category: str | None = Field(None, max_length=500, description="e.g. `Women/Tops/Blouse`.")
    price: float | None = Field(None, gt=0, description="The asking price.")
    photo: str | None = Field(
        None,
        max_length=MAX_PHOTO_BASE64,
        description="The main photo, base64-encoded JPEG, PNG or WebP bytes.",
    )

    @field_validator("photo")
    @classmethod
    def _base64(cls, value: str | None) -> str | None:
        return checked_base64(value)

    @model_validator(mode="after")
    def _something_to_check(self) -> CheckRequest:
        if (
            not (self.name or "").strip()
            and not (self.description or "").strip()
            and not self.photo
        ):
            raise ValueError("a listing needs a title, a description or a photo to be checked")
        return self


class EvidenceOut(BaseModel):
    kind: str
    detail: str
    listing_id: str | None = None
    similarity: float | None = None


class PolicyOut(BaseModel):
    policy: str
    score: float
    threshold: float
    decision: str
    reasons: list[str]
    evidence: list[EvidenceOut]


class ProblemOut(BaseModel):
    policy: str
    decision: str = Field(description="`block` or `review`.")
    message: str = Field(description="What is wrong, for the seller.")


class CheckResponse(BaseModel):
    listing_id: str | None
    decision: str = Field(description="`allow`, `review` or `block`: the most severe verdict.")
    risk: float
    uncertainty: float
    policies: list[PolicyOut]
    problems: list[ProblemOut]


def seller_problems(check: Any, descriptions: dict[str, str]) -> list[dict[str, str]]:
    """The flagged policies that block or hold the listing, most severe first, as sentences a
    seller can act on."""
    problems = []
    for verdict in check.flagged:
        reason = verdict.reasons[0] if verdict.reasons else descriptions.get(verdict.policy, "")
        lead = (
            "This listing cannot be posted"
            if verdict.decision == "block"
            else "Someone from our team will look at this listing before it goes live"
        )
        problems.append(
            {
                "policy": verdict.policy,
                "decision": str(verdict.decision),
                "message": f"{lead}: {reason}.".replace("..", "."),
            }
        )
    return problems


def _load(path: Path) -> Any:
    from furima.safety import SafetyChecker

    return SafetyChecker.load(path)


def _predict(model: Any, requests: Sequence[CheckRequest]) -> list[dict[str, Any]]:
    import pandas as pd

    rows = []
    for i, request in enumerate(requests):
        row: dict[str, Any] = {column: getattr(request, column) for column in _COLUMNS}
        row["listing_id"] = request.listing_id or f"request-{i}"
        row["photo"] = base64.b64decode(request.photo) if request.photo else None
        rows.append(row)
    descriptions = {policy.name: policy.description for policy in model.policies}
    answers = []
    for request, check in zip(requests, model.check(pd.DataFrame(rows)), strict=True):
        answer = check.to_dict()
        answer["listing_id"] = request.listing_id
        answer["problems"] = seller_problems(check, descriptions)
        answers.append(answer)
    return answers


def _smoke(model: Any) -> list[CheckRequest]:
    return [
        CheckRequest.model_validate(
            {"name": "Denim jacket", "description": "Size M, worn twice, no stains.", "price": 30}
        ),
        CheckRequest.model_validate(
            {"name": "Brand new phone, pay by bank transfer only, contact me on LINE"}
        ),
    ]


def _check(answer: dict[str, Any]) -> None:
    scores = [policy["score"] for policy in answer["policies"]]
    if not scores or not all(math.isfinite(s) and 0 <= s <= 1 for s in scores):
        raise ValueError(f"a smoke-test check gave scores outside [0, 1]: {scores}")


def _compare(served: dict[str, Any], shadow: dict[str, Any]) -> float:
    """Largest difference between the two versions' policy scores."""
    theirs = {p["policy"]: p["score"] for p in shadow["policies"]}
    return max(
        (abs(p["score"] - theirs.get(p["policy"], 0.0)) for p in served["policies"]), default=0.0
    )


SAFETY_TASK = ServingTask(
    name="safety",
    path="/v1/listings:check",
    summary="Check a listing against the marketplace's policies before it is posted",
    request=CheckRequest,
    response=CheckResponse,
    load=_load,
    predict=_predict,
    smoke=_smoke,
    check=_check,
    listing_key=lambda request: request.listing_id,
    compare=_compare,
    photo_in_body=True,
)
