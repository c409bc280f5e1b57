"""`furima recommend fit` and `furima recommend suggest` on real Beauty sequences."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from furima.cli import app
from furima.datasets import demo_interactions_path
from furima.recommend import Recommender
from furima.registry import ModelRegistry

SEQUENCES = demo_interactions_path()
QUICK = ["--generators", "popularity,item_knn"]


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model fitted by the CLI on the 2,646 real Beauty sequences, and registered."""
    root = tmp_path_factory.mktemp("cli-recommend")
    out, registry = root / "model", root / "registry"
    args = ["recommend", "fit", str(SEQUENCES), "--out", str(out), *QUICK]
    result = CliRunner().invoke(app, [*args, "--registry", str(registry)])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout[result.stdout.index("{") :])
    assert summary["model"] == str(out)
    assert (summary["users"], summary["items"]) == (2646, 500)
    assert summary["events"] == 26726
    assert set(summary["blend"]) <= {"popularity", "item_knn"}
    assert summary["validation"]["blend"] > summary["validation"]["popularity"]
    version = ModelRegistry(registry).version("recommend", "champion")
    assert version.version == 1
    return out


def suggest(run: CliRunner, model: Path, *args: str) -> dict[str, Any]:
    result = run.invoke(app, ["recommend", "suggest", "--model", str(model), *args])
    assert result.exit_code == 0, result.output
    answer: dict[str, Any] = json.loads(result.stdout)
    return answer


def test_suggest_for_a_user_a_history_and_more_like_this(run: CliRunner, model: Path) -> None:
    fitted = Recommender.load(model)
    user = fitted.users_sample(1)[0]
    answer = suggest(run, model, "--user", user, "--k", "7")
    assert answer["query"] == user
    assert [item["id"] for item in answer["items"]] == fitted.recommend([user], k=7)[0].ids
    history = suggest(run, model, "--history", "33,46,no-such-listing", "--k", "3")
    assert history["query"] is None and len(history["items"]) == 3
    assert history["notes"] == ["left out 1 unknown listing(s): no-such-listing"]
    alike = suggest(run, model, "--similar-to", "33", "--k", "5")
    assert [i["id"] for i in alike["items"]] == fitted.similar_items(["33"], k=5)[0].ids
    stranger = suggest(run, model, "--user", "nobody", "--k", "2")
    assert stranger["notes"] == ["user 'nobody' is unknown: popular listings instead"]


def test_fit_an_event_log_with_listings_then_filter(
    run: CliRunner, tmp_path: Path, model: Path
) -> None:
    fitted = Recommender.load(model)
    rows = []
    for line in SEQUENCES.read_text().splitlines()[:800]:
        user, *items = line.split()
        rows += [(user, item, 1_600_000_000 + 60 * n, "view") for n, item in enumerate(items)]
    pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp", "event"]).to_csv(
        tmp_path / "events.csv", index=False
    )
    ids = fitted.interactions_.items.to_list()
    pd.DataFrame(
        {
            "listing_id": ids,
            "name": [f"Beauty product {i}" for i in ids],
            "category": ["Lipstick" if int(i) % 2 else "Shampoo" for i in ids],
            "price": [float(int(i) % 50 + 1) for i in ids],
            "status": ["sold" if int(i) % 5 == 0 else "on_sale" for i in ids],
        }
    ).to_csv(tmp_path / "listings.csv", index=False)
    out = tmp_path / "with-listings"
    args = ["recommend", "fit", "events.csv", "--listings", "listings.csv", "--out", str(out)]
    result = run.invoke(app, [*args, *QUICK])
    assert result.exit_code == 0, result.output
    user = Recommender.load(out).users_sample(1)[0]
    filters = ["--filter", "category=Shampoo", "--filter", "price=..20"]
    answer = suggest(run, out, "--user", user, "--k", "10", *filters)
    items = answer["items"]
    assert len(items) == 10
    for item in items:
        assert item["category"] == "Shampoo" and item["price"] <= 20
        assert int(item["id"]) % 5 and item["title"] == f"Beauty product {item['id']}"


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["suggest", "--user", "1", "--history", "2,3"], "give exactly one of --user, --history"),
        (["suggest"], "give exactly one of --user, --history or --similar-to"),
        (["suggest", "--history", " , "], "--history needs listing ids"),
        (["fit", str(SEQUENCES), "--generators", "popularity,magic"], "unknown or none given"),
        (["fit", str(SEQUENCES), "--mapping", "taobao"], "a sequence file has none"),
        (["fit", "missing.csv"], "missing.csv"),
    ],
)
def test_usage_errors_exit_1_with_a_message(
    run: CliRunner, model: Path, args: list[str], words: str
) -> None:
    if args[0] == "suggest":
        args = [*args, "--model", str(model)]
    result = run.invoke(app, ["recommend", *args])
    assert result.exit_code == 1
    assert words in " ".join(result.output.split())
    assert "Traceback" not in result.output
