"""The HTTP routes: suggestions, catalog photos, health checks, the seller's and the buyer's
pages."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from furima.serve._assistant import ListingAssistantLike
from furima.serve._errors import RequestProblem
from furima.serve._inputs import read_suggest_request
from furima.serve._media import photo_response
from furima.serve._schemas import (
    AssistantInfo,
    ErrorResponse,
    HealthOut,
    SuggestRequest,
    SuggestResponse,
    error_responses,
)
from furima.serve._serving import ModelServing
from furima.serve._settings import ServeSettings
from furima.serve._state import AssistantSlot

__all__ = ["PAGES", "router"]

PAGES = Path(__file__).resolve().parent / "pages"

router = APIRouter()

_ERRORS = error_responses(
    (413, "The photo is over the size limit."),
    (415, "The file is not a photo, or the body is neither multipart nor JSON."),
    (422, "Nothing to suggest from, text too long, bad condition, unreadable photo."),
    (503, "The listing assistant is still loading."),
)

_SUGGEST_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "photo": {
                            "type": "string",
                            "format": "binary",
                            "description": "A photo of the item (JPEG, PNG, WebP, GIF, BMP).",
                        },
                        "text": {"type": "string", "description": "The seller's draft words."},
                        "brand": {"type": "string", "description": "The brand, if known."},
                        "condition": {"type": "integer", "minimum": 1, "maximum": 5},
                    },
                }
            },
            "application/json": {"schema": SuggestRequest.model_json_schema()},
        },
    }
}


def _settings(request: Request) -> ServeSettings:
    settings: ServeSettings = request.app.state.settings
    return settings


def _slot(request: Request) -> AssistantSlot:
    slot: AssistantSlot = request.app.state.assistant
    return slot


def _ready_assistant(request: Request) -> ListingAssistantLike:
    slot = _slot(request)
    if slot.assistant is None:
        message = (
            "The listing assistant is still starting up. Please try again in a few seconds."
            if slot.loading
            else "Suggestions are not available on this server right now. Please try again later."
        )
        raise RequestProblem(503, "not_ready", message, slot.status_detail())
    return slot.assistant


Assistant = Annotated[ListingAssistantLike, Depends(_ready_assistant)]


@router.post(
    "/v1/listings:suggest",
    response_model=SuggestResponse,
    responses=_ERRORS,
    openapi_extra=_SUGGEST_BODY,
    summary="Suggest a listing's fields, title and price from a photo and/or words",
)
async def suggest(request: Request, assistant: Assistant) -> dict[str, Any]:
    """Multipart (``photo``, ``text``, ``brand``, ``condition``) or JSON (no photo)."""
    inputs = await read_suggest_request(request, _settings(request))
    started = time.perf_counter()
    suggestion = await run_in_threadpool(
        assistant.suggest,
        photo=inputs.photo,
        text=inputs.text,
        brand=inputs.brand,
        condition=inputs.condition,
    )
    payload: dict[str, Any] = suggestion.to_dict()
    for listing in payload["similar"]:
        listing["photo_url"] = f"/v1/listings/{listing['id']}/photo"
    payload["elapsed_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return payload


@router.get(
    "/v1/listings/{listing_id}/photo",
    response_class=Response,
    responses={
        200: {"content": {"image/jpeg": {}, "image/png": {}}, "description": "The photo."},
        404: {"model": ErrorResponse, "description": "No such listing."},
        503: _ERRORS[503],
    },
    summary="A catalog listing's photo",
)
async def listing_photo(listing_id: int, request: Request, assistant: Assistant) -> Response:
    data = await run_in_threadpool(assistant.photo, listing_id)
    return photo_response(data, request.headers.get("if-none-match"))


@router.get(
    "/v1/assistant",
    response_model=AssistantInfo,
    responses={503: _ERRORS[503]},
    summary="The fields the assistant fills and the upload limits",
)
async def assistant_info(request: Request, assistant: Assistant) -> dict[str, Any]:
    settings = _settings(request)
    fields = assistant.fields_
    return {
        "category": list(fields.category),
        "attributes": list(fields.attributes),
        "brand": fields.brand,
        "max_upload_bytes": settings.max_upload_bytes,
        "max_text_chars": settings.max_text_chars,
    }


@router.get("/healthz", response_model=HealthOut, summary="The process is up")
async def healthz() -> dict[str, Any]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    response_model=HealthOut,
    responses={503: {"model": HealthOut, "description": "Not ready yet (or loading failed)."}},
    summary="Every configured model is loaded and requests can be served",
)
async def readyz(request: Request) -> Any:
    slot = _slot(request)
    serving: ModelServing | None = request.app.state.serving
    ready, problems = serving.readiness() if serving is not None else (True, [])
    if _wants_assistant(request):
        ready = ready and slot.assistant is not None
        problems = [p for p in (slot.status_detail(),) if p] + problems
    detail = "; ".join(problems) or None
    if ready:
        return {"status": "ready", "detail": detail}
    status = slot.status() if slot.assistant is None and _wants_assistant(request) else "loading"
    return JSONResponse({"status": status, "detail": detail}, status_code=503)


def _wants_assistant(request: Request) -> bool:
    """Whether the listing assistant is part of this server (it is unless only models are)."""
    slot = _slot(request)
    configured = slot.assistant is not None or slot.loading or slot.error is not None
    return (
        configured
        or _settings(request).listing_assistant is not None
        or (request.app.state.serving is None)
    )


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    """Prometheus metrics: requests, latency, errors, batch sizes, served versions."""
    serving: ModelServing | None = request.app.state.serving
    if serving is not None:
        serving.observe_queues()
    body, content_type = request.app.state.metrics.render()
    return Response(body, media_type=content_type)


@router.get("/", include_in_schema=False)
async def seller_page() -> FileResponse:
    return FileResponse(PAGES / "index.html", headers=_PAGE_HEADERS)


@router.get("/buyer", include_in_schema=False)
async def buyer_page() -> FileResponse:
    """The buyer's feed and "more like this" (needs a registered ``recommend`` model)."""
    return FileResponse(PAGES / "buyer.html", headers=_PAGE_HEADERS)


# Everything the page uses comes from this server: nothing is fetched from the internet.
_PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
}
