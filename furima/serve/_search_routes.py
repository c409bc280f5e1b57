"""The ``search`` task's GET routes and the search page itself.

The routes read the version that serves as champion right now, so the page always shows the
photos of the catalog that answers its searches: ``/v1/search/listings/{id}/photo`` and
``/v1/search/examples`` (a few searches to start from, before the buyer has typed anything).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from furima.serve._errors import RequestProblem
from furima.serve._media import photo_response
from furima.serve._schemas import ErrorResponse

if TYPE_CHECKING:
    from fastapi import APIRouter
    from fastapi.responses import FileResponse

    from furima.serve._deployments import TaskSlot

__all__ = ["example_queries", "facet_fields", "search_page", "search_routes"]

_MAX_EXAMPLES = 24
_MAX_FACETS = 10
_FIRST_FACETS = ("category", "colour", "condition")
_UNCOUNTED = ("status",)
_NOT_READY = {"model": ErrorResponse, "description": "No search model is loaded yet."}
_UNKNOWN = {"model": ErrorResponse, "description": "No such listing (or no photo of it)."}


async def search_page() -> FileResponse:
    """The buyer's search page (needs a registered ``search`` model)."""
    from fastapi.responses import FileResponse

    from furima.serve._routes import _PAGE_HEADERS, PAGES

    return FileResponse(PAGES / "search.html", headers=_PAGE_HEADERS)


def example_queries(model: Any, n: int) -> list[str]:
    """Up to ``n`` searches built from the catalog itself: its most common categories on sale,
    each with its most common colour ("Black Watches"), or alone when there are no colours."""
    table = model.facets
    if "category" not in table.fields:
        return []
    on_sale = table.mask(table.check(None))
    rows = np.flatnonzero(on_sale) if on_sale is not None else np.arange(len(table))
    queries = []
    for category in table.counts(rows, ["category"])["category"][:n]:
        colour = _top_colour(table, rows, category["value"]) if "colour" in table.fields else None
        queries.append(f"{colour} {category['value']}" if colour else category["value"])
    return queries


def _top_colour(table: Any, rows: np.ndarray, category: str) -> str | None:
    inside = rows[table.mask({"category": category})[rows]]
    colours = table.counts(inside, ["colour"])["colour"]
    return str(colours[0]["value"]) if colours else None


def facet_fields(model: Any) -> list[str]:
    """The fields the page asks to count: category, colour and condition first, the catalog's
    other attributes, then price (at most ten)."""
    fields = [name for name in model.facets.fields if name not in _UNCOUNTED]
    first = [name for name in _FIRST_FACETS if name in fields]
    rest = [name for name in fields if name not in first and name != "price"]
    ordered = [*first, *rest][: _MAX_FACETS - 1]
    return [*ordered, "price"] if "price" in fields else ordered


def search_routes(slot: TaskSlot) -> APIRouter:
    """``GET /v1/search/examples`` and ``GET /v1/search/listings/{id}/photo``."""
    from fastapi import APIRouter, Header
    from fastapi.responses import Response

    router = APIRouter(tags=[slot.task.name])

    @router.get(
        "/v1/search/examples",
        summary="Searches to start from, the fields a search counts and whether it takes "
        "photos (for the search page)",
        responses={503: _NOT_READY},
    )
    async def examples(n: int = 8) -> dict[str, Any]:
        if not 1 <= n <= _MAX_EXAMPLES:
            raise RequestProblem(
                422, "invalid_request", f"n must be between 1 and {_MAX_EXAMPLES}, but got {n}."
            )
        model, version = slot.serving("Search is")
        return {
            "queries": example_queries(model, n),
            "facets": facet_fields(model),
            "photo_search": model.photo_pool is not None,
            "version": version,
        }

    @router.get(
        "/v1/search/listings/{listing_id}/photo",
        summary="A searchable listing's photo",
        response_class=Response,
        response_model=None,
        responses={
            200: {"content": {"image/jpeg": {}}, "description": "The photo."},
            404: _UNKNOWN,
            503: _NOT_READY,
        },
    )
    async def photo(listing_id: str, if_none_match: str | None = Header(None)) -> Response:
        model, _version = slot.serving("Search is")
        data = model.photo(int(listing_id)) if listing_id.isdigit() else None
        if not data:
            raise RequestProblem(
                404,
                "unknown_listing",
                f"There is no photo for listing {listing_id!r} in the searched catalog.",
            )
        return photo_response(data, if_none_match)

    return router
