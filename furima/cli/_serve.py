"""``furima serve``: the listing assistant's HTTP server and seller page under uvicorn."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from furima.cli._errors import reported_errors
from furima.exceptions import ModelFormatError

__all__ = ["serve"]


def serve(
    listing_assistant: Annotated[
        Path | None,
        typer.Option(help="Folder saved by ListingAssistant.save (none: page and health only)."),
    ] = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on.")] = 8000,
    max_upload_mb: Annotated[
        float, typer.Option(min=0.001, help="Photos over this many MB get 413.")
    ] = 10.0,
    max_text_chars: Annotated[int, typer.Option(min=1, help="Longer draft words get 422.")] = 2000,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Serve POST /v1/listings:suggest and the seller's page at http://HOST:PORT/."""
    import uvicorn

    from furima.serve import ServeSettings, create_app

    with reported_errors():
        if listing_assistant is not None and not listing_assistant.is_dir():
            raise ModelFormatError(
                f"--listing-assistant {str(listing_assistant)!r} is not a folder; pass the "
                "folder written by ListingAssistant.save."
            )
        settings = ServeSettings(
            listing_assistant=listing_assistant,
            max_upload_bytes=int(max_upload_mb * 1024 * 1024),
            max_text_chars=max_text_chars,
        )
        app = create_app(settings)
    uvicorn.run(app, host=host, port=port, log_level=log_level)
