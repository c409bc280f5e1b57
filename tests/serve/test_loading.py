"""The assistant loads in the lifespan hook: health answers at once, readiness waits for it."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from fastapi.testclient import TestClient

from furima.exceptions import ModelFormatError
from furima.serve import ServeSettings, create_app

from .fakes import FakeAssistant


def wait_for(client: TestClient, status: int, seconds: float = 5.0) -> dict[str, str]:
    deadline = time.monotonic() + seconds
    while (response := client.get("/readyz")).status_code != status:
        assert time.monotonic() < deadline, response.text
        time.sleep(0.01)
    body: dict[str, str] = response.json()
    return body


def test_ready_only_after_the_assistant_has_loaded(fake: FakeAssistant, tmp_path: Path) -> None:
    release = threading.Event()
    asked: list[Path] = []

    def slow_loader(path: Path) -> FakeAssistant:
        asked.append(path)
        assert release.wait(10)
        return fake

    settings = ServeSettings(listing_assistant=tmp_path / "assistant")
    with TestClient(create_app(settings, loader=slow_loader)) as client:
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").json() == {"status": "loading", "detail": None}
        assert client.get("/readyz").status_code == 503
        early = client.post("/v1/listings:suggest", json={"text": "red kurta"})
        assert early.status_code == 503
        assert early.json()["error"]["type"] == "not_ready"
        assert "still starting up" in early.json()["error"]["message"]
        release.set()
        assert wait_for(client, 200) == {"status": "ready", "detail": None}
        assert client.post("/v1/listings:suggest", json={"text": "red kurta"}).status_code == 200
    assert asked == [tmp_path / "assistant"]


def test_a_failed_load_keeps_readyz_503_and_says_why(tmp_path: Path) -> None:
    def failing_loader(path: Path) -> FakeAssistant:
        raise ModelFormatError(f"{path} has no manifest.json")

    settings = ServeSettings(listing_assistant=tmp_path / "nothing")
    with TestClient(create_app(settings, loader=failing_loader)) as client:
        body = wait_for(client, 503)
        while body["status"] == "loading":
            body = wait_for(client, 503)
        assert body["status"] == "failed"
        assert "ModelFormatError" in body["detail"]
        assert "no manifest.json" in body["detail"]
        assert client.get("/healthz").status_code == 200


def test_without_an_assistant_the_page_and_health_still_answer() -> None:
    with TestClient(create_app(ServeSettings())) as client:
        assert client.get("/healthz").status_code == 200
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["status"] == "no_assistant"
        refused = client.post("/v1/listings:suggest", json={"text": "red kurta"})
        assert refused.status_code == 503
        assert refused.json()["error"]["message"] == (
            "Suggestions are not available on this server right now. Please try again later."
        )
        assert client.get("/").status_code == 200
