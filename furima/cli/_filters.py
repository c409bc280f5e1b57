"""Options the commands share: ``--filter field=value`` (``furima search``, ``recommend
suggest``, ``buyer-search query``) and comma-separated lists of names or listing ids.

The filter commands take the same repeatable option and hand the parsed mapping to the library
(``SimilarSearch.similar`` and ``Recommender.recommend``/``similar_items`` read the same form).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from furima.exceptions import DataError, FilterError

__all__ = ["FilterOption", "comma_list", "listing_ids", "parse_filters"]

FilterOption = Annotated[
    list[str] | None,
    typer.Option("--filter", help="field=value, field=a,b or price=LOW..HIGH (repeatable)."),
]


def comma_list(text: str) -> tuple[str, ...]:
    """``"a, b,,c"`` to ``("a", "b", "c")`` (column names, ids)."""
    return tuple(part.strip() for part in text.split(",") if part.strip())


def listing_ids(text: str, option: str) -> list[str]:
    """Listing ids given to ``option`` as ``12,7,31``; at least one."""
    ids = list(comma_list(text))
    if not ids:
        raise DataError(f"{option} needs listing ids separated by commas, e.g. 12,7,31.")
    return ids


def parse_filters(specs: list[str] | None) -> dict[str, Any] | None:
    """``["category=Shoes,Bags", "price=10..50"]`` to a filter mapping."""
    if not specs:
        return None
    parsed: dict[str, Any] = {}
    for spec in specs:
        field, sep, value = spec.partition("=")
        if not sep or not field or not value:
            raise FilterError(f"--filter {spec!r} must look like field=value or price=10..50.")
        parsed[field.strip()] = _filter_value(field.strip(), value.strip())
    return parsed


def _filter_value(field: str, value: str) -> Any:
    if ".." in value:
        low, _, high = value.partition("..")
        try:
            return (float(low) if low else None, float(high) if high else None)
        except ValueError:
            raise FilterError(f"--filter {field}={value!r}: the range needs numbers.") from None
    parts = [part for part in value.split(",") if part]
    return parts if len(parts) > 1 else parts[0]
