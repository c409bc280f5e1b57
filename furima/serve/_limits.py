"""A request-body limit for the JSON task endpoints, enforced before the body is parsed."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Collection, MutableMapping
from typing import Any

from furima.serve._errors import RequestProblem

__all__ = ["BodyLimit"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BodyLimit:
    """Refuse bodies over ``limit`` bytes on ``paths`` with 413: at once when
    ``Content-Length`` says so, else as soon as the streamed body passes the limit."""

    def __init__(self, app: ASGIApp, *, paths: Collection[str], limit: int) -> None:
        self.app = app
        self.paths = paths
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in self.paths:
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await _refuse(send, self._problem(int(declared)))
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                raise self._problem(None)
            return message

        await self.app(scope, limited, send)

    def _problem(self, size: int | None) -> RequestProblem:
        what = f"The request body is {size:,} bytes" if size else "The request body is too large"
        return RequestProblem(
            413,
            "body_too_large",
            f"{what}; this endpoint takes at most {self.limit:,} bytes of JSON. Send one "
            f"listing per request.",
        )


async def _refuse(send: Send, problem: RequestProblem) -> None:
    body = json.dumps({"error": {"type": problem.kind, "message": problem.message}}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": problem.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
