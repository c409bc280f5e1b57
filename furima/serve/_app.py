"""``create_app``: the FastAPI application, its lifespan hook and its error map."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from furima.serve._assistant import AssistantLoader, ListingAssistantLike, load_assistant
from furima.serve._settings import ServeSettings

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = ["create_app"]


def create_app(
    settings: ServeSettings,
    *,
    listing_assistant: ListingAssistantLike | None = None,
    loader: AssistantLoader = load_assistant,
) -> FastAPI:
    """Build the HTTP server for the listing assistant and the seller's page.

    Args:
        settings: Where the assistant is and the request limits.
        listing_assistant: An already-loaded assistant (tests, notebooks); skips loading.
        loader: Loads ``settings.listing_assistant`` in the lifespan hook, in a worker thread,
            while ``/healthz`` already answers and ``/readyz`` says 503.
    """
    import asyncio
    import contextlib

    from fastapi import FastAPI
    from fastapi.staticfiles import StaticFiles

    import furima
    from furima.serve._errors import install_error_handlers
    from furima.serve._routes import PAGES, router
    from furima.serve._state import AssistantSlot

    slot = AssistantSlot(listing_assistant)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        task = None
        if slot.assistant is None and settings.listing_assistant is not None:
            task = asyncio.create_task(slot.load(loader, settings.listing_assistant))
        yield
        if task is not None and not task.done():
            task.cancel()

    app = FastAPI(
        title="furima listing assistant",
        version=furima.__version__,
        summary="Photo and words in; category, attributes, title and price suggestions out.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.assistant = slot
    install_error_handlers(app)
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=PAGES), name="static")
    return app
