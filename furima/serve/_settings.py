"""The server's one typed settings object, read at the edge (CLI or the caller of create_app)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["ServeSettings"]

MIB = 1024 * 1024


@dataclass(frozen=True)
class ServeSettings:
    """What the HTTP server needs to know.

    Attributes:
        listing_assistant: Folder saved by ``ListingAssistant.save``; ``None`` serves the page
            and health checks only (``/readyz`` stays 503) unless an assistant is injected.
        max_upload_bytes: Photos larger than this are refused with 413 while being read.
        max_text_chars: Draft words longer than this are refused with 422.
    """

    listing_assistant: Path | None = None
    max_upload_bytes: int = 10 * MIB
    max_text_chars: int = 2000

    def __post_init__(self) -> None:
        if self.listing_assistant is not None and not isinstance(self.listing_assistant, Path):
            object.__setattr__(self, "listing_assistant", Path(self.listing_assistant))
        if self.max_upload_bytes < 1:
            raise ValueError(
                f"`max_upload_bytes` must be a positive number of bytes, "
                f"but got {self.max_upload_bytes}."
            )
        if self.max_text_chars < 1:
            raise ValueError(
                f"`max_text_chars` must be a positive number of characters, "
                f"but got {self.max_text_chars}."
            )
