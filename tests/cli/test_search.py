"""`furima index build` and `furima search` on 240 real Myntra photos."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from furima.cli import app

BUILD = [
    "index", "build", "--photo-column", "jpeg", "--label-column", "article_type",
    "--category-column", "master_category", "--price-column", "year",
]  # fmt: skip


@pytest.fixture(scope="module")
def pool(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A pool built by the CLI from the 240-photo fixture."""
    out = tmp_path_factory.mktemp("cli-search") / "pool"
    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "myntra_photos_240.parquet"
    result = CliRunner().invoke(app, [*BUILD, str(fixture), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout[result.stdout.index("{") :])["listings"] == 240
    return out


def results(run: CliRunner, pool: Path, *args: str) -> list[dict[str, float]]:
    result = run.invoke(app, ["search", "--index", str(pool), *args])
    assert result.exit_code == 0, result.output
    rows: list[dict[str, float]] = json.loads(result.stdout)["results"]
    return rows


def test_text_search(run: CliRunner, pool: Path, fixtures: Path) -> None:
    table = pd.read_parquet(fixtures / "myntra_photos_240.parquet").set_index("id")
    rows = results(run, pool, "--text", "wrist watch", "--k", "5")
    assert len(rows) == 5
    assert (table.loc[[int(r["id"]) for r in rows], "article_type"] == "Watches").mean() >= 0.8


def test_photo_search_finds_the_same_listing(run: CliRunner, pool: Path, fixtures: Path) -> None:
    table = pd.read_parquet(fixtures / "myntra_photos_240.parquet")
    photo = Path.cwd() / "query.jpg"
    photo.write_bytes(table["jpeg"].iloc[4])
    assert results(run, pool, "--photo", str(photo), "--k", "3")[0]["id"] == table["id"].iloc[4]


def test_listing_search_with_filters(run: CliRunner, pool: Path, fixtures: Path) -> None:
    table = pd.read_parquet(fixtures / "myntra_photos_240.parquet").set_index("id")
    first = int(table.index[0])
    rows = results(
        run, pool, "--listing", str(first), "--filter", "category=Footwear,Accessories",
        "--filter", "price=2011..2012",
    )  # fmt: skip
    found = table.loc[[int(r["id"]) for r in rows]]
    assert first not in found.index
    assert found["master_category"].isin(["Footwear", "Accessories"]).all()
    assert found["year"].between(2011, 2012).all()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--text", "a", "--listing", "1"], "exactly one of --photo, --text or --listing"),
        (["--listing", "424242"], "424242"),
        (["--text", "shoe", "--filter", "colour=red"], "colour"),
        (["--text", "shoe", "--filter", "nonsense"], "must look like field=value"),
        (["--text", "shoe", "--filter", "price=cheap..dear"], "the range needs numbers"),
    ],
)
def test_bad_searches_exit_1_with_a_message(
    run: CliRunner, pool: Path, args: list[str], message: str
) -> None:
    result = run.invoke(app, ["search", "--index", str(pool), *args])
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output


def test_not_an_image_query(run: CliRunner, pool: Path) -> None:
    Path("notes.jpg").write_text("not a photo")
    result = run.invoke(app, ["search", "--index", str(pool), "--photo", "notes.jpg"])
    assert result.exit_code == 1
    assert "is not an image furima can read" in result.output


def test_build_refuses_a_missing_photo_column(run: CliRunner, fixtures: Path) -> None:
    result = run.invoke(app, ["index", "build", str(fixtures / "myntra_photos_240.parquet")])
    assert result.exit_code == 1
    assert "photo='photo'" in result.output and "--photo-column" in result.output
    assert not Path("models/search").exists()


def test_missing_pool_is_explained(run: CliRunner) -> None:
    result = run.invoke(app, ["search", "--index", "nowhere", "--text", "shoe"])
    assert result.exit_code == 1
    assert "is not a saved" in result.output


def test_pools_rerank_by_label_unless_told_not_to(
    run: CliRunner, pool: Path, fixtures: Path, tmp_path: Path
) -> None:
    manifest = json.loads((pool / "manifest.json").read_text())
    assert manifest["rerank"] == {"weight": 1.0, "voters": 10, "temperature": 0.05, "depth": 50}
    plain = tmp_path / "plain"
    fixture = str(fixtures / "myntra_photos_240.parquet")
    result = run.invoke(app, [*BUILD, fixture, "--no-train", "--no-rerank", "--out", str(plain)])
    assert result.exit_code == 0, result.output
    assert json.loads((plain / "manifest.json").read_text())["rerank"] is None
