"""The API over the real ListingAssistant, fitted on 232 real photos; queried with the 8 unseen."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from furima.serve import ListingAssistantLike, ServeSettings, create_app

pytestmark = pytest.mark.slow

SUGGEST = "/v1/listings:suggest"


@pytest.fixture(scope="module")
def client(real_assistant: ListingAssistantLike) -> Iterator[TestClient]:
    with TestClient(create_app(ServeSettings(), listing_assistant=real_assistant)) as test_client:
        yield test_client


def article_type(body: dict) -> tuple[str | None, list[str]]:
    field = next(f for f in body["fields"] if f["name"] == "article_type")
    return field["value"], [choice["value"] for choice in field["top"]]


def test_unseen_photos_get_their_article_type_in_top(
    client: TestClient, held_out: pd.DataFrame
) -> None:
    found = {}
    for row in held_out.itertuples():
        response = client.post(SUGGEST, files={"photo": ("item.jpg", row.jpeg, "image/jpeg")})
        assert response.status_code == 200, response.text
        value, top = article_type(response.json())
        found[row.article_type] = (value, top)
    print("article type (value, top) per unseen photo:", found)
    hits = [kind for kind, (_, top) in found.items() if kind in top]
    assert len(hits) >= 6, found  # 8 unseen photos, one per type; 7 seen at commit time
    assert found["Watches"][1][0] == "Watches"
    wrong = {kind: value for kind, (value, _) in found.items() if value not in (None, kind)}
    # a 232-listing catalog calibrates roughly: 2 of 8 filled wrongly when written (a
    # kidswear top taken for a watch); benchmarks/listing.py measures precision on 35k
    assert len(wrong) <= 2, f"filled in wrongly: {wrong}"


def test_response_shape_and_evidence_photos(client: TestClient, held_out: pd.DataFrame) -> None:
    row = held_out[held_out["article_type"] == "Watches"].iloc[0]
    body = client.post(SUGGEST, files={"photo": ("w.jpg", row["jpeg"], "image/jpeg")}).json()
    names = [f["name"] for f in body["fields"]]
    assert names[:3] == ["master_category", "sub_category", "article_type"]
    assert {"base_colour", "gender", "usage"} <= set(names)
    for field in body["fields"]:
        assert field["filled"] == (field["value"] is not None)
        assert 0.0 <= field["confidence"] <= 1.0
        assert 1 <= len(field["top"]) <= 3
    assert body["similar"]
    assert int(row["id"]) not in {s["id"] for s in body["similar"]}  # never fitted on
    photo = client.get(body["similar"][0]["photo_url"])
    assert photo.status_code == 200
    assert photo.headers["content-type"] == "image/jpeg"
    assert body["elapsed_ms"] > 0


def test_words_only(client: TestClient) -> None:
    response = client.post(SUGGEST, json={"text": "ADIDAS unisex black analogue wrist watch"})
    assert response.status_code == 200, response.text
    assert "Watches" in article_type(response.json())[1]


def test_unreadable_and_unknown_inputs(client: TestClient, held_out: pd.DataFrame) -> None:
    cut = bytes(held_out["jpeg"].iloc[0])[:60]
    response = client.post(SUGGEST, files={"photo": ("cut.jpg", cut, "image/jpeg")})
    assert response.status_code == 422
    assert response.json()["error"]["type"] == "unreadable_photo"
    unknown = client.get("/v1/listings/987654321/photo")
    assert unknown.status_code == 404
    assert unknown.json()["error"]["type"] == "unknown_listing"


def test_furima_serve_loads_the_saved_folder(assistant_path: Path) -> None:
    settings = ServeSettings(listing_assistant=assistant_path)
    with TestClient(create_app(settings)) as client:
        deadline = time.monotonic() + 120
        while (ready := client.get("/readyz")).status_code != 200:
            assert ready.json()["status"] == "loading", ready.text
            assert time.monotonic() < deadline
            time.sleep(0.1)
        info = client.get("/v1/assistant").json()
        assert info["category"] == ["master_category", "sub_category", "article_type"]
        assert info["attributes"] == ["base_colour", "gender", "usage"]


def test_the_registry_decides_which_assistant_serves_the_page_and_api(
    assistant_path: Path, tmp_path: Path
) -> None:
    from furima.registry import ModelRegistry

    registry = ModelRegistry(tmp_path / "registry")
    version = registry.log_model(assistant_path, alias="champion")
    assert (version.task, version.format) == ("listing", "furima.listing_assistant")
    assert version.data_fingerprint is not None and len(version.data_fingerprint) == 64
    assert 0.0 <= version.metrics["article_type.photo.accuracy"] <= 1.0
    assert 0.0 <= version.metrics["article_type.photo_text.accuracy"] <= 1.0
    settings = ServeSettings(registry=str(tmp_path / "registry"), poll_seconds=0.2)
    with TestClient(create_app(settings)) as registry_client:
        deadline = time.monotonic() + 120
        while (ready := registry_client.get("/readyz")).status_code != 200:
            assert time.monotonic() < deadline, ready.text
            time.sleep(0.1)
        assert registry_client.get("/v1/models/listing").json()["champion"] == 1
        response = registry_client.post(SUGGEST, json={"text": "black analogue wrist watch"})
        assert response.status_code == 200, response.text
        assert "Watches" in article_type(response.json())[1]
        assert registry_client.get("/").status_code == 200  # the seller's page
