"""A request-body limit for the JSON task endpoints, enforced before the body is parsed."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any

from furima.serve._errors import RequestProblem

__all__ = ["BodyLimit"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BodyLimit:
    """Refuse bodies over their path's limit with 413: at once when ``Content-Length`` says
    so, else as soon as the streamed body passes the limit.

    ``limits`` maps each limited path to its most bytes; it is read on every request, so the
    server can add endpoints to it as tasks appear.
    """

    def __init__(self, app: ASGIApp, *, limits: Mapping[str, int]) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self.limits.get(scope["path"]) if scope["type"] == "http" else None
        if limit is None:
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _refuse(send, _problem(limit, int(declared)))
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise _problem(limit, None)
            return message

        await self.app(scope, limited, send)


def _problem(limit: int, size: int | None) -> RequestProblem:
    what = f"The request body is {size:,} bytes" if size else "The request body is too large"
    return RequestProblem(
        413,
        "body_too_large",
        f"{what}; this endpoint takes at most {limit:,} bytes of JSON. Send one listing per "
        "request (and a photo of at most the server's upload limit).",
    )


async def _refuse(send: Send, problem: RequestProblem) -> None:
    body = json.dumps({"error": {"type": problem.kind, "message": problem.message}}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": problem.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
