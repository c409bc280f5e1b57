"""`furima photo tune`, and an assistant fitted on the tuned backbone by the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from furima.cli import app


def test_tune_then_fit_and_suggest_with_the_tuned_backbone(
    run: CliRunner, fixtures: Path, tmp_path: Path
) -> None:
    photos = pd.read_parquet(fixtures / "myntra_photos_240.parquet")
    two_kinds = photos[photos["article_type"].isin(["Watches", "Tshirts"])]
    two_kinds.rename(columns={"jpeg": "photo"}).to_parquet(tmp_path / "catalog.parquet")
    tuned = run.invoke(
        app,
        ["photo", "tune", str(tmp_path / "catalog.parquet"), "--labels", "article_type,gender",
         "--out", str(tmp_path / "backbone"), "--epochs", "2", "--batch-size", "8",
         "--image-size", "64", "--validation-share", "0.2", "--device", "cpu"],
    )  # fmt: skip
    assert tuned.exit_code == 0, tuned.output
    summary = json.loads(tuned.stdout)
    assert summary["photos"] == 48 and summary["device"] == "cpu"
    assert set(summary["held_out_top1"]) == {"article_type", "gender"}

    two_kinds.to_parquet(tmp_path / "listings.parquet")
    with pytest.warns(UserWarning, match="held out 12 of these 60 listings' photos"):
        fitted = run.invoke(
            app,
            ["listing", "fit", str(tmp_path / "listings.parquet"), "--preset", "myntra-photos",
             "--photo-backbone", str(tmp_path / "backbone"), "--out", str(tmp_path / "assistant")],
        )  # fmt: skip
    assert fitted.exit_code == 0, fitted.output
    assert (tmp_path / "assistant" / "search" / "photo_backbone" / "backbone.onnx").is_file()

    (tmp_path / "watch.jpg").write_bytes(two_kinds["jpeg"].iloc[-1])
    suggested = run.invoke(
        app,
        ["listing", "suggest", "--assistant", str(tmp_path / "assistant"),
         "--photo", str(tmp_path / "watch.jpg")],
    )  # fmt: skip
    assert suggested.exit_code == 0, suggested.output
    fields = {f["name"]: f for f in json.loads(suggested.stdout)["fields"]}
    assert fields["article_type"]["top"][0]["value"] == "Watches"


def test_tune_names_missing_columns(run: CliRunner, fixtures: Path) -> None:
    result = run.invoke(
        app,
        ["photo", "tune", str(fixtures / "myntra_photos_240.parquet"), "--labels", "colour"],
    )
    assert result.exit_code == 1
    assert "has no column(s) ['photo', 'colour']" in result.output
