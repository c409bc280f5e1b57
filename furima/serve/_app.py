"""``create_app``: the FastAPI application, its lifespan hook and its error map."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from furima.serve._assistant import AssistantLoader, ListingAssistantLike, load_assistant
from furima.serve._settings import ServeSettings

if TYPE_CHECKING:
    from fastapi import FastAPI

    from furima.registry import ModelRegistry

__all__ = ["create_app"]


def create_app(
    settings: ServeSettings,
    *,
    listing_assistant: ListingAssistantLike | None = None,
    loader: AssistantLoader = load_assistant,
    registry: ModelRegistry | None = None,
) -> FastAPI:
    """Build the HTTP server: registered models, the listing assistant and the seller's page.

    Args:
        settings: The registry and the assistant to serve, batching and request limits.
        listing_assistant: An already-loaded assistant (tests, notebooks); skips loading.
        loader: Loads ``settings.listing_assistant`` in the lifespan hook, in a worker thread,
            while ``/healthz`` already answers and ``/readyz`` says 503.
        registry: A registry object to serve from (default: ``settings.registry``). With
            either, every servable registered task gets its endpoint, and new champions and
            challengers are swapped in as the registry changes.
    """
    import asyncio
    import contextlib

    from fastapi import FastAPI
    from fastapi.staticfiles import StaticFiles

    import furima
    from furima.serve._errors import install_error_handlers
    from furima.serve._experiment_routes import install_experiments
    from furima.serve._limits import BodyLimit
    from furima.serve._metrics import HttpMetrics, ServerMetrics
    from furima.serve._routes import PAGES, router
    from furima.serve._search_routes import search_page
    from furima.serve._serving import ModelServing
    from furima.serve._state import AssistantSlot

    slot = AssistantSlot(listing_assistant)
    metrics = ServerMetrics()
    serving = None
    if registry is None and settings.registry is not None:
        from furima.registry import ModelRegistry

        registry = ModelRegistry(settings.registry, artifact_root=settings.artifact_root)
    if registry is not None:
        serving = ModelServing(settings, registry, metrics)
        if "listing" in serving.slots and listing_assistant is None:
            slot.registry_source = lambda: serving.champion("listing")

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        task = None
        if slot.assistant is None and settings.listing_assistant is not None:
            task = asyncio.create_task(slot.load(loader, settings.listing_assistant))
        if serving is not None:
            await serving.start()
        yield
        if serving is not None:
            await serving.stop()
        if task is not None and not task.done():
            task.cancel()

    app = FastAPI(
        title="furima",
        version=furima.__version__,
        summary="Price suggestions, similar listings and the listing assistant, served from "
        "the model registry.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.assistant = slot
    app.state.serving = serving
    app.state.metrics = metrics
    install_error_handlers(app)
    app.include_router(router)
    app.add_api_route("/search", search_page, include_in_schema=False)
    if settings.review_queue is not None:
        from furima.serve._review_routes import review_routes

        app.include_router(review_routes(settings.review_queue))
    install_experiments(app, settings.experiment_log, metrics)
    if serving is not None:
        serving.install(app)
        app.add_middleware(BodyLimit, limits=serving.body_limits)
    app.add_middleware(HttpMetrics, metrics=metrics)
    app.mount("/static", StaticFiles(directory=PAGES), name="static")
    return app
