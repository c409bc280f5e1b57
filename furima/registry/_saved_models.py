"""What a saved furima folder is: the task its manifest's format serves, and the folder to log
for a fitted model or a path."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from furima._artifacts import MANIFEST
from furima.exceptions import ModelFormatError

__all__ = ["FORMAT_TASKS", "manifest_of", "saved_folder", "task_of"]

FORMAT_TASKS = {
    "furima.price_model": "price",
    "furima.listing_assistant": "listing",
    "furima.similar_search": "similar",
    "furima.recommender": "recommend",
    "furima.safety_checker": "safety",
    "furima.buyer_search": "search",
    "furima.feed_ranker": "rank",
    "furima.fraud_scorer": "fraud",
    "furima.scorecard": "credit",
    "furima.credit_gbm": "credit",
    "furima.credit_blend": "credit",
    "furima.sell_chance_model": "sell_chance",
}
"""The task a saved furima folder serves, by its manifest's ``format``."""


@contextmanager
def saved_folder(model: Any) -> Iterator[Path]:
    """The folder to log: ``model`` itself when it is a path, else a fresh save of it."""
    if isinstance(model, str | Path):
        folder = Path(model)
        if not folder.is_dir():
            raise ModelFormatError(
                f"{str(folder)!r} is not a folder; pass a fitted model or the folder its "
                f"save() wrote."
            )
        yield folder.resolve()
        return
    if not callable(getattr(model, "save", None)):
        raise TypeError(
            f"log_model needs a fitted furima model (with save()) or a saved folder, "
            f"not {type(model).__name__}."
        )
    with tempfile.TemporaryDirectory(prefix="furima-log-") as scratch:
        yield Path(model.save(Path(scratch) / "model")).resolve()


def manifest_of(folder: Path) -> dict[str, Any]:
    path = folder / MANIFEST
    if not path.is_file():
        return {}
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise ModelFormatError(f"{str(path)!r} is not a readable manifest: {error}") from None
    return data


def task_of(manifest: Mapping[str, Any], folder: Path) -> str:
    form = manifest.get("format")
    if form in FORMAT_TASKS:
        return FORMAT_TASKS[str(form)]
    raise ModelFormatError(
        f"Cannot tell which task {str(folder)!r} serves (manifest format {form!r}); pass "
        f"task= explicitly. Known formats: {', '.join(sorted(FORMAT_TASKS))}."
    )
