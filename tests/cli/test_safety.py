"""`furima safety fit | check | queue` on real fixture listings with photos."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image, ImageOps
from typer.testing import CliRunner

from furima.cli import app
from furima.safety import ReviewQueue

POLICIES = """
[[policy]]
name = "counterfeit"
description = "Counterfeit or replica goods: fake branded bags, watches or shoes."
keywords = ["super copy"]
action = "block"
threshold = 0.7

[[policy]]
name = "duplicate_listing"
kind = "duplicate"
"""


def _mirrored(jpeg: bytes) -> bytes:
    image = ImageOps.mirror(Image.open(io.BytesIO(jpeg)).convert("RGB"))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=70)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A catalog of 80 real photo listings (ids, titles, photos), new listings, a policy file."""
    root = tmp_path_factory.mktemp("cli-safety")
    fixtures = Path(__file__).resolve().parents[1] / "fixtures"
    photos = pd.read_parquet(fixtures / "myntra_photos_240.parquet").iloc[:80]
    photos[["id", "title", "article_type", "jpeg"]].to_parquet(root / "catalog.parquet")
    new = pd.DataFrame(
        {
            "listing_id": ["n1", "n2", "n3"],
            "name": ["Blue cotton shirt", "Gucci bag super copy", photos["title"].iloc[7]],
            "photo": [None, None, _mirrored(photos["jpeg"].iloc[7])],
        }
    )
    new.to_parquet(root / "new.parquet")
    (root / "policies.toml").write_text(POLICIES)
    return {
        "root": root,
        "catalog": root / "catalog.parquet",
        "new": root / "new.parquet",
        "policies": root / "policies.toml",
        "copied": Path(str(photos["id"].iloc[7])),
    }


@pytest.fixture(scope="module")
def model(files: dict[str, Path]) -> Path:
    out = files["root"] / "model"
    args = ["safety", "fit", str(files["catalog"]), "--policies", str(files["policies"])]
    result = CliRunner().invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout[result.stdout.index("{") :])
    assert summary["policies"] == ["counterfeit", "duplicate_listing"]
    assert summary["catalog"] == 80
    return out


def test_check_writes_results_and_queues_the_flagged(
    run: CliRunner, files: dict[str, Path], model: Path, tmp_path: Path
) -> None:
    out, queue = tmp_path / "results.parquet", tmp_path / "review.duckdb"
    args = ["safety", "check", str(files["new"]), "--model", str(model)]
    result = run.invoke(app, [*args, "--out", str(out), "--queue", str(queue)])
    assert result.exit_code == 0, result.output
    flat = " ".join(result.stdout.split())
    assert "3 listings checked: 1 allowed, 1 to review, 1 blocked." in flat
    assert "2 flagged listings sent to the review queue" in flat
    results = pd.read_parquet(out).set_index("listing_id")
    assert results["decision"].to_dict() == {"n1": "allow", "n2": "block", "n3": "review"}
    assert results.loc["n3", "flagged"] == "duplicate_listing"
    assert str(files["copied"]) in results.loc["n3", "check"]
    with ReviewQueue(queue) as review:
        assert sorted(item.listing_id for item in review.pending(5)) == ["n2", "n3"]


def test_queue_show_decide_and_export(
    run: CliRunner, files: dict[str, Path], model: Path, tmp_path: Path
) -> None:
    queue = tmp_path / "review.duckdb"
    args = ["safety", "check", str(files["new"]), "--model", str(model), "--queue", str(queue)]
    assert run.invoke(app, args).exit_code == 0
    shown = run.invoke(app, ["safety", "queue", "show", "--queue", str(queue)])
    assert shown.exit_code == 0, shown.output
    assert "n2" in shown.stdout and "counterfeit" in shown.stdout
    decide = ["safety", "queue", "decide", "n2", "--queue", str(queue)]
    decided = run.invoke(app, [*decide, "--outcome", "remove", "--reviewer", "ana"])
    assert decided.exit_code == 0, decided.output
    assert json.loads(decided.stdout)["reviewer"] == "ana"
    again = run.invoke(app, [*decide, "--outcome", "approve", "--reviewer", "bo"])
    assert again.exit_code == 1 and "already decided" in again.output
    labels = tmp_path / "labels.parquet"
    exported = run.invoke(
        app, ["safety", "queue", "export", "--queue", str(queue), "--out", str(labels)]
    )
    assert exported.exit_code == 0, exported.output
    assert pd.read_parquet(labels).set_index("listing_id")["counterfeit"].to_dict() == {"n2": 1}


def test_check_against_itself_with_a_policy_file(run: CliRunner, files: dict[str, Path]) -> None:
    args = ["safety", "check", str(files["catalog"]), "--policies", str(files["policies"])]
    result = run.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "80 listings checked" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["safety", "check", "missing.parquet", "--policies", "p.toml"], "does not exist"),
        (["safety", "check", "{new}"], "give --model"),
        (["safety", "check", "{new}", "--policies", "{bad}"], "line 2"),
        (["safety", "check", "{new}", "--model", "{new}"], "furima safety checker"),
    ],
)
def test_bad_input_gets_a_message_and_exit_code_1(
    run: CliRunner, files: dict[str, Path], args: list[str], message: str
) -> None:
    bad = files["root"] / "bad.toml"
    bad.write_text('[[policy]]\nnmae = "x"\n')
    filled = [a.format(new=files["new"], bad=bad) for a in args]
    result = run.invoke(app, filled)
    assert result.exit_code == 1
    assert message in " ".join(result.output.split())
