"""Simulated browsing sessions over a real catalog, for demos only.

No public log links buyers to listings that have photos, so the buyer's page of the demo is
fed by SIMULATED sessions: buyers made up here, browsing the real Myntra photo catalog that
ships with furima. They follow the catalog's own structure (a buyer shops one gender and
article type, near one price, now and then a related type), so a recommender has something
sensible to learn, but they are not people: no recommendation quality is ever measured or
reported on them. Quality is measured on the real Amazon Beauty log instead.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from furima.exceptions import DataError

__all__ = ["simulate_browsing"]

_EVENT_GAP_S = 45
_SESSION_GAP_S = 3600


def simulate_browsing(
    catalog: pd.DataFrame,
    *,
    n_buyers: int = 1500,
    views: tuple[int, int] = (4, 14),
    group: Sequence[str] = ("gender", "article_type"),
    related: str | None = "sub_category",
    price: str | None = "price",
    id_column: str = "id",
    stray: float = 0.15,
    seed: int = 0,
) -> pd.DataFrame:
    """SIMULATED browsing: an event log of made-up buyers viewing real listings.

    Each simulated buyer picks a home group (``group`` columns, e.g. gender + article type;
    bigger groups are picked more often) and a price they have in mind (the price of a random
    listing of that group). Then they view between ``views[0]`` and ``views[1]`` listings, one
    after another: from the home group, or with probability ``stray`` from a group sharing
    the ``related`` column (a shirt shopper looks at t-shirts too). Within a group, a listing
    is picked in proportion to a fixed appeal drawn per listing (some listings are simply
    more attractive, which gives popularity and co-views something to find) times its
    closeness to the price in mind (prices within about 30% are the most likely). A listing
    is viewed at most once per buyer.

    It is deterministic for a ``seed``. These sessions are not real behaviour: use them to
    show a feed, never to measure one.

    Args:
        catalog: Listings with ``id_column`` and the ``group`` columns (and ``price``,
            ``related`` when given and present).
        n_buyers: Simulated buyers (``sim-00001`` ...).
        views: Fewest and most views per buyer.
        group: Columns a buyer stays within.
        related: Column whose shared value makes another group related (``None``: none).
        price: Price column (``None`` or absent: prices play no part).
        id_column: Listing id column.
        stray: Chance that a view is of a related group.
        seed: Random seed.

    Returns:
        Events ``user, item, timestamp, event`` (``event`` is ``"view"``; timestamps are
        seconds, each buyer's views 45 s apart), sorted by user then time.
    """
    _check(catalog, n_buyers, views, group, id_column, stray)
    rng = np.random.default_rng(seed)
    frame = catalog.reset_index(drop=True)
    keys = frame[list(group)].astype(str).agg(" / ".join, axis=1).to_numpy()
    members = {key: np.flatnonzero(keys == key) for key in dict.fromkeys(keys)}
    appeal = rng.lognormal(0.0, 1.0, len(frame))
    prices = _prices(frame, price)
    kin = _related_groups(frame, keys, related)
    names = list(members)
    sizes = np.array([len(members[k]) for k in names], dtype=float)
    home = rng.choice(len(names), n_buyers, p=sizes / sizes.sum())
    ids = frame[id_column].astype(str).to_numpy()
    rows: list[tuple[str, str, int]] = []
    for buyer in range(n_buyers):
        name = names[home[buyer]]
        target = prices[rng.choice(members[name])] if prices is not None else None
        length = int(rng.integers(views[0], views[1] + 1))
        start = buyer * _SESSION_GAP_S
        seen: set[int] = set()
        for step in range(length):
            pool = members[name]
            if kin.get(name) and rng.random() < stray:
                pool = members[kin[name][int(rng.integers(len(kin[name])))]]
            choice = _pick(rng, pool, seen, appeal, prices, target)
            if choice is None:
                break
            seen.add(choice)
            rows.append((f"sim-{buyer + 1:05d}", ids[choice], start + step * _EVENT_GAP_S))
    events = pd.DataFrame(rows, columns=["user", "item", "timestamp"])
    return events.assign(event="view")


def _check(
    catalog: pd.DataFrame,
    n_buyers: int,
    views: tuple[int, int],
    group: Sequence[str],
    id_column: str,
    stray: float,
) -> None:
    missing = [c for c in (id_column, *group) if c not in catalog.columns]
    if missing:
        raise DataError(
            f"the catalog has no column(s) {missing}; simulate_browsing needs the listing id "
            f"and the group columns (got columns {list(catalog.columns)[:12]})."
        )
    if len(catalog) < 2:
        raise DataError(f"the catalog needs at least 2 listings to browse, but has {len(catalog)}.")
    if n_buyers < 1 or not 1 <= views[0] <= views[1]:
        raise ValueError(
            f"`n_buyers >= 1` and `1 <= views[0] <= views[1]` must hold, but got "
            f"(n_buyers={n_buyers}, views={views})."
        )
    if not 0.0 <= stray <= 1.0:
        raise ValueError(f"`stray` is a probability in [0, 1], but got {stray}.")


def _prices(frame: pd.DataFrame, column: str | None) -> np.ndarray | None:
    if column is None or column not in frame.columns:
        return None
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
    if not np.isfinite(values).any():
        return None
    fill = float(np.nanmedian(values))
    return np.where(np.isfinite(values) & (values > 0), values, fill)


def _related_groups(
    frame: pd.DataFrame, keys: np.ndarray, column: str | None
) -> dict[str, list[str]]:
    """For each group, the other groups with its ``column`` value and its first group value
    (the same gender: a men's shirt shopper strays to men's t-shirts, not women's)."""
    if column is None or column not in frame.columns:
        return {}
    shared = frame[column].astype(str).to_numpy()
    by_value: dict[str, set[str]] = {}
    for key, value in zip(keys, shared, strict=True):
        by_value.setdefault(value, set()).add(key)
    kin: dict[str, list[str]] = {}
    for key, value in dict(zip(keys, shared, strict=True)).items():
        head = key.split(" / ")[0]
        others = sorted(k for k in by_value[value] if k != key and k.split(" / ")[0] == head)
        kin[key] = others
    return kin


def _pick(
    rng: np.random.Generator,
    pool: np.ndarray,
    seen: set[int],
    appeal: np.ndarray,
    prices: np.ndarray | None,
    target: float | None,
) -> int | None:
    fresh = np.array([i for i in pool if i not in seen], dtype=np.int64)
    if not len(fresh):
        return None
    weight = appeal[fresh]
    if prices is not None and target is not None:
        distance = np.abs(np.log(prices[fresh] / target))
        weight = weight * np.exp(-((distance / 0.3) ** 2))
        weight = weight + 1e-6 * appeal[fresh]  # far prices stay possible, just unlikely
    return int(fresh[rng.choice(len(fresh), p=weight / weight.sum())])
