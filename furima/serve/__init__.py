"""The HTTP server of the listing assistant, and the seller's page.

:func:`create_app` builds a FastAPI app from one :class:`ServeSettings`; the assistant loads in
the lifespan hook. ``furima serve`` runs it under uvicorn. FastAPI is imported only when an app
is created, so ``import furima.serve`` stays light.
"""

from __future__ import annotations

from furima.serve._app import create_app
from furima.serve._assistant import ListingAssistantLike
from furima.serve._background import running_server
from furima.serve._settings import ServeSettings

__all__ = ["ListingAssistantLike", "ServeSettings", "create_app", "running_server"]
