"""The ``fraud`` task: payments scored by the registered :class:`~furima.risk.FraudScorer`.

``POST /v1/fraud:score`` takes 1 to 1,000 transactions, each with the columns the served
scorer was fitted on (its time, amount, entity keys and extra features, by their names), and
answers each one's probability of fraud and, unless ``reasons`` is false, the three features
that moved it most, in request order. A transaction missing a column the model needs, or with
a time that cannot be parsed, is refused with a 422 that names the transaction and the field.

Each request is scored on its own against the history kept in the model: the transactions of
one request count as each other's recent history (a card paying twice in a minute), those of
two requests batched together do not. Once scored, a request's transactions are remembered
(:meth:`~furima.risk.FraudScorer.remember`): they join the model's history, so the next
payment of the same card or terminal counts them (only when it is strictly later), and a
retried payment (same keys, time and amount) is not counted twice. The smoke requests a
version answers before taking traffic are not remembered.

That memory lives in the serving process only: each worker process remembers what it served
(a card paying through two workers is half-known to each), and a restart, or a version loaded
again (a rollback to a version no longer live), starts from the history saved with the
version, forgetting what was served since. A new version starts from its own saved history,
not from its predecessor's memory; while a challenger takes a canary share, each version
remembers only the payments it scored (a shadow challenger also those it scored in shadow).
Memory within the entity features' reach (the longest window plus the label delay) is kept;
older rows are dropped as it grows.

``GET /v1/fraud:drift`` says how far the inputs and scores of the latest served transactions
(the last 10,000 scored by the live champion since it was loaded; a new version starts a fresh
window) moved from the validation sample kept in the model: one PSI and band per model input
and for the score. Each worker process keeps its own window.
"""

from __future__ import annotations

import asyncio
import math
import threading
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from furima.exceptions import DataError, SchemaError
from furima.risk._fraud_drift import MIN_DRIFT_ROWS, RecentWindow, drift_table
from furima.serve._errors import RequestProblem
from furima.serve._schemas import ErrorResponse
from furima.serve._tasks import ServingTask

if TYPE_CHECKING:
    import pandas as pd
    from fastapi import APIRouter

    from furima.serve._deployments import TaskSlot

__all__ = ["FRAUD_TASK", "WINDOW_SIZE", "FraudBody", "FraudResponse", "served_window"]

_MAX_TRANSACTIONS = 1000
WINDOW_SIZE = 10_000
"""Latest served transactions per loaded version that ``GET /v1/fraud:drift`` measures."""
_ID = "transaction_id"
Value = str | float | int | None


class FraudBody(BaseModel):
    """Transactions to score, each a mapping of the served model's columns to values."""

    model_config = ConfigDict(extra="forbid")

    transactions: list[dict[str, Value]] = Field(
        min_length=1,
        max_length=_MAX_TRANSACTIONS,
        description="1 to 1,000 payments: `transaction_id` (optional), the model's time "
        "column (ISO datetime or seconds), amount, entity keys and extra features.",
    )
    reasons: bool = Field(True, description="Explain each score by its top three features.")
    _record: bool = PrivateAttr(True)  # False for smoke requests: not in drift nor memory


class ScoredTransaction(BaseModel):
    transaction_id: str | None = Field(description="The request's id, if it gave one.")
    score: float = Field(description="Probability of fraud, in [0, 1].")
    reasons: list[str] = Field(
        description="Top features as `name = value (+log-odds)`; empty when not asked for."
    )


class FraudResponse(BaseModel):
    scores: list[ScoredTransaction] = Field(description="One per transaction, in request order.")


def _load(path: Path) -> Any:
    from furima.risk import FraudScorer

    return FraudScorer.load(path)


def _predict(model: Any, requests: Sequence[FraudBody]) -> list[dict[str, Any]]:
    return [_score_one(model, request) for request in requests]


