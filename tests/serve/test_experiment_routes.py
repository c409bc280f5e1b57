"""The canary as an experiment: exposures from served requests, events, results, errors.

A registry holds an echo champion (v1) and challenger (v2) with 50% of users sticky on the
challenger; a server with an experiment log answers 200 users, events are posted, and
``GET /v1/experiments/echo:v1-vs-v2`` shows both variants and the sample-ratio check.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from furima.experiments._assignment import Experiment
from furima.experiments._exposure import Event, Exposure, ExposureLog
from furima.registry import ModelRegistry, TrafficPolicy
from furima.serve import ServeSettings, create_app, register_task, running_server

from .echo_task import ECHO_TASK, log_echo

NAME = "echo:v1-vs-v2"
USERS = [f"user-{i}" for i in range(200)]


@pytest.fixture(autouse=True)
def echo_task() -> None:
    register_task(ECHO_TASK)


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> ModelRegistry:
    """One registry for the module (registering takes seconds); each test gets its own
    server and experiment log."""
    register_task(ECHO_TASK)
    root = tmp_path_factory.mktemp("experiments-registry")
    registry = ModelRegistry(root / "registry")
    log_echo(registry, root / "v1", alias="champion", factor=2.0)
    log_echo(registry, root / "v2", alias="challenger", factor=5.0)
    registry.set_traffic("echo", TrafficPolicy(canary_percent=50, sticky="user"))
    return registry


@pytest.fixture
def served(registry: ModelRegistry, tmp_path: Path) -> Iterator[tuple[Any, httpx.Client]]:
    """The app and a client of it, once both versions and the canary are live."""
    settings = ServeSettings(
        tasks=("echo",), poll_seconds=0.1, experiment_log=tmp_path / "experiments.sqlite"
    )
    app = create_app(settings, registry=registry)
    with running_server(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        wait_for(lambda: live(client))
        yield app, client


def live(client: httpx.Client) -> bool:
    model = client.get("/v1/models/echo").json()
    return bool(model["challenger"] == 2 and model["traffic"]["canary_percent"] == 50)


def wait_for(condition: Callable[[], bool], seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def echo(client: httpx.Client, **headers: str) -> httpx.Response:
    return client.post("/v1/echo:predict", json={"value": 1.0}, headers=headers)


def visit(client: httpx.Client) -> dict[str, str]:
    """Every user asks 1-3 times; the route each user met."""
    routes: dict[str, str] = {}
    for i, user in enumerate(USERS):
        for _ in range(1 + i % 3):
            answer = echo(client, **{"X-User-Id": user})
            assert answer.status_code == 200
            routes[user] = answer.json()["model"]["route"]
    return routes


def test_a_canary_by_user_is_an_experiment_with_results(
    served: tuple[Any, httpx.Client],
) -> None:
    _app, client = served
    routes = visit(client)
    echo(client)  # no user: no exposure
    echo(client, **{"X-User-Id": "pinned-user", "X-Model-Version": "2"})  # chosen by the caller
    challengers = sorted(user for user, route in routes.items() if route == "challenger")
    assert 70 < len(challengers) < 130

    # outcomes: challenger users buy once or twice, every third champion user once
    bought = [1.0 + n % 2 for n in range(len(challengers))]
    events: list[dict[str, Any]] = [
        {"user": user, "metric": "purchase", "value": value}
        for user, value in zip(challengers, bought, strict=True)
    ]
    events += [
        {"user": user, "metric": "purchase"}
        for n, (user, route) in enumerate(sorted(routes.items()))
        if route == "champion" and n % 3 == 0
    ]
    answer = client.post("/v1/experiments/events:batch", json={"events": events})
    assert answer.status_code == 200 and answer.json() == {"recorded": len(events)}
    one = {"user": USERS[0], "metric": "revenue", "value": 12.5, "at": "2099-01-01T00:00:00Z"}
    assert client.post("/v1/experiments/events", json=one).json() == {"recorded": 1}

    listed = client.get("/v1/experiments").json()
    (experiment,) = listed["experiments"]
    assert experiment["name"] == NAME
    assert experiment["units"] == {
        "champion": len(USERS) - len(challengers),
        "challenger": len(challengers),
    }
    assert experiment["exposures"] == sum(1 + i % 3 for i in range(len(USERS)))
    assert experiment["shares"] == {"champion": 0.5, "challenger": 0.5}
    assert experiment["mixed_units"] == 0
    assert experiment["running"] is True  # the served traffic runs it now
    assert listed["metrics"] == {"purchase": len(events), "revenue": 1}

    result = client.get(f"/v1/experiments/{NAME}", params={"metrics": "purchase"}).json()
    analysis = result["analysis"]
    assert analysis["control"] == "champion" and analysis["variants"] == ["champion", "challenger"]
    srm = analysis["srm"]
    assert srm["observed"] == [len(USERS) - len(challengers), len(challengers)]
    assert srm["expected"] == [100.0, 100.0]
    assert srm["ok"] is True and 0.001 < srm["p_value"] <= 1.0
    (purchase,) = [r for r in analysis["results"] if r["segment"] is None]
    assert purchase["metric"] == "purchase" and purchase["variant"] == "challenger"
    effect = purchase["effect"]
    assert effect["treatment_mean"] == pytest.approx(sum(bought) / len(bought))
    assert effect["control_n"] + effect["treatment_n"] == len(USERS)
    assert effect["significant"] is True and effect["ci_low"] > 0
    assert result["mixed_units_left_out"] == 0
    since = client.get(f"/v1/experiments/{NAME}", params={"since": "1970-01-02T00:00:00Z"})
    assert since.json()["analysis"]["srm"] == srm and since.json()["since"].startswith("1970")
    future = client.get(f"/v1/experiments/{NAME}", params={"since": "2999-01-01T00:00:00Z"})
    assert future.status_code == 422 and future.json()["error"]["type"] == "no_units"

    metrics = client.get("/metrics").text
    assert (
        f'furima_experiment_exposures_total{{outcome="recorded"}} {experiment["exposures"]}.0'
        in (metrics)
    )


def test_results_before_any_event_show_the_sample_ratio_check(
    served: tuple[Any, httpx.Client],
) -> None:
    _app, client = served
    routes = visit(client)
    result = client.get(f"/v1/experiments/{NAME}").json()
    challengers = sum(route == "challenger" for route in routes.values())
    assert result["metrics"] == [] and result["analysis"]["results"] == []
    assert result["analysis"]["srm"]["observed"] == [len(USERS) - challengers, challengers]


def test_a_failing_log_never_fails_a_request(served: tuple[Any, httpx.Client]) -> None:
    app, client = served

    def broken(_rows: object) -> int:
        raise OSError("disk full")

    app.state.exposures.log.record_exposures = broken
    answers = [echo(client, **{"X-User-Id": user}) for user in USERS[:20]]
    assert [answer.status_code for answer in answers] == [200] * 20
    app.state.exposures.flush()
    assert 'furima_experiment_exposures_total{outcome="failed"} 20.0' in client.get("/metrics").text


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "kind"),
    [
        ("GET", "/v1/experiments/nope:v1-vs-v2", None, 404, "unknown_experiment"),
        ("GET", f"/v1/experiments/{NAME}?metrics=two%20words", None, 422, "invalid_metric"),
        ("GET", f"/v1/experiments/{NAME}?metrics=refunds", None, 422, "unknown_metric"),
        ("GET", f"/v1/experiments/{NAME}?control=treatment", None, 422, "unknown_variant"),
        ("POST", "/v1/experiments/events", {"user": "u", "metric": "a b"}, 422, "invalid_request"),
        (
            "POST",
            "/v1/experiments/events",
            {"user": "u", "metric": "x", "value": "lots"},
            422,
            None,
        ),
        ("POST", "/v1/experiments/events", {"metric": "x"}, 422, "invalid_request"),
        ("POST", "/v1/experiments/events:batch", {"events": []}, 422, "invalid_request"),
    ],
)
def test_bad_requests_get_a_json_error(
    served: tuple[Any, httpx.Client],
    method: str,
    path: str,
    body: dict[str, Any] | None,
    status: int,
    kind: str | None,
) -> None:
    _app, client = served
    echo(client, **{"X-User-Id": "someone"})
    client.post("/v1/experiments/events", json={"user": "someone", "metric": "purchase"})
    answer = client.request(method, path, json=body)
    assert answer.status_code == status
    error = answer.json()["error"]
    assert error["message"]
    assert kind is None or error["type"] == kind


def test_without_an_experiment_log_the_routes_say_how_to_start_one() -> None:
    with TestClient(create_app(ServeSettings())) as client:
        for answer in (
            client.get("/v1/experiments"),
            client.get(f"/v1/experiments/{NAME}"),
            client.post("/v1/experiments/events", json={"user": "u", "metric": "buy"}),
        ):
            assert answer.status_code == 404
            assert answer.json()["error"]["type"] == "no_experiment_log"
            assert "--experiment-log" in answer.json()["error"]["message"]
        page = client.get("/experiments")
        assert page.status_code == 200 and "<title>Experiments" in page.text
        plotly = client.get("/static/plotly.min.js")
        assert plotly.status_code == 200 and len(plotly.content) > 1_000_000


def test_a_variant_without_units_fails_the_ratio_check_and_says_why_no_effect(
    tmp_path: Path,
) -> None:
    path = tmp_path / "log.sqlite"
    with ExposureLog(path) as log:
        log.declare(Experiment("page:v1-vs-v2", variants=("champion", "challenger")))
        log.record_exposures([Exposure("page:v1-vs-v2", f"u{i}", "champion") for i in range(40)])
        log.record_events([Event(f"u{i}", "clicks", float(i % 3)) for i in range(40)])
    with TestClient(create_app(ServeSettings(experiment_log=path))) as client:
        listed = client.get("/v1/experiments").json()["experiments"]
        assert listed[0]["units"] == {"champion": 40, "challenger": 0}
        assert listed[0]["running"] is False  # no served task runs it
        analysis = client.get("/v1/experiments/page:v1-vs-v2").json()["analysis"]
        assert analysis["srm"]["observed"] == [40, 0] and analysis["srm"]["ok"] is False
        assert analysis["results"] == []
        assert analysis["decision"].startswith("Only champion has units so far")


def test_settings_carry_the_log_to_worker_processes(tmp_path: Path) -> None:
    settings = ServeSettings(experiment_log=str(tmp_path / "log.sqlite"))  # type: ignore[arg-type]
    assert settings.experiment_log == tmp_path / "log.sqlite"
    assert ServeSettings.from_json(settings.to_json()) == settings


def test_furima_serve_takes_an_experiment_log(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import uvicorn
    from typer.testing import CliRunner

    from furima.cli import app

    calls: list[Any] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: calls.append(app))
    log = tmp_path / "experiments.sqlite"
    result = CliRunner().invoke(app, ["serve", "--experiment-log", str(log)])
    assert result.exit_code == 0, result.output
    assert calls[0].state.settings.experiment_log == log and log.is_file()

    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"certainly not sqlite" * 100)
    refused = CliRunner().invoke(app, ["serve", "--experiment-log", str(junk)])
    assert refused.exit_code == 1 and "is not an experiment log" in refused.output
    assert "Traceback" not in refused.output and len(calls) == 1
