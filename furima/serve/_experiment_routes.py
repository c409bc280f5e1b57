"""Experiments on the server: outcome events, results and the page.

With ``ServeSettings.experiment_log`` set, a canary sticky by user is recorded as an
experiment (see :mod:`furima.serve._experiment_exposures`), and these routes read the log:
``POST /v1/experiments/events`` (and ``:batch``) record outcomes, ``GET /v1/experiments``
lists experiments with their units per variant (and whether the served traffic runs them
now), ``GET /v1/experiments/{name}?metrics=a,b&since=...`` analyses one (sample-ratio check
first, then each metric's effect), and ``GET /experiments`` is the page that shows them.
Without a log every route answers 404 with how to start one.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field

from furima.exceptions import ExperimentConfigError, ExperimentDataError
from furima.serve._errors import RequestProblem
from furima.serve._experiment_exposures import CONTROL, ExposureRecorder, experiment_name
from furima.serve._schemas import error_responses

if TYPE_CHECKING:
    from fastapi import APIRouter, FastAPI

    from furima.experiments._exposure import ExposureLog
    from furima.serve._metrics import ServerMetrics

__all__ = ["EventBatch", "EventIn", "install_experiments"]

MAX_BATCH = 1000
_ERRORS = error_responses(
    (404, "No experiment log on this server, or no such experiment."),
    (422, "A body or parameter that is not valid (metric name, value, time)."),
)


class EventIn(BaseModel):
    """An outcome of a user (a purchase, a click, revenue), counted by every experiment the
    user was exposed to before it happened."""

    model_config = ConfigDict(extra="forbid")

    user: str = Field(min_length=1, max_length=200, description="The X-User-Id of the user.")
    metric: str = Field(
        min_length=1,
        max_length=100,
        pattern=r"^[A-Za-z_][A-Za-z0-9_.:-]*$",
        description="What happened: letters, digits, _ . : - (e.g. 'purchase', 'revenue').",
    )
    value: float = Field(1.0, allow_inf_nan=False, description="How much (adds up per user).")
    at: datetime | None = Field(
        None, description="When (ISO 8601 or seconds since the epoch; default: now)."
    )


class EventBatch(BaseModel):
    """Several events, recorded together (all or none)."""

    model_config = ConfigDict(extra="forbid")

    events: list[EventIn] = Field(min_length=1, max_length=MAX_BATCH)


def install_experiments(app: FastAPI, path: Path | None, metrics: ServerMetrics) -> None:
    """Add the experiment routes and the page to ``app``; with ``path``, record exposures
    there (``app.state.exposures``, which the task endpoints use)."""
    from fastapi import APIRouter

    recorder = None if path is None else ExposureRecorder(path, metrics)
    app.state.exposures = recorder

    @asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        if recorder is not None:
            recorder.start()
        yield
        if recorder is not None:
            recorder.close()

    router = APIRouter(tags=["experiments"], lifespan=lifespan)
    _page(router)
    _writes(router, recorder)
    _reads(router, recorder)
    app.include_router(router)


def _needs_log(recorder: ExposureRecorder | None) -> ExposureRecorder:
    if recorder is None:
        raise RequestProblem(
            404,
            "no_experiment_log",
            "This server keeps no experiment log. Start it with `furima serve "
            "--experiment-log FILE` to record exposures and events and analyse experiments.",
        )
    return recorder


def _page(router: APIRouter) -> None:
    from fastapi.responses import FileResponse

    from furima.serve._routes import _PAGE_HEADERS, PAGES

    headers = {
        **_PAGE_HEADERS,  # plotly.js adds its own style rules
        "Content-Security-Policy": _PAGE_HEADERS["Content-Security-Policy"].replace(
            "style-src 'self'", "style-src 'self' 'unsafe-inline'"
        ),
    }

    @router.get("/experiments", include_in_schema=False)
    def experiments_page() -> FileResponse:
        """Running experiments and the current results of one."""
        return FileResponse(PAGES / "experiments.html", headers=headers)

    @router.get("/static/plotly.min.js", include_in_schema=False)
    def plotly_js() -> FileResponse:
        """plotly.js from the installed plotly package (nothing is fetched from a CDN)."""
        from furima._charts import PLOTLY_JS

        return FileResponse(
            PLOTLY_JS, media_type="text/javascript", headers={"Cache-Control": "max-age=86400"}
        )


def _writes(router: APIRouter, recorder: ExposureRecorder | None) -> None:
    @router.post("/v1/experiments/events", summary="Record a user's outcome", responses=_ERRORS)
    def record_event(body: EventIn) -> dict[str, Any]:
        return {"recorded": _record(_needs_log(recorder), [body])}

    @router.post(
        "/v1/experiments/events:batch",
        summary=f"Record up to {MAX_BATCH} outcomes at once",
        responses=_ERRORS,
    )
    def record_events(body: EventBatch) -> dict[str, Any]:
        return {"recorded": _record(_needs_log(recorder), body.events)}


def _record(recorder: ExposureRecorder, events: list[EventIn]) -> int:
    from furima.experiments._exposure import Event

    return recorder.log.record_events(Event(e.user, e.metric, e.value, e.at) for e in events)


def _reads(router: APIRouter, recorder: ExposureRecorder | None) -> None:
    @router.get("/v1/experiments", summary="Experiments and their units", responses=_ERRORS)
    def list_experiments(request: Request) -> dict[str, Any]:
        found = _needs_log(recorder)
        found.flush()
        running = _running(request.app.state.serving)
        return {
            "experiments": [
                {**counts.to_dict(), "running": counts.name in running}
                for counts in found.log.experiments()
            ],
            "metrics": found.log.metrics(),
        }

    @router.get(
        "/v1/experiments/{name}",
        summary="An experiment's current results: sample-ratio check, then each metric",
        responses=_ERRORS,
    )
    def one_experiment(
        name: str,
        metrics: str | None = None,
        control: str | None = None,
        since: datetime | None = None,
    ) -> dict[str, Any]:
        found = _needs_log(recorder)
        found.flush()
        answer: dict[str, Any] = _json_safe(_analysis(found.log, name, metrics, control, since))
        return answer


def _running(serving: Any) -> set[str]:
    """The experiments the served tasks' traffic runs right now."""
    if serving is None:
        return set()
    names = (experiment_name(task, slot.live) for task, slot in serving.slots.items())
    return {name for name in names if name is not None}


