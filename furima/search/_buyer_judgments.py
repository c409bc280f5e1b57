"""Proxy relevance judgments from a catalog's own attribute fields, for training and measuring
buyer search where no click logs or human labels exist yet.

A query is a real combination of one listing's attribute values, written the way buyers type
them ("women red ethnic kurtas" from gender, colour, usage and product type); a listing's
grade for it is how many of the query's attributes it has (0 to the query's length). This is
a proxy for human judgments: it rewards listings that match what was asked, field by field,
and knows nothing of style or quality.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from furima.exceptions import DataError, SchemaError

if TYPE_CHECKING:
    from furima.search._buyer import BuyerSearch
    from furima.search._buyer_columns import BuyerColumns

__all__ = [
    "attribute_grades",
    "attribute_queries",
    "proxy_attributes",
    "proxy_judgments",
    "training_matrix",
]


def proxy_attributes(columns: BuyerColumns) -> list[str]:
    """The columns proxy queries are made of, in the order buyers write them: attributes
    (gender, usage, ...), then colour, then category (the product type, always in a query)."""
    named = [c for c in (columns.colour, columns.category) if c is not None]
    chosen = [*columns.attributes, *named]
    if len(chosen) < 2:
        raise DataError(
            "ranker='auto' makes training queries from the listings' attribute fields and "
            f"needs at least two of them (category, colour, attributes); got {chosen}. Train "
            "with fit_ranker(judgments) instead, or set BuyerColumns(attributes=...)."
        )
    return chosen


def attribute_queries(
    listings: pd.DataFrame,
    attributes: Sequence[str],
    *,
    n_queries: int,
    seed: int = 0,
    min_attributes: int = 2,
    keep: float = 0.6,
) -> pd.DataFrame:
    """Distinct queries made from the attribute values of randomly drawn ``listings``.

    The last attribute (the product type) is always used; each other one with probability
    ``keep``, so queries run from ``min_attributes`` attributes to all of them.

    Returns:
        One row per distinct query: ``query`` and one column per attribute holding the value
        it asked for (None where the query does not name that attribute).
    """
    _check_columns(listings, attributes)
    rng = np.random.default_rng(seed)
    drawn = listings.iloc[rng.permutation(len(listings))[: n_queries * 3]]
    values = drawn[list(attributes)].astype("string").to_numpy(dtype=object)
    rows = []
    for record in values:
        used = rng.random(len(attributes)) < keep
        used[-1] = True
        _top_up(used, min_attributes, rng)
        asked = [
            v if u and isinstance(v, str) and v.strip() else None
            for v, u in zip(record, used, strict=True)
        ]
        if sum(a is not None for a in asked) >= min(min_attributes, len(attributes)):
            rows.append([_render(asked), *asked])
    queries = pd.DataFrame(rows, columns=["query", *attributes])
    return queries.drop_duplicates("query").head(n_queries).reset_index(drop=True)


def attribute_grades(
    queries: pd.DataFrame, listings: pd.DataFrame, attributes: Sequence[str]
) -> np.ndarray:
    """Grades ``[queries, listings]``: how many of each query's attributes each listing has."""
    grades = np.zeros((len(queries), len(listings)), np.int8)
    for name in attributes:
        have = listings[name].astype("string").str.lower().fillna("").to_numpy(dtype=object)
        codes, vocab = pd.factorize(have)
        asked = queries[name].astype("string").str.lower().to_numpy(dtype=object)
        lookup = {value: code for code, value in enumerate(vocab)}
        wanted = np.array([lookup.get(a, -2) if isinstance(a, str) else -2 for a in asked])
        grades += (codes[None, :] == wanted[:, None]).astype(np.int8)
    return grades


def proxy_judgments(
    search: BuyerSearch,
    listings: pd.DataFrame,
    *,
    attributes: Sequence[str],
    query_listings: pd.DataFrame | None = None,
    n_queries: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """Judgments ``(query, id, grade)`` for every candidate the search retrieves for proxy
    queries made from ``query_listings`` (default: all ``listings``); ``listings`` must
    hold the attribute columns of every listing in ``search``."""
    queries = attribute_queries(
        query_listings if query_listings is not None else listings,
        attributes,
        n_queries=n_queries,
        seed=seed,
    )
    if queries.empty:
        raise DataError(f"no listing has values in {list(attributes)} to make queries from.")
    aligned = _aligned(search, listings)
    parts = []
    candidates = search.candidate_signals(queries["query"].tolist())
    for position, (rows, _) in enumerate(candidates):
        grades = attribute_grades(queries.iloc[[position]], aligned.iloc[rows], attributes)[0]
        parts.append(
            pd.DataFrame(
                {
                    "query": queries["query"].iloc[position],
                    "id": search.ids[rows],
                    "grade": grades.astype(np.int64),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def _aligned(search: BuyerSearch, listings: pd.DataFrame) -> pd.DataFrame:
    """``listings`` in the search's row order (every searched listing must be there)."""
    ids = search.columns.ids(listings)
    position = pd.Series(np.arange(len(ids)), index=ids)
    missing = ~np.isin(search.ids, ids)
    if missing.any():
        raise DataError(
            f"the listings lack {int(missing.sum())} of the search's listings "
            f"(e.g. id {int(search.ids[missing][0])}); pass the table the search was built on."
        )
    return listings.iloc[position.loc[search.ids].to_numpy()].reset_index(drop=True)


def _check_columns(listings: pd.DataFrame, attributes: Sequence[str]) -> None:
    missing = [a for a in attributes if a not in listings.columns]
    if missing:
        raise SchemaError(f"the listings lack the attribute column(s) {missing}.")
    if not attributes:
        raise DataError("give at least one attribute column to make queries from.")


def _top_up(used: np.ndarray, wanted: int, rng: np.random.Generator) -> None:
    """Switch on random unused attributes until ``wanted`` are used."""
    unused = np.flatnonzero(~used)
    extra = max(0, min(wanted, len(used)) - int(used.sum()))
    if extra:
        used[rng.choice(unused, extra, replace=False)] = True


def _render(asked: list[str | None]) -> str:
    return " ".join(a.strip().lower() for a in asked if a is not None)


def training_matrix(
    search: BuyerSearch, judgments: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[str, ...]]:
    """``(features, grades, candidates per query, feature names)`` for training the ranker:
    each judged query's candidates retrieved as at search time, unjudged ones graded 0."""
    from furima.search._buyer_ranker import feature_names

    _check_judgments(judgments)
    queries = list(dict.fromkeys(judgments["query"].astype(str)))
    grades = judgments.groupby(["query", "id"])["grade"].max()
    names = feature_names(list(search.lexical.fields_))
    blocks, labels, groups = [], [], []
    for query, (rows, found) in zip(queries, search.candidate_signals(queries), strict=True):
        index = pd.MultiIndex.from_product([[query], search.ids[rows]])
        labels.append(grades.reindex(index).fillna(0).to_numpy())
        blocks.append(found.matrix(names))
        groups.append(len(rows))
    return np.concatenate(blocks), np.concatenate(labels), np.asarray(groups, np.int64), names


def _check_judgments(judgments: pd.DataFrame) -> None:
    missing = [c for c in ("query", "id", "grade") if c not in judgments.columns]
    if missing:
        raise DataError(
            f"judgments lack the column(s) {missing}; give one row per (query, id, grade)."
        )
    if len(judgments) == 0:
        raise DataError("judgments are empty; the ranker needs graded (query, id) pairs.")
