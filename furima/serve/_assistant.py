"""What the server needs from the listing assistant, and how it loads one from disk.

The server depends on this small protocol, not on ``furima.listing`` itself, so tests can pass
an in-memory assistant and ``import furima.serve`` does not load the models.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from furima.listing._suggestion import ListingSuggestion

__all__ = [
    "AssistantFields",
    "AssistantLoader",
    "ListingAssistantLike",
    "load_assistant",
]


class AssistantFields(Protocol):
    """The catalog columns the assistant fills (``furima.listing.ListingFields``)."""

    @property
    def category(self) -> Sequence[str]: ...

    @property
    def attributes(self) -> Sequence[str]: ...

    @property
    def brand(self) -> str | None: ...


class ListingAssistantLike(Protocol):
    """The contract the server relies on (``furima.listing.ListingAssistant`` fulfils it).

    ``suggest`` raises ``ImageError`` for unreadable photos and ``DataError`` for unusable
    input; ``photo`` returns a catalog listing's encoded image and raises
    ``ListingNotFoundError`` (``UnknownListingError``) for an unknown id. Both may be slow and
    are called from worker threads.
    """

    def suggest(
        self,
        *,
        photo: Any | None = None,
        text: str | None = None,
        brand: str | None = None,
        condition: int | None = None,
    ) -> ListingSuggestion: ...

    def photo(self, listing_id: int) -> bytes: ...

    @property
    def fields_(self) -> AssistantFields:
        """The catalog columns it fills."""


AssistantLoader = Callable[[Path], ListingAssistantLike]
"""Turns ``ServeSettings.listing_assistant`` into a loaded assistant."""


def load_assistant(path: Path) -> ListingAssistantLike:
    """Load a folder saved by ``ListingAssistant.save`` (imports the models lazily)."""
    from furima.listing import ListingAssistant

    assistant: ListingAssistantLike = ListingAssistant.load(path)
    return assistant
