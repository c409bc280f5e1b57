"""The assistant slot: empty while loading, then the loaded assistant or why loading failed."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

from furima.serve._assistant import AssistantLoader, ListingAssistantLike

__all__ = ["AssistantSlot"]

logger = logging.getLogger("furima.serve")


class AssistantSlot:
    """Holds the server's listing assistant; routes read it, the lifespan hook fills it."""

    def __init__(self, assistant: ListingAssistantLike | None = None) -> None:
        self._assistant = assistant
        self.loading = False
        self.error: str | None = None
        self.registry_source: Callable[[], ListingAssistantLike | None] | None = None

    @property
    def assistant(self) -> ListingAssistantLike | None:
        """The assistant given or loaded from a folder, else the registry's champion."""
        if self._assistant is None and self.registry_source is not None:
            return self.registry_source()
        return self._assistant

    @assistant.setter
    def assistant(self, assistant: ListingAssistantLike | None) -> None:
        self._assistant = assistant

    async def load(self, loader: AssistantLoader, path: Path) -> None:
        """Load in a worker thread so health checks answer meanwhile; keep any error."""
        self.loading = True
        logger.info("loading the listing assistant from %s", path)
        try:
            self.assistant = await asyncio.to_thread(loader, path)
        except Exception as error:
            self.error = f"{type(error).__name__}: {error}"
            logger.error("could not load the listing assistant from %s: %s", path, self.error)
        else:
            logger.info("listing assistant loaded from %s", path)
        finally:
            self.loading = False

    def status(self) -> str:
        if self.assistant is not None:
            return "ready"
        if self.error is not None:
            return "failed"
        return "loading" if self.loading else "no_assistant"

    def status_detail(self) -> str | None:
        if self.error is not None:
            return f"loading the listing assistant failed: {self.error}"
        if self.assistant is None and not self.loading:
            return "no listing assistant configured (ServeSettings.listing_assistant is None)"
        return None