def _score_one(model: Any, request: FraudBody) -> dict[str, Any]:
    frame = _frame(model, request.transactions)
    found, reasons, inputs = model.score_rows(frame, reasons=request.reasons)
    if request._record:
        served_window(model).add(inputs, found)
        model.remember(frame)  # thread-safe: the scorer locks its history
    if reasons is None:
        reasons = [[] for _ in range(len(frame))]
    scores = []
    for row, score, why in zip(request.transactions, found, reasons, strict=True):
        given = row.get(_ID)
        scores.append(
            {
                "transaction_id": None if given is None else str(given),
                "score": float(score),
                "reasons": list(why),
            }
        )
    return {"scores": scores}


def _frame(model: Any, rows: list[dict[str, Value]]) -> pd.DataFrame:
    """The transactions as the table ``model.score`` takes, refusing what it cannot use."""
    import pandas as pd

    needed = [model.time, model.amount, *model.keys, *model.features]
    for i, row in enumerate(rows):
        missing = [name for name in needed if name not in row or _absent(model, name, row)]
        if missing:
            raise SchemaError(
                f"transactions[{i}] lacks {', '.join(repr(m) for m in missing)}; this model "
                f"needs every transaction to give: {', '.join(needed)} (features may be null)"
            )
    raw = {name: pd.Series([row.get(name) for row in rows], dtype=object) for name in needed}
    kept = model.history_dtypes_  # not history_: that would fold the memory in
    columns = {model.time: _times(model.time, kept[model.time], raw[model.time])}
    for name in (model.amount, *model.features):
        columns[name] = _numbers(raw[name], name)
    for key in model.keys:
        columns[key] = _keys_like(kept[key], raw[key].rename(key))
    return pd.DataFrame(columns)  # one construction: a served payment's cost is mostly pandas


def _absent(model: Any, name: str, row: dict[str, Value]) -> bool:
    """A null is only allowed for extra features (the model treats them as missing)."""
    return row.get(name) is None and name not in model.features


def _times(name: str, kept: Any, values: pd.Series) -> pd.Series:
    """Request times in the kind of the kept history: datetimes (UTC) or seconds."""
    import pandas as pd

    if pd.api.types.is_numeric_dtype(kept):
        parsed = pd.to_numeric(values, errors="coerce")
    else:
        numbers = values.map(lambda v: isinstance(v, int | float))
        parsed = pd.to_datetime(values.where(~numbers), errors="coerce", utc=True, format="mixed")
        seconds = pd.to_numeric(values.where(numbers), errors="coerce")  # epoch seconds
        parsed = parsed.fillna(pd.to_datetime(seconds, unit="s", utc=True))
        if getattr(kept, "tz", None) is None:
            parsed = parsed.dt.tz_convert(None)
    _refuse(parsed.isna(), values, name, "a datetime (ISO 8601) or seconds")
    return parsed


def _numbers(values: pd.Series, name: str) -> pd.Series:
    import pandas as pd

    parsed = pd.to_numeric(values, errors="coerce").astype("float64")
    _refuse(parsed.isna() & values.notna(), values, name, "a number")
    return parsed


def _keys_like(kept: Any, values: pd.Series) -> pd.Series:
    """Entity ids in the history's type, so `"12"` and `12` are the same card."""
    import pandas as pd

    if pd.api.types.is_numeric_dtype(kept):
        parsed = pd.to_numeric(values, errors="coerce")
        _refuse(parsed.isna(), values, str(values.name), "an id like the model's (a number)")
        return parsed.astype(kept)
    return values.astype(str)


def _refuse(bad: pd.Series, values: pd.Series, name: str, wanted: str) -> None:
    if bad.any():
        first = int(bad.to_numpy().nonzero()[0][0])
        raise DataError(
            f"transactions[{first}].{name} must be {wanted}; got {values.iloc[first]!r}"
        )


def _smoke(model: Any) -> list[FraudBody]:
    """The last two payments of the model's own history, with and without reasons."""
    recent = model.history_.tail(2)
    rows = []
    for _, row in recent.iterrows():
        transaction: dict[str, Value] = {name: _plain(row[name]) for name in model.keys}
        transaction[model.time] = _plain(row[model.time])
        transaction[model.amount] = float(row[model.amount])
        transaction.update({name: None for name in model.features})  # not kept in history
        rows.append(transaction)
    explained = bool(getattr(model, "gives_reasons", True))
    bodies = [
        FraudBody.model_validate({"transactions": rows, "reasons": explained}),
        FraudBody.model_validate({"transactions": rows[-1:], "reasons": False}),
    ]
    for body in bodies:
        body._record = False
    return bodies


