"""``simulate_browsing`` over the 240 real photo listings, and the shipped Beauty slice."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from furima.catalog import read_sequences
from furima.datasets import demo_interactions_path, simulate_browsing
from furima.exceptions import DataError

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "myntra_photos_240.parquet"


@pytest.fixture(scope="module")
def catalog() -> pd.DataFrame:
    listings = pd.read_parquet(FIXTURE).drop(columns="jpeg")
    return listings.assign(price=400.0 + (listings["id"] * 37) % 1600)


def test_the_same_seed_gives_the_same_sessions(catalog: pd.DataFrame) -> None:
    first = simulate_browsing(catalog, n_buyers=50, seed=3)
    assert first.equals(simulate_browsing(catalog, n_buyers=50, seed=3))
    assert not first.equals(simulate_browsing(catalog, n_buyers=50, seed=4))
    assert list(first.columns) == ["user", "item", "timestamp", "event"]
    assert set(first["event"]) == {"view"}
    assert first["user"].nunique() == 50
    per_user = first.groupby("user")
    assert per_user["timestamp"].apply(lambda t: t.is_monotonic_increasing).all()
    assert not per_user["item"].apply(lambda items: items.duplicated().any()).any()


def test_buyers_stay_in_their_group_near_one_price(catalog: pd.DataFrame) -> None:
    events = simulate_browsing(catalog, n_buyers=300, views=(6, 6), stray=0.0, seed=0)
    rows = events.merge(catalog.assign(item=catalog["id"].astype(str)), on="item")
    groups = rows.groupby("user")[["gender", "article_type"]].nunique()
    assert (groups == 1).all().all()  # no straying asked for: one gender and type each
    spread = rows.groupby("user")["price"].agg(lambda p: np.log(p.max() / p.min()))
    random_spread = np.log(catalog["price"].max() / catalog["price"].min())
    assert spread.median() < 0.5 * random_spread


def test_straying_keeps_the_gender(catalog: pd.DataFrame) -> None:
    events = simulate_browsing(catalog, n_buyers=200, stray=0.5, seed=1)
    rows = events.merge(catalog.assign(item=catalog["id"].astype(str)), on="item")
    per_user = rows.groupby("user")
    assert (per_user["gender"].nunique() == 1).all()
    assert (per_user["article_type"].nunique() > 1).mean() > 0.3


def test_bad_arguments_say_what_is_wrong(catalog: pd.DataFrame) -> None:
    with pytest.raises(DataError, match=r"no column\(s\) \['colour'\]"):
        simulate_browsing(catalog, group=("gender", "colour"))
    with pytest.raises(ValueError, match="views"):
        simulate_browsing(catalog, views=(5, 2))
    with pytest.raises(ValueError, match="stray"):
        simulate_browsing(catalog, stray=1.5)


def test_the_shipped_beauty_slice_is_the_real_top_500_items() -> None:
    events = read_sequences(demo_interactions_path())
    assert (events.n_users, events.n_items, len(events)) == (2646, 500, 26726)
