"""A seller's request to the listing assistant, validated: a photo and/or words, and extras."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from furima.exceptions import DataError

__all__ = ["MAX_TEXT_CHARS", "Query", "ascii_share", "validated_queries"]

#: Longer draft texts are refused (a listing description is a few hundred characters).
MAX_TEXT_CHARS = 5000


@dataclass(frozen=True)
class Query:
    """One seller request, validated."""

    photo: Any | None
    text: str | None
    brand: str | None
    condition: int | None


def validated_queries(
    photos: Sequence[Any | None] | None,
    texts: Sequence[str | None] | None,
    brands: Sequence[str | None] | None,
    conditions: Sequence[int | None] | None,
) -> list[Query]:
    """One :class:`Query` per listing from parallel lists (``None``: that input is absent);
    raises :class:`DataError` naming the listing and what is wrong with it."""
    given = [x for x in (photos, texts) if x is not None]
    if not given:
        raise DataError("give a photo or some words describing the item (or both).")
    n = len(given[0])
    columns = [
        list(x) if x is not None else [None] * n for x in (photos, texts, brands, conditions)
    ]
    if any(len(column) != n for column in columns):
        raise DataError("photos, texts, brands and conditions must have one entry per listing.")
    return [_query(i, *values) for i, values in enumerate(zip(*columns, strict=True))]


def _query(row: int, photo: Any, text: Any, brand: Any, condition: Any) -> Query:
    where = f"listing {row}: " if row else ""
    if isinstance(photo, bytes | str) and len(photo) == 0:
        photo = None
    text = str(text).strip() if text is not None else None
    if text is not None and len(text) > MAX_TEXT_CHARS:
        raise DataError(
            f"{where}the words are {len(text):,} characters long; keep them under "
            f"{MAX_TEXT_CHARS:,} (a title and a short description are enough)."
        )
    if photo is None and not text:
        raise DataError(f"{where}give a photo or some words describing the item (or both).")
    if condition is not None and (not isinstance(condition, int) or not 1 <= condition <= 5):
        raise DataError(
            f"{where}condition must be a whole number from 1 (new) to 5, got {condition!r}."
        )
    brand = str(brand).strip() or None if brand is not None else None
    return Query(photo, text or None, brand, condition)


def ascii_share(texts: Iterable[str]) -> float:
    """Share of letters that are ASCII (Latin script) across ``texts`` (the first 5,000)."""
    letters = "".join(itertools.islice(texts, 5000))
    alphabetic = [c for c in letters if c.isalpha()]
    return sum(c.isascii() for c in alphabetic) / len(alphabetic) if alphabetic else 1.0
