"""A tiny servable task for the registry-server tests: multiplies a number by a factor.

A version is a folder with ``echo.json``: ``{"factor": 2, "delay": 0.0, "broken": false,
"bad_answer": false}``. ``broken`` makes loading fail, ``bad_answer`` makes its smoke answers
non-finite, ``delay`` makes every model call slow (backpressure and swap-under-load tests).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from furima.exceptions import DataError, ModelFormatError
from furima.registry import ModelRegistry
from furima.serve import ServingTask

CALLS: list[int] = []
"""Batch sizes of every model call, in order (tests clear it)."""


class EchoRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: float
    listing_id: str | None = None


class EchoResponse(BaseModel):
    value: float


def _load(path: Path) -> dict[str, Any]:
    spec: dict[str, Any] = json.loads((path / "echo.json").read_text())
    if spec.get("broken"):
        raise ModelFormatError("this echo version is broken on purpose")
    return spec


def _predict(model: dict[str, Any], requests: Sequence[EchoRequest]) -> list[dict[str, Any]]:
    CALLS.append(len(requests))
    time.sleep(float(model.get("delay", 0.0)))
    if any(r.value < 0 for r in requests):
        raise DataError("negative values cannot be echoed")
    factor = math.nan if model.get("bad_answer") else float(model["factor"])
    return [{"value": r.value * factor} for r in requests]


def _check(answer: dict[str, Any]) -> None:
    if not math.isfinite(answer["value"]):
        raise ValueError(f"the smoke answer {answer['value']} is not finite")


ECHO_TASK = ServingTask(
    name="echo",
    path="/v1/echo:predict",
    summary="Multiply a number (test task)",
    request=EchoRequest,
    response=EchoResponse,
    load=_load,
    predict=_predict,
    smoke=lambda _model: [EchoRequest(value=1.0)],
    check=_check,
    listing_key=lambda request: request.listing_id,
    compare=lambda served, shadow: abs(served["value"] - shadow["value"]),
)


def log_echo(
    registry: ModelRegistry, folder: Path, *, alias: str | None = None, **spec: Any
) -> int:
    """Register an echo version with ``spec`` (factor=2 unless given); its version number."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "echo.json").write_text(json.dumps({"factor": 2.0, **spec}))
    return registry.log_model(folder, task="echo", alias=alias).version
