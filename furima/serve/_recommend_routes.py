"""The ``recommend`` task's GET routes, for the buyer's page: sample users, listings, photos.

They read the version that serves as champion right now, so the page always shows the listings
of the model that answers its feed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from furima.serve._errors import RequestProblem
from furima.serve._media import photo_response
from furima.serve._schemas import ErrorResponse

if TYPE_CHECKING:
    from fastapi import APIRouter

    from furima.serve._deployments import TaskSlot

__all__ = ["recommend_routes"]

_MAX_USERS = 100
_NOT_READY = {"model": ErrorResponse, "description": "No recommend model is loaded yet."}
_UNKNOWN = {"model": ErrorResponse, "description": "No such listing (or no photo of it)."}


def _unknown(listing_id: str, what: str = "listing") -> RequestProblem:
    return RequestProblem(
        404,
        "unknown_listing",
        f"There is no {what} for listing {listing_id!r} in the recommended catalog.",
    )


def recommend_routes(slot: TaskSlot) -> APIRouter:
    """``GET /v1/recommend/users``, ``/v1/recommend/listings/{id}`` and its ``/photo``."""
    from fastapi import APIRouter, Header
    from fastapi.responses import Response

    router = APIRouter(tags=[slot.task.name])

    @router.get(
        "/v1/recommend/users",
        summary="A few known user ids (the buyer's page offers them to choose from)",
        responses={503: _NOT_READY},
    )
    async def sample_users(n: int = 8) -> dict[str, Any]:
        if not 1 <= n <= _MAX_USERS:
            raise RequestProblem(
                422, "invalid_request", f"n must be between 1 and {_MAX_USERS}, but got {n}."
            )
        model, version = slot.serving("Recommendations are")
        return {"users": list(model.users_sample(n)), "version": version}

    @router.get(
        "/v1/recommend/listings/{listing_id}",
        summary="A recommendable listing's display fields",
        responses={404: _UNKNOWN, 503: _NOT_READY},
    )
    async def listing(listing_id: str) -> dict[str, Any]:
        from furima.serve._task_recommend import photo_url

        model, _version = slot.serving("Recommendations are")
        found = model.listing(listing_id)
        if found is None:
            raise _unknown(listing_id)
        shown = dict(found)
        has_photo = shown.pop("has_photo", None)
        if has_photo is None:
            has_photo = model.photo(listing_id) is not None
        shown["photo_url"] = photo_url(listing_id) if has_photo else None
        return shown

    @router.get(
        "/v1/recommend/listings/{listing_id}/photo",
        summary="A recommendable listing's photo",
        response_class=Response,
        response_model=None,
        responses={
            200: {"content": {"image/jpeg": {}}, "description": "The photo."},
            404: _UNKNOWN,
            503: _NOT_READY,
        },
    )
    async def photo(
        listing_id: str,
        if_none_match: str | None = Header(None),
    ) -> Response:
        model, _version = slot.serving("Recommendations are")
        data = model.photo(listing_id)
        if not data:
            raise _unknown(listing_id, "photo")
        return photo_response(data, if_none_match)

    return router
