"""Ranking benchmark, buyer search: BM25, title vectors, their fusion and the learned ranker on
Myntra 44k, and the in-process latency of one query.

Data: ``images/myntra_fashion_44k.parquet`` (title, gender, article_type, base_colour, usage,
...; no prices). The listings are split 80/20 with ``seed``; every listing stays searchable.
Queries are real attribute combinations of listings, written as buyers type them ("women red
ethnic kurtas": gender, colour, usage, product type; the type always, the others each with
probability 0.6, at least two). A listing's grade for a query is how many of the query's
attributes it has: a proxy for human judgments, not a replacement.

- The learned ranker trains on queries made from the *training* listings only, graded over
  the candidates the search retrieves for them. Test queries come from the held-out listings,
  and any test query that was also a training query is dropped, so the ranker is measured on
  queries it never saw.
- The search indexes the catalog's own fields (title, article_type as category, base_colour as
  colour, gender, usage, master and sub category, season), as a real catalog would; BM25
  reads all of them, the ranker reads which of them match. Neither sees how a query was made.
- NDCG@10 with gains ``2**grade - 1``; the ideal ranking is taken over all 44k listings.
  ``bm25``: BM25 alone over the whole catalog; ``vectors``: MiniLM title vectors alone;
  ``rrf``: reciprocal rank fusion of the two; ``learned``: the LightGBM LambdaRank ranker
  over the union of both top 100. ``baseline`` is the best single signal; ``lost_gain_cut``
  is the share of the baseline's shortfall from a perfect 1.0 that the ranker removes.
- ``search_titles_only``: the same with a catalog of titles alone (no attribute fields for
  BM25 or the ranker to read): how much the ranker adds by fusing the two title signals.
- ``latency_search``: wall time of :meth:`BuyerSearch.search` for one test query (encoding,
  both retrievers, the ranker, facets over every match), in process, p50 and p99.

    python benchmarks/_ranking_search.py --data ../shared/data
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _myntra_photos import DATA_FILE, read_catalog, title_features

from furima.search._buyer import BuyerSearch, SearchSettings
from furima.search._buyer_columns import BuyerColumns
from furima.search._buyer_judgments import (
    attribute_grades,
    attribute_queries,
    proxy_judgments,
)

__all__ = ["MYNTRA_COLUMNS", "QUERY_ATTRIBUTES", "built_search", "ndcg_at_10", "run_search"]

QUERY_ATTRIBUTES = ("gender", "base_colour", "usage", "article_type")
MYNTRA_COLUMNS = BuyerColumns(
    category="article_type",
    colour="base_colour",
    attributes=("gender", "usage", "master_category", "sub_category", "season"),
)
TEST_SHARE = 0.2
TRAIN_QUERIES = 1500
TEST_QUERIES = 500
LATENCY_QUERIES = 300
CACHE = Path.home() / ".cache" / "furima" / "benchmarks"


def run_search(data: Path, seed: int = 0) -> list[dict[str, Any]]:
    """Rows for the ``search`` case (NDCG@10; also on titles alone) and ``latency_search``."""
    table, digest = read_catalog(data, ["id", "title", *_catalog_columns()])
    vectors = title_features(table, digest, CACHE)
    train, test = _split(len(table), seed)
    rows = []
    for case, columns in (("search", MYNTRA_COLUMNS), ("search_titles_only", BuyerColumns())):
        started = time.perf_counter()
        no_cache = SearchSettings(query_cache=0)  # every timed query is encoded
        search = BuyerSearch.build(table, columns=columns, title_vectors=vectors, settings=no_cache)
        trained = _train_ranker(search, table, train, seed)
        queries = _test_queries(table, test, trained, seed)
        scores = _ndcg_per_method(search, table, queries)
        seconds = time.perf_counter() - started
        rows.append(
            _search_row(case, scores, len(table), len(queries), len(trained), seconds, seed)
        )
        if case == "search":
            rows.append(_latency_row(search, queries["query"].tolist(), len(table), seed))
    return rows


def built_search(data: Path, seed: int = 0) -> tuple[BuyerSearch, list[str], int]:
    """The ``search`` case's search (its ranker trained), its test queries and the number of
    listings: what the server latency case serves."""
    table, digest = read_catalog(data, ["id", "title", *_catalog_columns()])
    vectors = title_features(table, digest, CACHE)
    train, test = _split(len(table), seed)
    search = BuyerSearch.build(table, columns=MYNTRA_COLUMNS, title_vectors=vectors)
    trained = _train_ranker(search, table, train, seed)
    queries = _test_queries(table, test, trained, seed)["query"].tolist()
    return search, queries, len(table)


def _train_ranker(
    search: BuyerSearch, table: pd.DataFrame, train: np.ndarray, seed: int
) -> set[str]:
    """Fit the search's ranker on proxy queries from the training listings; their texts."""
    judgments = proxy_judgments(
        search,
        table,
        attributes=QUERY_ATTRIBUTES,
        query_listings=table.iloc[train],
        n_queries=TRAIN_QUERIES,
        seed=seed,
    )
    search.fit_ranker(judgments)
    return set(judgments["query"])


