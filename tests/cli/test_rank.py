"""`furima rank fit|feed|propensities` on real Taobao behaviour and Open Bandit clicks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from furima.cli import app
from furima.ranking import FeedRanker
from furima.registry import ModelRegistry

FIXTURES = Path(__file__).parents[1] / "fixtures"
LOG = FIXTURES / "taobao_20_users.parquet"


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ranker fitted by the CLI on 20 real Taobao users, and registered."""
    root = tmp_path_factory.mktemp("cli-rank")
    out, registry = root / "model", root / "registry"
    args = ["rank", "fit", str(LOG), "--mapping", "taobao", "--item-category", "category_id"]
    result = CliRunner().invoke(app, [*args, "--out", str(out), "--registry", str(registry)])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout[result.stdout.index("{") :])
    raw = pd.read_parquet(LOG)
    assert (summary["users"], summary["events"]) == (raw["user_id"].nunique(), len(raw))
    assert summary["training"]["requests"] > 20
    assert ModelRegistry(registry).version("rank", "champion").version == 1
    return out


def feed(model: Path, *args: str) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["rank", "feed", "--model", str(model), *args])
    assert result.exit_code == 0, result.output
    answer: dict[str, Any] = json.loads(result.stdout)
    return answer


def test_feed_orders_candidates_as_the_library_does(model: Path) -> None:
    ranker = FeedRanker.load(model)
    user = ranker.users_sample(1)[0]
    items = [str(i) for i in ranker.builder_.events_.items.ids[:30]]
    answer = feed(model, "--user", user, "--candidates", ",".join(items), "--k", "30")
    assert [item["id"] for item in answer["items"]] == ranker.rank(
        [{"user": user, "candidates": items}]
    )[0].ids
    filled = feed(model, "--user", user, "--fill", "40", "--k", "5")
    assert len(filled["items"]) == 5


def test_feed_needs_candidates_or_fill(model: Path) -> None:
    result = CliRunner().invoke(app, ["rank", "feed", "--model", str(model), "--user", "1"])
    assert result.exit_code != 0
    assert "give exactly one of --candidates or --fill" in result.output


def test_propensities_from_a_randomised_log_and_by_harvesting(tmp_path: Path) -> None:
    clicks = pd.read_parquet(FIXTURES / "obd_clicks_6000.parquet")
    for policy, part in clicks.groupby("policy"):
        part.to_parquet(tmp_path / f"{policy}.parquet")
    base = ["rank", "propensities", "--item", "item_id"]
    result = CliRunner().invoke(app, [*base, str(tmp_path / "random.parquet")])
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    assert found["positions"] == [1, 2, 3] and found["values"][0] == 1.0
    assert found["method"] == "randomized" and found["impressions"] == 3000
    logs = [str(tmp_path / "random.parquet"), str(tmp_path / "bts.parquet")]
    result = CliRunner().invoke(app, [*base, *logs, "--method", "harvesting"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["method"] == "intervention_harvesting"
    missing = CliRunner().invoke(app, ["rank", "propensities", logs[0]])
    assert missing.exit_code != 0
    assert "has no 'item' column; name its item column with --item" in missing.output
