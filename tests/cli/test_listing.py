"""`furima listing fit` and `furima listing suggest` on the real-photo fixture."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from furima.cli import app


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    """An assistant fitted by the CLI on 232 fixture photos; the 8 others held out."""
    fixtures = Path(__file__).resolve().parents[1] / "fixtures"
    photos = pd.read_parquet(fixtures / "myntra_photos_240.parquet")
    unseen = photos.groupby("article_type").head(1)
    folder = tmp_path_factory.mktemp("listing-cli")
    photos.drop(index=unseen.index).to_parquet(folder / "catalog.parquet")
    result = CliRunner().invoke(
        app,
        ["listing", "fit", str(folder / "catalog.parquet"), "--preset", "myntra-photos",
         "--out", str(folder / "assistant")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["listings"] == 232
    assert summary["fields"][:3] == ["master_category", "sub_category", "article_type"]
    assert 0.5 < summary["photo_accuracy_held_out"]["master_category"] <= 1.0
    return folder / "assistant", unseen


def test_suggest_a_listing_for_a_photo_file(
    run: CliRunner, fitted: tuple[Path, pd.DataFrame], tmp_path: Path
) -> None:
    assistant, unseen = fitted
    watch = unseen[unseen["article_type"] == "Watches"].iloc[0]
    photo = tmp_path / "watch.jpg"
    photo.write_bytes(watch["jpeg"])
    result = run.invoke(
        app, ["listing", "suggest", "--assistant", str(assistant), "--photo", str(photo)]
    )
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    fields = {f["name"]: f for f in answer["fields"]}
    assert fields["article_type"]["top"][0]["value"] == "Watches"
    assert len(answer["similar"]) == 10


def test_suggest_from_words_with_a_brand_and_condition(
    run: CliRunner, fitted: tuple[Path, pd.DataFrame]
) -> None:
    assistant, _ = fitted
    result = run.invoke(
        app,
        ["listing", "suggest", "--assistant", str(assistant), "--text", "black leather handbag",
         "--brand", "Baggit", "--condition", "2"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    fields = {f["name"]: f for f in json.loads(result.stdout)["fields"]}
    assert fields["article_type"]["top"][0]["value"] == "Handbags"
    assert (fields["brand"]["value"], fields["brand"]["source"]) == ("Baggit", "seller")


def test_bad_requests_exit_1_with_a_message(
    run: CliRunner, fitted: tuple[Path, pd.DataFrame], tmp_path: Path
) -> None:
    assistant, _ = fitted
    missing = run.invoke(
        app, ["listing", "suggest", "--assistant", str(assistant), "--photo", "nope.jpg"]
    )
    assert missing.exit_code == 1 and "'nope.jpg' does not exist" in missing.output
    nothing = run.invoke(app, ["listing", "suggest", "--assistant", str(assistant)])
    assert nothing.exit_code == 1 and "give a photo or some words" in nothing.output
    not_saved = run.invoke(app, ["listing", "suggest", "--assistant", str(tmp_path), "--text", "x"])
    assert not_saved.exit_code == 1 and "no manifest.json" in not_saved.output
    table = tmp_path / "x.parquet"
    pd.DataFrame({"id": [1], "title": ["a"]}).to_parquet(table)
    preset = run.invoke(app, ["listing", "fit", str(table), "--preset", "ebay"])
    assert preset.exit_code == 1 and "unknown preset 'ebay'" in preset.output
    no_file = run.invoke(app, ["listing", "fit", str(tmp_path / "y.parquet")])
    assert no_file.exit_code == 1 and "does not exist" in no_file.output
    photos = Path(__file__).resolve().parents[1] / "fixtures" / "myntra_photos_240.parquet"
    pooling = run.invoke(
        app, ["listing", "fit", str(photos), "--preset", "myntra-photos", "--photo-pooling", "max"]
    )
    assert pooling.exit_code == 1 and "must be 'auto', 'average' or 'multiscale'" in pooling.output