def _plain(value: Any) -> Value:
    """A history value as JSON would carry it."""
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    if hasattr(value, "item"):
        value = value.item()
    return value if isinstance(value, str | float | int) else str(value)


def _check(answer: dict[str, Any]) -> None:
    scores = [row["score"] for row in answer["scores"]]
    if not scores or not all(math.isfinite(s) and 0.0 <= s <= 1.0 for s in scores):
        raise ValueError(f"smoke-test fraud scores are not all finite in [0, 1]: {scores}")


def _compare(served: dict[str, Any], shadow: dict[str, Any]) -> float:
    """Largest difference between the two versions' scores of the same transactions."""
    pairs = zip(served["scores"], shadow["scores"], strict=True)
    return max((abs(a["score"] - b["score"]) for a, b in pairs), default=0.0)


_WINDOWS: weakref.WeakKeyDictionary[Any, RecentWindow] = weakref.WeakKeyDictionary()
_WINDOWS_LOCK = threading.Lock()


def served_window(model: Any) -> RecentWindow:
    """The latest transactions ``model`` (one loaded version) served: inputs and scores."""
    with _WINDOWS_LOCK:
        window = _WINDOWS.get(model)
        if window is None:
            window = _WINDOWS[model] = RecentWindow(model.feature_names_, WINDOW_SIZE)
        return window


_NOT_READY = {"model": ErrorResponse, "description": "No fraud model is loaded yet."}
_TOO_FEW = {
    "model": ErrorResponse,
    "description": "Too few transactions served by this version yet (or no reference kept).",
}


def fraud_routes(slot: TaskSlot) -> APIRouter:
    """``GET /v1/fraud:drift``: PSI of the live version's inputs and scores."""
    from fastapi import APIRouter

    router = APIRouter(tags=[slot.task.name])

    @router.get(
        "/v1/fraud:drift",
        summary="Drift (PSI) of the inputs and scores of the latest served transactions",
        responses={409: _TOO_FEW, 503: _NOT_READY},
    )
    async def drift() -> dict[str, Any]:
        model, version = slot.serving("Fraud scoring is")
        window = served_window(model)
        _check_measurable(model, version, len(window))
        table = await asyncio.to_thread(
            drift_table, model.reference_, window.table(), model.feature_names_
        )
        return {
            "version": version,
            "window": len(window),
            "window_capacity": window.capacity,
            "reference_rows": len(model.reference_),
            "features": _plain_rows(table),
        }

    return router


def _plain_rows(table: pd.DataFrame) -> list[dict[str, Any]]:
    """The drift table as JSON-ready rows (feature, kind, psi, band, missing shares)."""
    rows: list[dict[Any, Any]] = table.to_dict(orient="records")
    numbers = ("psi", "missing_reference", "missing_recent")
    return [{**row, **{name: float(row[name]) for name in numbers}} for row in rows]


def _check_measurable(model: Any, version: int, served: int) -> None:
    if len(model.reference_) == 0:
        raise RequestProblem(
            409,
            "no_drift_reference",
            f"Version {version} was saved without a drift reference; fit it again with this "
            "furima and register the new version to measure drift.",
        )
    if served < MIN_DRIFT_ROWS:
        raise RequestProblem(
            409,
            "too_few_transactions",
            f"Drift needs at least {MIN_DRIFT_ROWS} transactions scored by version {version}; "
            f"it has scored {served} since it was loaded. Ask again after more traffic.",
        )


FRAUD_TASK = ServingTask(
    name="fraud",
    path="/v1/fraud:score",
    summary="Score payments by their probability of fraud, with the top reasons",
    request=FraudBody,
    response=FraudResponse,
    load=_load,
    predict=_predict,
    smoke=_smoke,
    check=_check,
    compare=_compare,
    routes=fraud_routes,
    json_bytes=400_000,  # 1,000 transactions; more are refused by count, with a message
)
