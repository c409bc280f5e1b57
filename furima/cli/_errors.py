"""One place that turns furima's errors into a message and exit code 1, never a traceback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console

from furima.exceptions import FurimaError

__all__ = ["reported_errors"]


@contextmanager
def reported_errors() -> Iterator[None]:
    """Print a FurimaError (or a bad parameter) on stderr and exit with code 1."""
    try:
        yield
    except (FurimaError, ValueError, FileNotFoundError) as exc:
        Console(stderr=True).print(
            f"error: {exc}", style="red", markup=False, highlight=False, soft_wrap=True
        )
        raise typer.Exit(code=1) from None
