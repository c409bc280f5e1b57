"""The review page and its JSON routes, over a :class:`~furima.safety.ReviewQueue` file.

DuckDB lets one process write a file at a time, so the server holds the queue's file only
while reviewers use it: a burst of requests (the queue, its thumbnails, a claim, a decision)
shares one open queue, which is closed once idle for :data:`KEEP_OPEN_SECONDS`. Several server
workers and a ``furima safety queue`` command so take turns on the file, each waiting up to
:data:`LOCK_WAIT_SECONDS` for the others. Queue errors become the server's usual JSON errors:
404 for a listing not in the queue, 409 when another reviewer decided or holds it, 422 for a
bad body, 503 while the file stays held elsewhere.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field

from furima.exceptions import ListingNotFoundError, ReviewConflictError, ReviewError, StoreError
from furima.serve._errors import RequestProblem
from furima.serve._media import photo_response
from furima.serve._schemas import error_responses

if TYPE_CHECKING:
    from fastapi import APIRouter

    from furima.safety._queue import ReviewQueue

__all__ = ["ClaimRequest", "DecisionRequest", "QueueKeeper", "review_routes"]

LOCK_WAIT_SECONDS = 3.0
KEEP_OPEN_SECONDS = 1.0
MAX_LIMIT = 100
_ERRORS = error_responses(
    (404, "The listing is not in the review queue."),
    (409, "Another reviewer decided the listing already, or holds it now."),
    (422, "A body or parameter that is not valid (outcome, reviewer, policies, limit)."),
    (503, "The queue's file is held by another process; try again."),
)


class ClaimRequest(BaseModel):
    """Take a listing for review so that no one else decides it meanwhile."""

    model_config = ConfigDict(extra="forbid")

    reviewer: str = Field(min_length=1, max_length=100, description="Who reviews it.")
    ttl_seconds: float = Field(300, gt=0, le=3600, description="How long the claim lasts.")


class DecisionRequest(BaseModel):
    """A reviewer's decision on a pending listing."""

    model_config = ConfigDict(extra="forbid")

    listing_id: str = Field(min_length=1, description="The listing decided.")
    reviewer: str = Field(min_length=1, max_length=100, description="Who decides.")
    outcome: Literal["approve", "remove"] = Field(description="Keep the listing, or take it down.")
    note: str = Field("", max_length=2000, description="The reviewer's words.")
    policies: list[str] | None = Field(
        None,
        description="The flagged policies the reviewer confirms (default: all flagged ones on "
        "remove, none on approve).",
    )


def photo_url(listing_id: str) -> str:
    return f"/v1/review/items/{quote(listing_id, safe='')}/photo"


def item_json(item: Any) -> dict[str, Any]:
    """A queue item for the page, with the address of its photo."""
    shown: dict[str, Any] = item.to_dict()
    shown["photo_url"] = photo_url(item.listing_id) if item.has_photo else None
    return shown


def review_routes(path: Path) -> APIRouter:
    """``GET /review`` and the ``/v1/review/...`` routes over the queue at ``path`` (created when
    missing; a file that is not a queue raises StoreError here, at start-up)."""
    from fastapi import APIRouter

    from furima.safety._queue import ReviewQueue

    ReviewQueue(path, lock_wait_seconds=LOCK_WAIT_SECONDS).close()
    keeper = QueueKeeper(path)

    @asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        yield
        keeper.close()

    router = APIRouter(tags=["review"], lifespan=lifespan)
    _page(router)
    _reads(router, keeper.use)
    _writes(router, keeper.use)
    return router


