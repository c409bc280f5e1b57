"""The ranking steps of ``furima demo``: a feed ranker learned from real Taobao shopping, and
buyer search over the real photo catalog."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from furima.catalog import Interactions
    from furima.ranking import FeedRanker, RankingExamples

__all__ = ["buyer_search_step", "print_served_rank", "print_served_search", "ranking_step"]

_DAY_S = 86_400
_SEARCHES = ("women red kurta", "black leather watch", "白いスニーカー")
_PROXY_QUERIES = 300


def ranking_step(out: Console, workdir: Path, seed: int) -> Path:
    """Learn to order feeds from every day but the last, then rank each buyer's last day."""
    from furima.ranking import FeedRanker

    out.rule("10. rank: real Taobao shopping (view, cart, like, buy); each buyer's last day")
    events, category = _behaviour()
    last_day = int(events.timestamp.max()) // _DAY_S * _DAY_S
    before = events.subset(events.timestamp < last_day)
    model = FeedRanker().fit(before, category=category, seed=seed)
    test = _last_day_examples(events, model, last_day, seed)
    out.print(
        f"{events.n_users} buyers, {len(events):,} events; the ranker learned from "
        f"{model.training_['requests']:,} earlier buyer-days and ranks "
        f"{test.frame['request'].nunique()} buyers' last day among "
        f"{len(test) // max(test.frame['request'].nunique(), 1)} candidates each"
    )
    out.print(_quality_table(test, model))
    path = model.save(workdir / "models" / "rank")
    out.print(f"saved {path}; try: furima rank feed --model {path} --user <id> --fill 50")
    return path


def _behaviour() -> tuple[Interactions, np.ndarray]:
    from furima.catalog import read_interactions
    from furima.datasets import demo_behaviour_path
    from furima.ranking import item_categories

    path = demo_behaviour_path()
    events = read_interactions(path, mapping="taobao").interactions
    return events, item_categories(pd.read_parquet(path), events.items)


def _last_day_examples(
    events: Interactions, model: FeedRanker, last_day: int, seed: int
) -> RankingExamples:
    """Each buyer active on the last day, at its start: what they touched that day among
    candidates, with features from the days before only."""
    from furima.ranking import CandidateSettings, build_examples

    active = np.unique(events.user[events.timestamp >= last_day])
    known = np.unique(events.user[events.timestamp < last_day])
    users = np.intersect1d(active, known)
    requests = pd.DataFrame(
        {"user": events.users.external(users), "timestamp": last_day, "until": last_day + _DAY_S}
    )
    settings = CandidateSettings(size=100, seed=seed)
    return build_examples(events, requests, builder=model.builder_, candidates=settings)


def _quality_table(test: RankingExamples, model: FeedRanker) -> Table:
    from furima.ranking import ndcg_at_10

    groups = test.frame["request"].to_numpy()
    ranked = np.asarray(model.ranker_.score(test))
    habit = test.frame["uc_n_view"].to_numpy(np.float64)  # views in the listing's category
    table = Table(title="NDCG@10 on the last day (higher is better)")
    for column in ("event", "buyers with one", "ranker", "their most viewed categories first"):
        table.add_column(column, justify="left" if column == "event" else "right")
    for event in test.events:
        labels = test.labels(event)
        buyers = len(np.unique(groups[labels > 0]))
        if not buyers:
            continue
        table.add_row(
            event,
            str(buyers),
            f"{ndcg_at_10(labels, ranked, groups):.3f}",
            f"{ndcg_at_10(labels, habit, groups):.3f}",
        )
    return table


def buyer_search_step(out: Console, workdir: Path, seed: int, catalog: pd.DataFrame) -> Path:
    """Buyer search over the real photo catalog: BM25 and title vectors, a ranker learned
    from the catalog's own attributes, facets, and photos through the listing pool."""
    from furima.search import BuyerColumns, BuyerSearch, SimilarSearch, proxy_judgments

    out.rule("11. buyer search: words and photos over the real catalog, ranked by relevance")
    columns = BuyerColumns(
        category="article_type", colour="base_colour", attributes=("gender", "usage", "season")
    )
    pool = SimilarSearch.load(workdir / "models" / "search")  # the catalog's photos (step 4)
    listed = catalog
    search = BuyerSearch.build(listed, columns=columns, photo_pool=pool)
    attributes = [*columns.attributes, "base_colour", "article_type"]
    judgments = proxy_judgments(
        search, listed, attributes=attributes, n_queries=_PROXY_QUERIES, seed=seed
    )
    search.fit_ranker(judgments)
    out.print(
        f"{len(search):,} listings indexed; the ranker learned from {_PROXY_QUERIES} queries "
        "made of the catalog's own attributes (gender, usage, season, colour, type)"
    )
    for query in _SEARCHES:
        page = search.search(query, k=3)
        titles = "; ".join(hit.title for hit in page.results) or "nothing"
        notes = f"  ({page.notes[0]})" if page.notes else ""
        out.print(f"{query!r}: {page.total} matches; {titles}{notes}")
    path = search.save(workdir / "models" / "buyer-search")
    out.print(f"saved {path}; try: furima buyer-search query 'blue denim jeans' --model {path}")
    return path


def print_served_search(out: Console, url: str) -> None:
    """One served ``/v1/search`` call and the search page."""
    import httpx

    body = {"query": _SEARCHES[0], "k": 3}
    reply = httpx.post(f"{url}/v1/search", json=body, timeout=60)
    answer: dict[str, Any] = reply.json()
    titles = "; ".join(hit["title"] for hit in answer.get("results", []))
    out.print(
        f"POST {url}/v1/search {body} -> HTTP {reply.status_code}: {answer.get('total')} "
        f"matches, {titles} from search version {answer['model']['version']}"
    )
    page = httpx.get(f"{url}/search", timeout=60)
    out.print(f"GET {url}/search -> HTTP {page.status_code}: the buyer's search page")


def print_served_rank(out: Console, url: str) -> None:
    """One served ``/v1/rank`` call: a buyer's feed filled and ordered by the ranker."""
    import httpx

    from furima.datasets import demo_behaviour_path

    user = str(pd.read_parquet(demo_behaviour_path(), columns=["user_id"])["user_id"].iloc[0])
    body = {"user_id": user, "fill": 100, "k": 5}
    reply = httpx.post(f"{url}/v1/rank", json=body, timeout=60)
    answer: dict[str, Any] = reply.json()
    best = ", ".join(item["id"] for item in answer.get("items", []))
    out.print(
        f"POST {url}/v1/rank {{'user_id': {user!r}, 'fill': 100, 'k': 5}} -> HTTP "
        f"{reply.status_code}: listings {best} from rank version {answer['model']['version']}"
    )
