"""One map from exceptions to HTTP status codes and a JSON body a seller can read.

Every error response is ``{"error": {"type": ..., "message": ...}}``; ``message`` is written for
the seller, and an optional ``detail`` keeps the technical reason for developers. No traceback
ever reaches the client.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from furima.exceptions import DataError, FurimaError, ImageError, ListingNotFoundError

if TYPE_CHECKING:
    from fastapi import FastAPI, Request
    from starlette.responses import Response

__all__ = ["RequestProblem", "install_error_handlers", "photo_too_large"]

logger = logging.getLogger("furima.serve")

_TRY_AGAIN = "Something went wrong on our side. Please try again in a moment."


class RequestProblem(FurimaError):
    """A request the server refuses, with its status, kind and the seller's message."""

    def __init__(
        self,
        status: int,
        kind: str,
        message: str,
        detail: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.status = status
        self.kind = kind
        self.message = message
        self.detail = detail
        self.headers = headers
        super().__init__(message)


def photo_too_large(limit: int, size: int | None = None) -> RequestProblem:
    """413 for a photo over ``limit`` bytes (``size`` when known from the headers)."""
    what = f"That photo is {size / 1e6:.1f} MB" if size else "That photo is too large"
    return RequestProblem(
        413,
        "photo_too_large",
        f"{what}; photos can be at most {limit / 1e6:.0f} MB. "
        "Please choose a smaller photo or resize it.",
    )


def _body(kind: str, message: str, detail: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"type": kind, "message": message}
    if detail:
        error["detail"] = detail
    return {"error": error}


def _classify(exc: Exception) -> tuple[int, str, str, str | None]:
    """(status, type, seller message, technical detail) for any exception."""
    if isinstance(exc, RequestProblem):
        return exc.status, exc.kind, exc.message, exc.detail
    if isinstance(exc, ImageError):
        return (
            422,
            "unreadable_photo",
            "We could not open that photo: it may be damaged, cut off or too large. "
            "Please upload it again, or choose another JPEG or PNG.",
            str(exc),
        )
    if isinstance(exc, DataError):
        return 422, "unusable_input", f"We could not use what you sent: {exc}", None
    if isinstance(exc, ListingNotFoundError):
        return 404, "unknown_listing", "That listing is not in the catalog.", str(exc)
    return 500, "server_error", _TRY_AGAIN, None


def _http_problem(exc: Any) -> tuple[int, str, str, str | None]:
    status = int(exc.status_code)
    kinds = {404: "not_found", 405: "method_not_allowed", 400: "bad_request"}
    messages = {
        404: "There is nothing at this address.",
        405: "This address does not accept that kind of request.",
    }
    detail = str(exc.detail) if exc.detail else None
    message = messages.get(status, detail or "The request could not be handled.")
    return status, kinds.get(status, f"http_{status}"), message, detail


def _validation_problem(exc: Any) -> tuple[int, str, str, str | None]:
    broken = [e for e in exc.errors() if e.get("type") == "json_invalid"]
    if broken:
        where = broken[0]["loc"][-1]
        reason = (broken[0].get("ctx") or {}).get("error", "not JSON")
        return (
            422,
            "invalid_json",
            f"The request body is not valid JSON ({reason} at character {where}). Send one "
            "JSON object with Content-Type: application/json.",
            None,
        )
    problems = [
        f"{'.'.join(str(part) for part in error['loc'] if part not in ('body', 'path'))}: "
        f"{error['msg']}"
        for error in exc.errors()
    ]
    return (
        422,
        "invalid_request",
        "Some of what you sent is not valid: " + "; ".join(problems),
        None,
    )


def install_error_handlers(app: FastAPI) -> None:
    """Register the one handler map on ``app``."""
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException

    app.add_exception_handler(FurimaError, _handler(_classify))
    app.add_exception_handler(HTTPException, _handler(_http_problem))
    app.add_exception_handler(RequestValidationError, _handler(_validation_problem))
    app.add_exception_handler(Exception, _handler(_classify))


def _handler(
    classify: Callable[[Any], tuple[int, str, str, str | None]],
) -> Callable[[Request, Exception], Awaitable[Response]]:
    from fastapi.responses import JSONResponse

    async def handle(request: Request, exc: Exception) -> Response:
        status, kind, message, detail = classify(exc)
        if status == 500:  # unexpected: keep the traceback in the server's log
            logger.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        headers = getattr(exc, "headers", None) if status < 500 or status == 503 else None
        return JSONResponse(_body(kind, message, detail), status_code=status, headers=headers)

    return handle
