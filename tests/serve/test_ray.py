"""The app under Ray Serve on a local Ray instance: loads, answers, reports its autoscaling."""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import math
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from furima.serve import ServeSettings
from furima.serve._ray import DEPLOYMENT, RayScaling, _start_ray, serve_on_ray, shutdown_ray

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
APP = "furima-test"


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    """A registry with one price model, version 1, the champion."""
    from furima.catalog import read_listings
    from furima.pricing import PriceSuggester
    from furima.registry import ModelRegistry

    listings = read_listings(FIXTURES / "myntra_150.parquet", require_price=True).listings
    model = PriceSuggester(random_state=0).fit(listings)
    ModelRegistry(tmp_path / "registry").log_model(model, alias="champion")
    return tmp_path / "registry"


@pytest.fixture
def ray_url(registry: Path) -> Iterator[str]:
    """The app served by Ray Serve on a small local Ray (2 CPUs, no dashboard).

    Only a Ray that cannot start skips; a deployment that fails fails the test.
    """
    pytest.importorskip("ray.serve")
    settings = ServeSettings(registry=str(registry), poll_seconds=0.5)
    scaling = RayScaling(min_replicas=1, max_replicas=2, target_ongoing_requests=4)
    try:
        _start_ray(None, num_cpus=2, object_store_bytes=100 * 1024 * 1024)
    except Exception as error:
        shutdown_ray()
        pytest.skip(f"Ray could not start a local instance: {error}")
    try:
        yield serve_on_ray(settings, scaling=scaling, port=_free_port(), name=APP)
    finally:
        shutdown_ray()


@pytest.mark.slow
def test_the_app_serves_through_ray_with_autoscaling(ray_url: str) -> None:
    with httpx.Client(base_url=ray_url, timeout=30) as client:
        _wait_ready(client, seconds=90)
        answer = client.post(
            "/v1/price:suggest", json={"name": "Nike running shoes", "brand": "Nike"}
        )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert math.isfinite(body["price"]) and body["price"] > 0
        assert body["low"] <= body["price"] <= body["high"]
        assert body["model"] == {"task": "price", "version": 1, "route": "champion"}
        metrics = client.get("/metrics")
        assert metrics.status_code == 200
        assert "furima_requests_total" in metrics.text
    deployment = _deployment_details()
    autoscaling = deployment["deployment_config"]["autoscaling_config"]
    assert (autoscaling["min_replicas"], autoscaling["max_replicas"]) == (1, 2)
    assert autoscaling["target_ongoing_requests"] == 4
    assert deployment["deployment_config"]["max_ongoing_requests"] == 64
    assert deployment["status"] == "HEALTHY"


def _wait_ready(client: httpx.Client, *, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    last = None
    while time.monotonic() < deadline:
        last = client.get("/readyz")
        if last.status_code == 200:
            return
        time.sleep(0.5)
    pytest.fail(
        f"/readyz not 200 through Ray within {seconds} s; last answer: {last and last.text}"
    )


def _deployment_details() -> dict[str, Any]:
    """The deployment as Ray's controller reports it (what ``serve status`` shows)."""
    from ray.serve.context import _get_global_client

    details: dict[str, Any] = _get_global_client().get_serve_details()
    return dict(details["applications"][APP]["deployments"][DEPLOYMENT])


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_scaling_is_ray_serves_autoscaling_config() -> None:
    scaling = RayScaling(min_replicas=2, max_replicas=6, target_ongoing_requests=3)
    assert scaling.autoscaling_config() == {
        "min_replicas": 2,
        "max_replicas": 6,
        "target_ongoing_requests": 3,
        "upscale_delay_s": 5.0,
        "downscale_delay_s": 60.0,
    }


@pytest.mark.parametrize(
    ("fields", "names"),
    [
        ({"min_replicas": 3, "max_replicas": 2}, "min_replicas <= max_replicas"),
        ({"min_replicas": 0, "max_replicas": 0}, "max_replicas >= 1"),
        ({"target_ongoing_requests": 100, "max_ongoing_requests": 10}, "max_ongoing_requests"),
        ({"target_ongoing_requests": 0}, "0 < target_ongoing_requests"),
        ({"upscale_delay_s": -1}, "upscale_delay_s"),
    ],
)
def test_scaling_refuses_impossible_bounds(fields: dict[str, Any], names: str) -> None:
    with pytest.raises(ValueError, match=names):
        RayScaling(**fields)


def test_a_sized_local_instance_needs_no_address() -> None:
    pytest.importorskip("ray")
    import ray

    if ray.is_initialized():
        pytest.skip("this process already runs Ray")
    with pytest.raises(ValueError, match="num_cpus"):
        _start_ray("auto", num_cpus=2, object_store_bytes=None)
