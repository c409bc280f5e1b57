"""The HTTP API against an in-memory assistant: shapes, values, and every bad input."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from furima.serve import ServeSettings, create_app

from .fakes import FakeAssistant

SUGGEST = "/v1/listings:suggest"


def a_photo(listings: pd.DataFrame, article_type: str) -> tuple[int, bytes]:
    row = listings[listings["article_type"] == article_type].iloc[0]
    return int(row["id"]), bytes(row["jpeg"])


def test_multipart_photo_gets_the_listing_fields_and_photo_urls(
    client: TestClient, fake: FakeAssistant, photo_listings: pd.DataFrame
) -> None:
    _, photo = a_photo(photo_listings, "Watches")
    response = client.post(SUGGEST, files={"photo": ("watch.jpg", photo, "image/jpeg")})
    assert response.status_code == 200, response.text
    body = response.json()
    assert fake.calls == [{"photo": photo, "text": None, "brand": None, "condition": None}]
    fields = {f["name"]: f for f in body["fields"]}
    assert [f["name"] for f in body["fields"]][:3] == [
        "master_category",
        "sub_category",
        "article_type",
    ]
    assert fields["article_type"]["value"] == "Watches"
    assert fields["article_type"]["confidence"] == 0.83
    assert fields["master_category"]["value"] == "Accessories"
    assert fields["usage"] == {
        "name": "usage",
        "label": "Usage",
        "value": None,
        "filled": False,
        "confidence": 0.41,
        "threshold": 0.5,
        "top": fields["usage"]["top"],
        "evidence": [],
        "source": "photo",
    }
    assert len(fields["usage"]["top"]) == 3
    assert body["price"] == {
        "value": 999.0,
        "low": 699.0,
        "high": 1499.0,
        "coverage": 0.8,
        "evidence": body["similar"][0:2] and [s["id"] for s in body["similar"][:2]],
        "source": "model",
    }
    watches = set(photo_listings.loc[photo_listings["article_type"] == "Watches", "id"])
    assert len(body["similar"]) == 4
    for listing in body["similar"]:
        assert listing["id"] in watches
        assert listing["photo_url"] == f"/v1/listings/{listing['id']}/photo"
    assert 0 <= body["elapsed_ms"] < 5000


def test_response_is_to_dict_plus_elapsed_and_photo_urls(
    client: TestClient, fake: FakeAssistant, photo_listings: pd.DataFrame
) -> None:
    _, photo = a_photo(photo_listings, "Kurtas")
    body = client.post(SUGGEST, files={"photo": ("k.jpg", photo)}, data={"text": "green"}).json()
    expected = fake.suggest(photo=photo, text="green").to_dict()
    for listing in expected["similar"]:
        listing["photo_url"] = f"/v1/listings/{listing['id']}/photo"
    elapsed = body.pop("elapsed_ms")
    assert isinstance(elapsed, float)
    assert body == expected  # nothing dropped or renamed by the response model


def test_json_text_only(client: TestClient, fake: FakeAssistant) -> None:
    response = client.post(SUGGEST, json={"text": "  blue t-shirt  ", "brand": "Puma"})
    assert response.status_code == 200, response.text
    assert fake.calls == [
        {"photo": None, "text": "blue t-shirt", "brand": "Puma", "condition": None}
    ]
    body = response.json()
    assert body["title"]["value"] == "Men Black Tshirts"
    assert {f["source"] for f in body["fields"]} == {"text"}


def test_photo_text_brand_and_condition_together(
    client: TestClient, fake: FakeAssistant, photo_listings: pd.DataFrame
) -> None:
    _, photo = a_photo(photo_listings, "Handbags")
    response = client.post(
        SUGGEST,
        files={"photo": ("bag.jpg", photo, "image/jpeg")},
        data={"text": "white shopper", "brand": "Puma", "condition": "2"},
    )
    assert response.status_code == 200, response.text
    assert fake.calls == [
        {"photo": photo, "text": "white shopper", "brand": "Puma", "condition": 2}
    ]
    fields = {f["name"]: f for f in response.json()["fields"]}
    assert fields["article_type"]["value"] == "Handbags"
    assert fields["article_type"]["source"] == "photo+text"


def test_browser_form_with_no_file_chosen_is_text_only(
    client: TestClient, fake: FakeAssistant
) -> None:
    response = client.post(
        SUGGEST, files={"photo": ("", b"", "application/octet-stream")}, data={"text": "kurta"}
    )
    assert response.status_code == 200, response.text
    assert fake.calls[0]["photo"] is None


def error_of(response: object, status: int) -> dict[str, str]:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    assert response.headers["content-type"] == "application/json"  # type: ignore[attr-defined]
    error: dict[str, str] = response.json()["error"]  # type: ignore[attr-defined]
    assert "Traceback" not in json.dumps(error)
    return error


def test_not_an_image_is_415_with_words_for_the_seller(
    client: TestClient, fake: FakeAssistant
) -> None:
    pdf = b"%PDF-1.7\n" + b"x" * 3000
    error = error_of(client.post(SUGGEST, files={"photo": ("invoice.pdf", pdf)}), 415)
    assert error["type"] == "not_an_image"
    assert error["message"] == (
        "That file is not a photo we can read ('invoice.pdf' looks like a PDF document, 3 KB). "
        "Please upload a JPEG or PNG."
    )
    text = error_of(client.post(SUGGEST, files={"photo": ("notes.txt", b"hello there")}), 415)
    assert "looks like a text file, 11 bytes" in text["message"]
    assert fake.calls == []  # refused before the assistant


def test_heic_photo_is_named(client: TestClient) -> None:
    heic = b"\x00\x00\x00\x18ftypheic" + b"\x00" * 100
    error = error_of(client.post(SUGGEST, files={"photo": ("IMG_0001.HEIC", heic)}), 415)
    assert "looks like an iPhone HEIC photo" in error["message"]


def test_damaged_jpeg_is_422_from_the_assistant(
    client: TestClient, photo_listings: pd.DataFrame
) -> None:
    _, photo = a_photo(photo_listings, "Shirts")
    error = error_of(client.post(SUGGEST, files={"photo": ("cut.jpg", photo[:40])}), 422)
    assert error["type"] == "unreadable_photo"
    assert error["message"].startswith("We could not open that photo")
    assert "corrupt or truncated" in error["detail"]


def test_empty_upload_is_422(client: TestClient, fake: FakeAssistant) -> None:
    error = error_of(client.post(SUGGEST, files={"photo": ("empty.jpg", b"", "image/jpeg")}), 422)
    assert error == {
        "type": "empty_photo",
        "message": "That photo file is empty (0 bytes). Please choose the photo again.",
    }
    assert fake.calls == []


def test_upload_over_the_limit_is_413(client: TestClient, fake: FakeAssistant) -> None:
    big = b"\xff\xd8\xff" + bytes(12_000_000)
    error = error_of(client.post(SUGGEST, files={"photo": ("huge.jpg", big, "image/jpeg")}), 413)
    assert error["type"] == "photo_too_large"
    assert error["message"].startswith("That photo is 12.0 MB; photos can be at most 10 MB.")
    assert fake.calls == []


def test_photo_just_over_the_limit_is_413(fake: FakeAssistant) -> None:
    settings = ServeSettings(max_upload_bytes=5000)
    with TestClient(create_app(settings, listing_assistant=fake)) as small:
        fits = small.post(SUGGEST, files={"photo": ("a.jpg", b"\xff\xd8\xff" + bytes(4997))})
        over = small.post(SUGGEST, files={"photo": ("a.jpg", b"\xff\xd8\xff" + bytes(4998))})
    assert fits.status_code == 422  # within the limit: reaches the decoder (not a real JPEG)
    assert error_of(over, 413)["type"] == "photo_too_large"


def test_streamed_upload_is_refused_without_reading_it_all(fake: FakeAssistant) -> None:
    """No Content-Length (chunked): the app stops reading soon after passing the limit.

    Driven at the ASGI level, since TestClient buffers the whole body before the app runs.
    """
    app = create_app(ServeSettings(), listing_assistant=fake)
    head = b'--furima\r\nContent-Disposition: form-data; name="photo"; filename="a.jpg"\r\n\r\n'
    chunks = [head] + [b"\xff" * 1_000_000] * 50  # 50 MB offered
    received: list[int] = []
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        received.append(1)
        more = len(received) < len(chunks)
        return {"type": "http.request", "body": chunks[len(received) - 1], "more_body": more}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": SUGGEST, "raw_path": SUGGEST.encode(), "query_string": b"",
        "root_path": "", "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80), "app": app,
        "headers": [(b"content-type", b"multipart/form-data; boundary=furima")],
    }  # fmt: skip
    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 413
    body = json.loads(b"".join(m.get("body", b"") for m in sent[1:]))
    assert body["error"]["message"].startswith("That photo is too large;")
    assert len(received) <= 12  # ~10 MB read, not 50
    assert fake.calls == []


def test_neither_photo_nor_text_is_422(client: TestClient) -> None:
    for response in (
        client.post(SUGGEST, json={}),
        client.post(SUGGEST, json={"text": "   ", "brand": "Puma"}),
        client.post(SUGGEST, data={"brand": "Puma"}),
    ):
        assert error_of(response, 422) == {
            "type": "nothing_to_suggest_from",
            "message": "Add a photo or a few words about your item, then press Suggest.",
        }


def test_text_too_long_is_422(client: TestClient) -> None:
    error = error_of(client.post(SUGGEST, json={"text": "a" * 2001}), 422)
    assert error["type"] == "text_too_long"
    assert "2,001 characters long; please shorten it to 2,000" in error["message"]


@pytest.mark.parametrize(
    ("send", "kind"),
    [
        ({"json": {"text": "shirt", "condition": 9}}, "invalid_condition"),
        ({"data": {"text": "shirt", "condition": "gorgeous"}}, "invalid_condition"),
        ({"json": {"text": "shirt", "colour": "red"}}, "invalid_request"),
        ({"json": ["shirt"]}, "invalid_request"),
        (
            {"content": b'{"text": "shirt"', "headers": {"content-type": "application/json"}},
            "bad_json",
        ),
    ],
)
def test_bad_fields_and_bad_json_are_422(client: TestClient, send: dict, kind: str) -> None:
    error = error_of(client.post(SUGGEST, **send), 422)
    assert error["type"] == kind
    assert error["message"]


@pytest.mark.parametrize(
    ("condition", "level"), [("New", 1), ("like-new", 2), ("NWT", 1), ("used", 3), (" 4 ", 4)]
)
def test_condition_words_become_levels(
    client: TestClient, fake: FakeAssistant, condition: str, level: int
) -> None:
    response = client.post(SUGGEST, data={"text": "white shopper", "condition": condition})
    assert response.status_code == 200, response.text
    assert fake.calls[-1]["condition"] == level


@pytest.mark.parametrize("condition", ["gorgeous", "0", "6", "2.5"])
def test_unknown_condition_words_list_the_known_ones(client: TestClient, condition: str) -> None:
    error = error_of(client.post(SUGGEST, data={"text": "shirt", "condition": condition}), 422)
    assert error["type"] == "invalid_condition"
    assert f"not {condition!r}" in error["message"]
    assert "1 'New', 2 'Like new', 3 'Good', 4 'Fair', 5 'Poor'" in error["message"]


def test_wrong_content_type_is_415(client: TestClient) -> None:
    plain = error_of(
        client.post(SUGGEST, content=b"x", headers={"content-type": "text/plain"}), 415
    )
    assert plain["type"] == "unsupported_media_type"
    assert "(got text/plain)" in plain["message"]
    missing = error_of(client.post(SUGGEST, content=b"shirt"), 415)
    assert "(got no content type)" in missing["message"]


def test_listing_photo_bytes_type_and_cache(
    client: TestClient, photo_listings: pd.DataFrame
) -> None:
    listing_id, photo = a_photo(photo_listings, "Tops")
    response = client.get(f"/v1/listings/{listing_id}/photo")
    assert response.status_code == 200
    assert response.content == photo
    assert response.headers["content-type"] == "image/jpeg"
    assert response.headers["cache-control"] == "public, max-age=86400"
    again = client.get(
        f"/v1/listings/{listing_id}/photo", headers={"if-none-match": response.headers["etag"]}
    )
    assert again.status_code == 304
    assert again.content == b""


def test_png_photo_is_served_as_png(
    fake: FakeAssistant, photo_listings: pd.DataFrame, tmp_path: Path
) -> None:
    from PIL import Image

    Image.new("RGB", (4, 4), (200, 10, 10)).save(tmp_path / "red.png")
    fake.catalog = pd.concat(
        [photo_listings, pd.DataFrame({"id": [7], "jpeg": [(tmp_path / "red.png").read_bytes()]})]
    )
    with TestClient(create_app(ServeSettings(), listing_assistant=fake)) as client:
        assert client.get("/v1/listings/7/photo").headers["content-type"] == "image/png"


def test_unknown_listing_photo_is_404(client: TestClient) -> None:
    error = error_of(client.get("/v1/listings/999999/photo"), 404)
    assert error["type"] == "unknown_listing"
    assert error["message"] == "That listing is not in the catalog."
    assert error_of(client.get("/v1/listings/abc/photo"), 422)["type"] == "invalid_request"


def test_unknown_route_and_method_are_json(client: TestClient) -> None:
    assert error_of(client.get("/v2/nothing"), 404)["type"] == "not_found"
    assert error_of(client.get(SUGGEST), 405)["type"] == "method_not_allowed"


def test_unexpected_failure_is_500_without_a_traceback(
    fake: FakeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(**kwargs: object) -> None:
        raise RuntimeError("secret internal state")

    fake.suggest = broken  # type: ignore[method-assign,assignment]
    app = create_app(ServeSettings(), listing_assistant=fake)
    with TestClient(app, raise_server_exceptions=False) as client:
        error = error_of(client.post(SUGGEST, json={"text": "shirt"}), 500)
        assert error_of(client.post(SUGGEST, json={}), 422)  # refusals are not logged as errors
    logged = [r for r in caplog.records if r.name == "furima.serve" and r.levelname == "ERROR"]
    assert len(logged) == 1
    assert "secret internal state" in str(logged[0].exc_info[1])  # in the log, not the response
    assert error == {
        "type": "server_error",
        "message": "Something went wrong on our side. Please try again in a moment.",
    }


def test_health_and_ready_with_an_injected_assistant(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok", "detail": None}
    assert client.get("/readyz").json() == {"status": "ready", "detail": None}
    assert client.get("/v1/assistant").json() == {
        "category": ["master_category", "sub_category", "article_type"],
        "attributes": ["base_colour", "gender", "usage"],
        "brand": None,
        "max_upload_bytes": 10 * 1024 * 1024,
        "max_text_chars": 2000,
    }


def test_openapi_documents_the_suggest_route(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    route = spec["paths"]["/v1/listings:suggest"]["post"]
    assert set(route["requestBody"]["content"]) == {"multipart/form-data", "application/json"}
    multipart = route["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"]
    assert multipart["photo"]["format"] == "binary"
    ok = route["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    schemas = spec["components"]["schemas"]
    response = schemas[ok.rsplit("/", 1)[-1]]
    assert set(response["properties"]) == {
        "fields", "title", "price", "similar", "notes", "elapsed_ms"
    }  # fmt: skip
    assert {"value", "filled", "confidence", "top"} <= set(schemas["FieldOut"]["properties"])
    assert "photo_url" in schemas["SimilarOut"]["properties"]
    for status in ("413", "415", "422", "503"):
        assert status in route["responses"]
    assert "/v1/listings/{listing_id}/photo" in spec["paths"]
    assert client.get("/docs").status_code == 200