class QueueKeeper:
    """Opens the queue for the requests that need it and closes it once idle, so that other
    processes get their turn on the file; requests in between share the open queue (its calls
    are serialised by its own lock)."""

    def __init__(self, path: Path, keep_open_seconds: float = KEEP_OPEN_SECONDS) -> None:
        self.path = path
        self.keep_open_seconds = keep_open_seconds
        self._lock = threading.Lock()
        self._queue: ReviewQueue | None = None
        self._users = 0
        self._timer: threading.Timer | None = None

    @contextmanager
    def use(self) -> Iterator[ReviewQueue]:
        """The open queue for one request; queue errors as the server's JSON errors."""
        try:
            with self._held() as queue:
                yield queue
        except ReviewConflictError as exc:
            raise RequestProblem(409, "review_conflict", str(exc)) from None
        except ReviewError as exc:
            raise RequestProblem(422, "invalid_review", str(exc)) from None
        except ListingNotFoundError as exc:
            raise RequestProblem(404, "unknown_listing", str(exc)) from None
        except StoreError as exc:
            raise RequestProblem(
                503,
                "queue_busy",
                "The review queue cannot be read right now. Please try again in a moment.",
                str(exc),
                headers={"Retry-After": "2"},
            ) from None

    @contextmanager
    def _held(self) -> Iterator[ReviewQueue]:
        from furima.safety._queue import ReviewQueue

        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if self._queue is None:
                self._queue = ReviewQueue(self.path, lock_wait_seconds=LOCK_WAIT_SECONDS)
            self._users += 1
            queue = self._queue
        try:
            yield queue
        finally:
            with self._lock:
                self._users -= 1
                if self._users == 0:
                    self._timer = threading.Timer(self.keep_open_seconds, self.close_if_idle)
                    self._timer.daemon = True
                    self._timer.start()

    def close_if_idle(self) -> None:
        """Close the file unless a request is using it."""
        with self._lock:
            if self._users == 0 and self._queue is not None:
                self._queue.close()
                self._queue = None

    def close(self) -> None:
        """Close the file now (the server is stopping)."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if self._queue is not None:
                self._queue.close()
                self._queue = None


def _page(router: APIRouter) -> None:
    from fastapi.responses import FileResponse

    from furima.serve._routes import _PAGE_HEADERS, PAGES

    @router.get("/review", include_in_schema=False)
    def review_page() -> FileResponse:
        """The reviewer's page: the top flagged listing, its reasons, approve or remove."""
        return FileResponse(PAGES / "review.html", headers=_PAGE_HEADERS)


def _reads(router: APIRouter, opened: Callable[[], Any]) -> None:
    from fastapi import Header
    from fastapi.responses import Response

    @router.get(
        "/v1/review/queue", summary="Pending listings, most urgent first", responses=_ERRORS
    )
    def queue(
        limit: int = 20, policy: str | None = None, reviewer: str | None = None
    ) -> dict[str, Any]:
        if not 1 <= limit <= MAX_LIMIT:
            raise RequestProblem(
                422, "invalid_request", f"limit must be between 1 and {MAX_LIMIT}, but got {limit}."
            )
        with opened() as review:
            items = review.pending(limit, policy=policy or None, reviewer=reviewer or None)
            return {"items": [item_json(item) for item in items], "stats": review.stats()}

    @router.get(
        "/v1/review/items/{listing_id}", summary="A listing in the queue", responses=_ERRORS
    )
    def item(listing_id: str) -> dict[str, Any]:
        with opened() as review:
            return item_json(review.item(listing_id))

    @router.get(
        "/v1/review/items/{listing_id}/photo",
        summary="The photo of a listing in the queue",
        response_class=Response,
        responses={200: {"content": {"image/jpeg": {}}, "description": "The photo."}, **_ERRORS},
    )
    def photo(listing_id: str, if_none_match: str | None = Header(None)) -> Response:
        with opened() as review:
            data = review.photo(listing_id)
        if not data:
            raise RequestProblem(
                404,
                "unknown_listing",
                f"The review queue holds no photo of listing {listing_id!r}.",
            )
        return photo_response(data, if_none_match, cache="no-cache")


def _writes(router: APIRouter, opened: Callable[[], Any]) -> None:
    @router.post(
        "/v1/review/items/{listing_id}:claim",
        summary="Take a listing for review (409 while another reviewer holds it)",
        responses=_ERRORS,
    )
    def claim(listing_id: str, body: ClaimRequest) -> dict[str, Any]:
        with opened() as review:
            held = review.claim(listing_id, body.reviewer, ttl_seconds=body.ttl_seconds)
            return item_json(held)

    @router.post(
        "/v1/review/decisions",
        summary="Approve or remove a pending listing (recorded once)",
        responses=_ERRORS,
    )
    def decide(body: DecisionRequest) -> dict[str, Any]:
        with opened() as review:
            decision = review.decide(
                body.listing_id,
                body.reviewer,
                body.outcome,
                note=body.note,
                policies=body.policies,
            )
            return {"decision": decision.to_dict(), "stats": review.stats()}