def _test_queries(
    table: pd.DataFrame, test: np.ndarray, trained: set[str], seed: int
) -> pd.DataFrame:
    """Queries from the held-out listings that were not training queries."""
    queries = attribute_queries(
        table.iloc[test], QUERY_ATTRIBUTES, n_queries=TEST_QUERIES * 2, seed=seed + 1
    )
    unseen = ~queries["query"].isin(trained)
    return queries[unseen].head(TEST_QUERIES).reset_index(drop=True)


def _catalog_columns() -> list[str]:
    wanted = [*QUERY_ATTRIBUTES, *MYNTRA_COLUMNS.attributes]
    return list(dict.fromkeys(wanted))


def _split(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.random.default_rng(seed).permutation(n)
    held = int(n * TEST_SHARE)
    return np.sort(order[held:]), np.sort(order[:held])


def _ndcg_per_method(
    search: BuyerSearch, table: pd.DataFrame, queries: pd.DataFrame
) -> dict[str, float]:
    """Mean NDCG@10 of each method over the test queries."""
    grades = attribute_grades(queries, table, QUERY_ATTRIBUTES)  # table rows = search rows
    ideal = np.sort(grades, axis=1)[:, ::-1][:, :10]
    candidates = search.candidate_signals(queries["query"].tolist())
    assert search.ranker is not None
    found: dict[str, list[float]] = {"bm25": [], "vectors": [], "rrf": [], "learned": []}
    for position, (rows, signals) in enumerate(candidates):
        terms = search.lexical.terms(queries["query"].iloc[position])
        bm25_all = search.lexical.scores(terms)
        top = {
            "bm25": np.argsort(-bm25_all, kind="stable")[:10],
            "vectors": rows[np.argsort(signals.vector_rank, kind="stable")][:10],
            "rrf": rows[np.argsort(-signals.rrf, kind="stable")][:10],
            "learned": rows[
                np.argsort(-search.ranker.score(signals.matrix(search.ranker.features_)))
            ][:10],
        }
        for method, chosen in top.items():
            found[method].append(ndcg_at_10(grades[position, chosen], ideal[position]))
    return {method: float(np.mean(values)) for method, values in found.items()}


def ndcg_at_10(grades: np.ndarray, ideal: np.ndarray) -> float:
    """NDCG@10 of ranked ``grades`` against the ``ideal`` grades (best first)."""
    discount = 1.0 / np.log2(np.arange(2, 12))
    best = float(((2.0 ** ideal[:10] - 1) * discount[: len(ideal[:10])]).sum())
    got = float(((2.0 ** grades[:10] - 1) * discount[: len(grades[:10])]).sum())
    return got / best if best > 0 else 0.0


def _search_row(
    case: str,
    scores: dict[str, float],
    listings: int,
    queries: int,
    trained: int,
    seconds: float,
    seed: int,
) -> dict[str, Any]:
    best_single = max(("bm25", "vectors"), key=lambda method: scores[method])
    return {
        "benchmark": "ranking",
        "case": case,
        "metric": "ndcg@10",
        "furima": round(scores["learned"], 4),
        "baseline": round(scores[best_single], 4),
        "baseline_is": best_single,
        "bm25": round(scores["bm25"], 4),
        "vectors": round(scores["vectors"], 4),
        "rrf": round(scores["rrf"], 4),
        "learned": round(scores["learned"], 4),
        "gain": round(scores["learned"] / scores[best_single] - 1, 4),
        "lost_gain_cut": round(1 - (1 - scores["learned"]) / max(1 - scores[best_single], 1e-9), 4),
        "data": str(DATA_FILE),
        "rows": listings,
        "test_queries": queries,
        "train_queries": trained,
        "seconds": round(seconds, 1),
        "seed": seed,
    }


def _latency_row(
    search: BuyerSearch, queries: list[str], listings: int, seed: int
) -> dict[str, Any]:
    """In-process wall time of one search (page of 20, default facets)."""
    search.search("warm up")  # the encoder loads on first use
    times = []
    for query in queries[:LATENCY_QUERIES]:  # all distinct: nothing is cached
        started = time.perf_counter()
        search.search(query)
        times.append((time.perf_counter() - started) * 1000)
    return {
        "benchmark": "ranking",
        "case": "latency_search",
        "metric": "p99_ms",
        "furima": round(float(np.percentile(times, 99)), 2),
        "baseline": 50.0,
        "baseline_is": "target",
        "p50_ms": round(float(np.percentile(times, 50)), 2),
        "data": str(DATA_FILE),
        "rows": listings,
        "queries": len(times),
        "seconds": round(sum(times) / 1000, 1),
        "seed": seed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for row in run_search(args.data, args.seed):
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
