"""The server built from the registry: endpoints per task, swaps, traffic, load, errors."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from furima.registry import ModelRegistry, TrafficPolicy
from furima.serve import ServeSettings, create_app, register_task, running_server

from .echo_task import CALLS, ECHO_TASK, log_echo

POLL = 0.1


@pytest.fixture(autouse=True)
def echo_task() -> None:
    register_task(ECHO_TASK)
    CALLS.clear()


@pytest.fixture
def registry(tmp_path: Path) -> ModelRegistry:
    return ModelRegistry(tmp_path / "registry")


@pytest.fixture
def versions(tmp_path: Path) -> Iterator[Path]:
    """Fresh folders for echo versions."""
    return (tmp_path / f"v{i}" for i in itertools.count(1))


def serve(registry: ModelRegistry, **settings: Any) -> Any:
    settings = {"tasks": ("echo",), "poll_seconds": POLL, **settings}
    return running_server(create_app(ServeSettings(**settings), registry=registry))


def wait_for(condition: Callable[[], bool], seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def served_version(client: httpx.Client) -> int | None:
    champion: int | None = client.get("/v1/models/echo").json()["champion"]
    return champion


def echo(client: httpx.Client, value: float = 1.5, **headers: str) -> httpx.Response:
    return client.post("/v1/echo:predict", json={"value": value}, headers=headers)


def test_an_endpoint_per_registered_task_answers_with_its_version(
    registry: ModelRegistry, versions: Iterator[Path]
) -> None:
    log_echo(registry, next(versions), alias="champion", factor=3.0)
    with serve(registry) as url, httpx.Client(base_url=url) as client:
        wait_for(lambda: client.get("/readyz").status_code == 200)
        answer = echo(client, 2.0)
        assert answer.status_code == 200
        assert answer.json() == {
            "value": 6.0,
            "model": {"task": "echo", "version": 1, "route": "champion"},
        }
        assert answer.headers["x-model-version"] == "1"
        schema = client.get("/openapi.json").json()
        assert "/v1/echo:predict" in schema["paths"]
        assert "EchoRequest" in schema["components"]["schemas"]


def test_without_a_champion_the_task_says_503_and_readyz_why(
    registry: ModelRegistry, versions: Iterator[Path]
) -> None:
    log_echo(registry, next(versions))  # registered, never promoted
    with serve(registry) as url, httpx.Client(base_url=url) as client:
        time.sleep(3 * POLL)
        answer = echo(client)
        assert answer.status_code == 503
        assert answer.json()["error"]["type"] == "not_ready"
        assert answer.headers["retry-after"] == "2"
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json() == {"status": "loading", "detail": "echo: no version loaded yet"}


def test_promote_and_rollback_under_load_fail_no_request(
    registry: ModelRegistry, versions: Iterator[Path]
) -> None:
    log_echo(registry, next(versions), alias="champion", factor=2.0, delay=0.005)
    log_echo(registry, next(versions), factor=10.0, delay=0.005)
    with serve(registry) as url:
        wait_for(lambda: httpx.get(f"{url}/readyz").status_code == 200)
        seen, failures = asyncio.run(_load_while(url, registry))
    assert failures == []
    assert {2.0 * 1.5, 10.0 * 1.5} <= seen  # both versions answered
    assert registry.version("echo", "champion").version == 1


async def _load_while(url: str, registry: ModelRegistry) -> tuple[set[float], list[str]]:
    """Send requests from 8 clients while promoting version 2, then rolling back to 1."""
    seen: set[float] = set()
    failures: list[str] = []
    stop = asyncio.Event()

    async def client_loop() -> None:
        async with httpx.AsyncClient(base_url=url) as client:
            while not stop.is_set():
                answer = await client.post("/v1/echo:predict", json={"value": 1.5})
                if answer.status_code != 200:
                    failures.append(answer.text)
                else:
                    seen.add(answer.json()["value"])

    async def operator() -> None:
        def champion() -> int | None:
            return httpx.get(f"{url}/v1/models/echo").json()["champion"]

        for step in (lambda: registry.promote("echo", 2), lambda: registry.rollback("echo")):
            await asyncio.sleep(0.5)
            before = champion()
            await asyncio.to_thread(step)
            while champion() == before:
                await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)
        stop.set()

    await asyncio.gather(operator(), *(client_loop() for _ in range(8)))
    return seen, failures


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ({"broken": True}, "ModelFormatError: this echo version is broken on purpose"),
        ({"bad_answer": True}, "ValueError: the smoke answer nan is not finite"),
    ],
)
def test_a_version_that_fails_to_load_or_its_smoke_check_is_not_swapped_in(
    registry: ModelRegistry, versions: Iterator[Path], spec: dict[str, bool], reason: str
) -> None:
    log_echo(registry, next(versions), alias="champion")
    with serve(registry) as url, httpx.Client(base_url=url) as client:
        wait_for(lambda: served_version(client) == 1)
        log_echo(registry, next(versions), alias="champion", **spec)
        wait_for(lambda: "version 2" in (client.get("/readyz").json()["detail"] or ""))
        ready = client.get("/readyz")
        assert ready.status_code == 200  # the old version keeps serving
        assert ready.json()["detail"] == (
            f"echo: echo version 2 (champion) was not swapped in, serving version 1: {reason}"
        )
        assert echo(client).json()["model"]["version"] == 1
        assert 'furima_model_load_failures_total{task="echo"} 1.0' in client.get("/metrics").text


def test_canary_sends_the_set_share_to_the_challenger_sticky_by_user(
    registry: ModelRegistry, versions: Iterator[Path]
) -> None:
    log_echo(registry, next(versions), alias="champion", factor=2.0)
    log_echo(registry, next(versions), alias="challenger", factor=5.0)
    registry.set_traffic("echo", TrafficPolicy(canary_percent=30, sticky="user"))
    with serve(registry) as url, httpx.Client(base_url=url) as client:
        wait_for(lambda: client.get("/v1/models/echo").json()["traffic"]["canary_percent"] == 30)
        routes = [echo(client, **{"X-User-Id": f"u{i}"}).json()["model"] for i in range(300)]
        share = sum(r["route"] == "challenger" for r in routes) / len(routes)
        assert 0.2 < share < 0.4
        again = [echo(client, **{"X-User-Id": f"u{i}"}).json()["model"] for i in range(50)]
        assert again == routes[:50]  # the same user always meets the same version
        assert all(r["version"] == (2 if r["route"] == "challenger" else 1) for r in routes)
        metrics = client.get("/metrics").text
        assert 'furima_requests_total{route="challenger",status="200",task="echo",version="2"}' in (
            metrics
        )


def test_shadow_scores_the_challenger_without_returning_it(
    registry: ModelRegistry, versions: Iterator[Path]
) -> None:
    log_echo(registry, next(versions), alias="champion", factor=2.0)
    log_echo(registry, next(versions), alias="challenger", factor=5.0)
    registry.set_traffic("echo", TrafficPolicy(shadow=True))
    with serve(registry) as url, httpx.Client(base_url=url) as client:
        wait_for(lambda: client.get("/v1/models/echo").json()["traffic"]["shadow"])
        answers = [echo(client, 1.0).json() for _ in range(20)]
        assert {a["value"] for a in answers} == {2.0}
        assert {a["model"]["version"] for a in answers} == {1}

        def shadowed() -> bool:
            return 'furima_shadow_requests_total{outcome="ok",task="echo",version="2"} 20.0' in (
                client.get("/metrics").text
            )

        wait_for(shadowed)
        assert 'furima_shadow_difference_sum{task="echo"} 60.0' in client.get("/metrics").text


def test_a_pinned_version_is_served_or_named_as_unknown(
    registry: ModelRegistry, versions: Iterator[Path]
) -> None:
    log_echo(registry, next(versions), alias="champion", factor=2.0)
    log_echo(registry, next(versions), alias="challenger", factor=5.0)
    with serve(registry) as url, httpx.Client(base_url=url) as client:
        wait_for(lambda: client.get("/v1/models/echo").json()["challenger"] == 2)
        assert echo(client, 1.0, **{"X-Model-Version": "2"}).json()["value"] == 5.0
        unknown = echo(client, 1.0, **{"X-Model-Version": "9"})
        assert unknown.status_code == 404
        assert unknown.json()["error"] == {
            "type": "unknown_version",
            "message": "Version '9' of 'echo' is not being served; this server serves "
            "champion 1 and challenger 2.",
        }
        unknown_task = client.get("/v1/models/pricing")
        assert unknown_task.status_code == 404
        assert "it serves echo" in unknown_task.json()["error"]["message"]


def test_concurrent_requests_are_scored_in_batches(
    registry: ModelRegistry, versions: Iterator[Path]
) -> None:
    log_echo(registry, next(versions), alias="champion", delay=0.02)
    with serve(registry, max_batch_size=16) as url:
        wait_for(lambda: httpx.get(f"{url}/readyz").status_code == 200)
        CALLS.clear()

        async def burst() -> list[httpx.Response]:
            async with httpx.AsyncClient(base_url=url) as client:
                calls = [client.post("/v1/echo:predict", json={"value": i}) for i in range(48)]
                return await asyncio.gather(*calls)

        answers = asyncio.run(burst())
    assert [a.json()["value"] for a in answers] == [2.0 * i for i in range(48)]
    assert sum(CALLS) == 48
    assert max(CALLS) > 1 and max(CALLS) <= 16
    assert len(CALLS) < 48


def test_a_full_queue_answers_429_with_retry_after(
    registry: ModelRegistry, versions: Iterator[Path]
) -> None:
    log_echo(registry, next(versions), alias="champion", delay=0.2)
    with serve(registry, max_queue=2, max_batch_size=1) as url:
        wait_for(lambda: httpx.get(f"{url}/readyz").status_code == 200)

        async def burst() -> list[httpx.Response]:
            async with httpx.AsyncClient(base_url=url, timeout=30) as client:
                return await asyncio.gather(
                    *(client.post("/v1/echo:predict", json={"value": 1}) for _ in range(10))
                )

        answers = asyncio.run(burst())
        refused = [a for a in answers if a.status_code == 429]
        assert refused and len(refused) < 10
        assert all(a.status_code in (200, 429) for a in answers)
        assert int(refused[0].headers["retry-after"]) >= 1
        assert refused[0].json()["error"]["type"] == "overloaded"
        assert "requests are waiting" in refused[0].json()["error"]["message"]
        metrics = httpx.get(f"{url}/metrics").text
        assert f'furima_request_errors_total{{task="echo",type="overloaded"}} {len(refused)}.0' in (
            metrics
        )


def test_one_bad_request_in_a_batch_fails_alone(
    registry: ModelRegistry, versions: Iterator[Path]
) -> None:
    log_echo(registry, next(versions), alias="champion", delay=0.01)
    with serve(registry) as url:
        wait_for(lambda: httpx.get(f"{url}/readyz").status_code == 200)

        async def burst() -> list[httpx.Response]:
            async with httpx.AsyncClient(base_url=url) as client:
                values = [1, 2, -1, 3, 4, 5]
                return await asyncio.gather(
                    *(client.post("/v1/echo:predict", json={"value": v}) for v in values)
                )

        answers = asyncio.run(burst())
    assert [a.status_code for a in answers] == [200, 200, 422, 200, 200, 200]
    assert answers[2].json()["error"] == {
        "type": "unusable_input",
        "message": "We could not use what you sent: negative values cannot be echoed",
    }


@pytest.mark.parametrize(
    ("body", "status", "kind", "message"),
    [
        ('{"value": ', 422, "invalid_json", "The request body is not valid JSON"),
        ('{"value": "many"}', 422, "invalid_request", "value: Input should be a valid number"),
        ("{}", 422, "invalid_request", "value: Field required"),
        ('{"value": 1, "x": 2}', 422, "invalid_request", "x: Extra inputs are not permitted"),
        ('{"value": 1, "pad": "' + "x" * 70_000 + '"}', 413, "body_too_large", "at most 65,536"),
    ],
)
def test_bad_requests_get_a_json_error_and_the_server_keeps_serving(
    registry: ModelRegistry,
    versions: Iterator[Path],
    body: str,
    status: int,
    kind: str,
    message: str,
) -> None:
    log_echo(registry, next(versions), alias="champion")
    with serve(registry) as url, httpx.Client(base_url=url) as client:
        wait_for(lambda: client.get("/readyz").status_code == 200)
        answer = client.post(
            "/v1/echo:predict", content=body, headers={"content-type": "application/json"}
        )
        assert answer.status_code == status
        assert answer.json()["error"]["type"] == kind
        assert message in answer.json()["error"]["message"]
        assert echo(client, 1.0).json()["value"] == 2.0


def test_an_unreachable_registry_keeps_the_loaded_version_serving(
    registry: ModelRegistry, versions: Iterator[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from furima.exceptions import RegistryError

    log_echo(registry, next(versions), alias="champion")
    with serve(registry) as url, httpx.Client(base_url=url) as client:
        wait_for(lambda: client.get("/readyz").status_code == 200)

        def unreachable(task: str) -> Any:
            raise RegistryError("the model registry at db:5432 is unreachable")

        monkeypatch.setattr(registry, "deployment", unreachable)
        wait_for(lambda: "unreachable" in (client.get("/readyz").json()["detail"] or ""))
        assert client.get("/readyz").status_code == 200
        assert echo(client, 1.0).json()["value"] == 2.0
        assert "furima_registry_errors_total" in client.get("/metrics").text


def test_metrics_expose_requests_latency_errors_and_versions(
    registry: ModelRegistry, versions: Iterator[Path]
) -> None:
    log_echo(registry, next(versions), alias="champion")
    with serve(registry) as url, httpx.Client(base_url=url) as client:
        wait_for(lambda: client.get("/readyz").status_code == 200)
        for _ in range(3):
            echo(client)
        client.post("/v1/echo:predict", json={})
        metrics = client.get("/metrics")
    text = metrics.text
    assert metrics.headers["content-type"].startswith("text/plain")
    assert (
        'furima_requests_total{route="champion",status="200",task="echo",version="1"} 3.0' in text
    )
    assert 'furima_request_seconds_count{task="echo",version="1"} 3.0' in text
    assert 'furima_model_version{alias="champion",task="echo"} 1.0' in text
    assert (
        'furima_http_requests_total{method="POST",route="/v1/echo:predict",status="422"} 1.0'
        in text
    )


def test_a_task_registered_after_start_gets_its_endpoint(
    registry: ModelRegistry, versions: Iterator[Path]
) -> None:
    settings = ServeSettings(registry=str(registry.location.local_folder), poll_seconds=POLL)
    with running_server(create_app(settings)) as url, httpx.Client(base_url=url) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert "no servable model is registered yet" in ready.json()["detail"]
        assert echo(client).status_code == 404
        log_echo(registry, next(versions), alias="champion", factor=4.0)
        wait_for(lambda: client.get("/readyz").status_code == 200)
        assert echo(client, 1.0).json()["value"] == 4.0
        assert "/v1/echo:predict" in client.get("/openapi.json").json()["paths"]