def _analysis(
    log: ExposureLog,
    name: str,
    metrics: str | None,
    control: str | None,
    since: datetime | None,
) -> dict[str, Any]:
    counts = log.experiment(name)
    if counts is None:
        known = [c.name for c in log.experiments()]
        raise RequestProblem(
            404,
            "unknown_experiment",
            f"No experiment called {name!r} has exposures; experiments: "
            f"{', '.join(map(repr, known)) or 'none yet'}.",
        )
    wanted = _metric_names(log, metrics)
    variants = list(counts.units)
    control = control or (CONTROL if CONTROL in variants else variants[0])
    if control not in variants:
        raise RequestProblem(
            422,
            "unknown_variant",
            f"{control!r} is not a variant of {name!r}; its variants are {variants}.",
        )
    frame = log.unit_metrics(name, wanted, since=since, mixed="drop")
    if frame.empty:
        raise RequestProblem(
            422,
            "no_units",
            f"No unit of {name!r} was first exposed at or after {since}; choose an earlier "
            "`since`.",
        )
    arms = [control, *sorted(v for v in variants if v != control)]
    result = _analyze(frame, wanted, arms, counts.shares)
    return {
        "experiment": counts.to_dict(),
        "control": control,
        "metrics": wanted,
        "since": None if since is None else since.isoformat(),
        "mixed_units_left_out": int(frame.attrs.get("mixed_units", 0)),
        "analysis": result,
    }


def _metric_names(log: ExposureLog, metrics: str | None) -> list[str]:
    """The metrics asked for (all recorded ones by default), each checked."""
    from furima.experiments._exposure import METRIC_NAME

    known = log.metrics()
    if metrics is None or not metrics.strip():
        return list(known)
    wanted = list(dict.fromkeys(m.strip() for m in metrics.split(",") if m.strip()))
    bad = [m for m in wanted if not METRIC_NAME.fullmatch(m)]
    if bad:
        raise RequestProblem(
            422,
            "invalid_metric",
            f"{', '.join(map(repr, bad))} is not a metric name: use letters, digits, "
            "'_', '.', ':' or '-', starting with a letter or '_'.",
        )
    unknown = [m for m in wanted if m not in known]
    if unknown:
        raise RequestProblem(
            422,
            "unknown_metric",
            f"No events are recorded for {', '.join(map(repr, unknown))}; recorded metrics: "
            f"{', '.join(map(repr, known)) or 'none yet'} (POST /v1/experiments/events).",
        )
    return wanted


def _analyze(
    frame: Any, metrics: list[str], arms: list[str], shares: dict[str, float] | None
) -> dict[str, Any]:
    """``analyze(...).to_dict()``; with no metric yet, or units in one variant only, the
    sample-ratio check alone (over every variant, those without units included) and why."""
    from furima.experiments._analysis import analyze

    present = [arm for arm in arms if arm in set(frame["variant"])]
    if not metrics:
        return _srm_only(frame, arms, shares, "No events yet: no metric to compare.")
    if len(present) < 2:
        return _srm_only(
            frame,
            arms,
            shares,
            f"Only {', '.join(present)} has units so far: effects need units in at least two "
            "variants. Check that the traffic policy sends users to the other one.",
        )
    weights = None  # the declared split, for the sample-ratio check
    if shares is not None and all(shares.get(arm, 0.0) > 0 for arm in present):
        weights = {arm: shares[arm] for arm in present}
    try:
        analysis = analyze(
            frame,
            metrics,
            variant="variant",
            control=arms[0],
            unit="unit",
            time="first_exposure",
            weights=weights,
        )
    except ExperimentConfigError as error:
        raise RequestProblem(422, "invalid_analysis", str(error)) from None
    except ExperimentDataError as error:
        raise RequestProblem(422, "unusable_data", str(error)) from None
    result: dict[str, Any] = analysis.to_dict()
    return result


def _srm_only(
    frame: Any, arms: list[str], shares: dict[str, float] | None, why: str
) -> dict[str, Any]:
    from furima.experiments._srm import srm_check

    observed = [int((frame["variant"] == arm).sum()) for arm in arms]
    usable = shares is not None and all(shares.get(arm, 0.0) > 0 for arm in arms)
    design = [shares[arm] for arm in arms] if shares is not None and usable else None
    check = srm_check(observed, design)
    return {
        "srm": check.to_dict(),
        "results": [],
        "control": arms[0],
        "variants": arms,
        "decision": why,
    }


def _json_safe(value: Any) -> Any:
    """``value`` with every non-finite float as ``None`` (JSON has no NaN or infinity)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return _json_safe(value.item())
    return value
