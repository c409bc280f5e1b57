"""`furima demo`: the whole job, end to end, on the real listings that ship with furima."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from furima.cli import app
from furima.listing import ListingAssistant
from furima.pricing import PriceSuggester


@pytest.mark.slow
def test_demo_runs_end_to_end(run: CliRunner, tmp_path: Path) -> None:
    result = run.invoke(app, ["demo", "--workdir", "tmp"])
    assert result.exit_code == 0, result.output
    assert "3,000 listings in tmp/catalog.duckdb" in result.stdout
    found = re.search(r"RMSLE on these 8: ([0-9.]+); (\d) of 8 inside their range", result.stdout)
    assert found, result.stdout
    assert float(found.group(1)) < 0.6
    assert int(found.group(2)) >= 4
    # resale: the retail price read as a number beats the words alone on unseen listings
    resale = re.search(
        r"RMSLE (\d\.\d+) with the retail price and (\d\.\d+) from the\s+words alone",
        result.stdout,
    )
    assert resale and float(resale.group(1)) < 0.8 * float(resale.group(2)), result.stdout
    assert PriceSuggester.load(tmp_path / "tmp" / "models" / "resale").numeric_columns_ == [
        "retail_price"
    ]
    # chance to sell, from simulated outcomes: a higher asking price sells less often
    flat = " ".join(result.stdout.split())
    assert "6,000 SIMULATED listings" in flat
    step = result.stdout.split("3c. chance to sell")[1].split("saved ")[0]
    chances = [int(c) for c in re.findall(r"│\s+[\d,]+ │\s+(\d+)% │\s+[\d,]+ │", step)]
    assert len(chances) == 7 and chances == sorted(chances, reverse=True), chances
    assert chances[0] > chances[-1] + 30, chances
    assert re.search(r"the expected proceeds peak at [\d,]+ \(\d+% within a week\)", flat)
    served_chance = r"/v1/price:sell-chance \(asking [\d,]+\) -> HTTP 200: priced at [\d,]+, "
    assert re.search(served_chance, flat), flat
    assert "registered sell_chance version 1 as champion" in flat
    model = PriceSuggester.load(tmp_path / "tmp" / "models" / "price")
    assert model.training_["rows"] == 2992
    assert sorted(p.name for p in (tmp_path / "tmp").iterdir()) == [
        "catalog.duckdb",
        "credit_report.html",
        "experiment_report.html",
        "experiment_report.json",
        "experiments.sqlite",
        "models",
        "registry",
        "review.duckdb",
    ]
    # the listing assistant: learned, saved, turning unseen photos into listings, over HTTP
    assert "1,996 listings learned and indexed" in result.stdout
    assert "Suggested listings" in result.stdout
    served = re.search(
        r"suggest \(a JPEG\) -> HTTP (\d+) in \d+ ms:\s+title '([^']+)'", result.stdout
    )
    assert served and served.group(1) == "200", result.stdout
    page = r"GET http://127\.0\.0\.1:\d+/ -> HTTP 200:\s+the seller's page"
    assert re.search(page, result.stdout)
    # both models registered as champions and served from the registry
    assert re.search(r"registered price version 1 as\s+champion", result.stdout)
    assert re.search(r"registered listing version 1 as\s+champion", result.stdout)
    assert re.search(r"INR \([0-9,]+-[0-9,]+\) from price version\s+1", result.stdout)
    metrics = r'furima_model_version\{alias="champion",task="listing"\} 1\.0'
    assert re.search(metrics, result.stdout)
    # recommendations: quality on real Beauty purchases; the buyer's feed served and its page
    quality = re.search(
        r"│ popularity\s+│ ([0-9.]+)\s+│ ([0-9.]+)\s+│\n│ furima \([a-z_, ]+\)\s+│ ([0-9.]+)\s+│",
        result.stdout,
    )
    assert quality, result.stdout
    assert float(quality.group(3)) >= float(quality.group(1)) > 0.01  # HR@10
    assert "SIMULATED: 1,500 made-up buyers browsing 2,000 real listings" in flat
    assert "no quality is reported on them" in flat
    assert "registered recommend version 1 as champion" in flat
    assert re.search(r"-> 5 listings from recommend version 1: .+ \((because|popular)", flat)
    assert re.search(r"GET http://127\.0\.0\.1:\d+/buyer -> HTTP 200", flat)
    # safe trading: six new listings, each showing one check; the flagged ones queued
    assert "learned from 4,000 catalog listings" in flat
    rows = {
        "new-1": r"│ new-1\s+│.+│ allow\s+│",
        "new-2": r"│ new-2\s+│.+│ block\s+│ counterfeit 1\.00",
        "new-3": r"│ new-3\s+│.+│ review\s+│ off_platform",
        "new-4": r"│ new-4\s+│.+│ review\s+│ duplicate_listing",
        "new-5": r"│ new-5\s+│.+│ review\s+│ price_anomaly",
        "new-6": r"│ new-6\s+│.+│ review\s+│ not_a_product_photo",
    }
    for listing, row in rows.items():
        assert re.search(row, result.stdout), listing
    assert "5 flagged listings queued for review" in flat
    assert "registered safety version 1 as champion" in flat
    assert re.search(r"/v1/listings:check -> HTTP 200: review \(flagged: off_platform", flat)
    assert re.search(r"GET http://127\.0\.0\.1:\d+/review -> HTTP 200", flat)
    # ranking: the ranker beats the category habit on every event of the last day
    for event in ("view", "like", "purchase", "cart"):
        row = re.search(rf"│ {event}\s+│\s+\d+ │\s+([0-9.]+) │\s+([0-9.]+) │", result.stdout)
        assert row and float(row.group(1)) > float(row.group(2)), event
    assert "registered rank version 1 as champion" in flat
    assert re.search(
        r"/v1/rank .+ -> HTTP 200: listings \d+(, \d+){4} from rank version [12]", flat
    )
    # buyer search: words find the right type and colour; another script gets a note
    assert "1,996 listings indexed" in flat
    assert re.search(r"'women red kurta': \d+ matches; [^;]*Red[^;]*Kurta", flat)
    assert "'白いスニーカー': 0 matches; nothing" in flat
    assert re.search(r"/v1/search .+ -> HTTP 200: \d+ matches, .+ from search version 1", flat)
    assert re.search(r"GET http://127\.0\.0\.1:\d+/search -> HTTP 200", flat)
    # experiments: a real field experiment analysed, a policy judged offline, a canary analysed
    assert "1,410 households offered weather insurance" in flat
    assert re.search(r"│ CUPED \(village take-up\s+│ [-+]\d+\.\d% │", result.stdout)
    assert "no sample-ratio mismatch (p = 0.523)" in flat
    assert (tmp_path / "tmp" / "experiment_report.html").stat().st_size > 1_000_000
    assert re.search(r"│ dr\s+│ 0\.00\d\d\s+│", result.stdout)
    assert "the canary became experiment 'rank:v1-vs-v2' (champion" in flat
    assert re.search(r"GET /v1/experiments/rank:v1-vs-v2\?metrics=touched -> no sample-ratio", flat)
    # payment risk: fraud on simulated payments, a credit scorecard on real applications
    assert "118,483 SIMULATED card payments" in flat
    fraud = re.search(
        r"validated on the last [\d,]+ payments .+ AUPRC (\d\.\d+), AUC (\d\.\d+)", flat
    )
    assert fraud and float(fraud.group(1)) > 0.5 and float(fraud.group(2)) > 0.8, flat
    assert re.search(r"the daily budget of 20 reviews holds (1\d|20) of its \d+ frauds", flat)
    credit = re.search(r"ranks the 200 unseen ones with AUC (\d\.\d+)", flat)
    assert credit and float(credit.group(1)) > 0.75, flat
    assert re.search(r"credit limits at PD up to 30% .+: \d+ of 200 approved", flat)
    assert "every declined applicant has a reason" in flat
    assert (tmp_path / "tmp" / "credit_report.html").stat().st_size > 1_000_000
    assert "registered fraud version 1 as champion" in flat
    assert re.search(r"/v1/fraud:score \(a 250\.00 payment\) -> HTTP 200: fraud probability", flat)
    served_credit = (
        r"/v1/credit:score \(an applicant who left savings blank\) -> HTTP 200: \d+ points"
    )
    assert re.search(served_credit, flat)
    assert "first reason: Savings account and bonds: missing value" in flat
    assistant = ListingAssistant.load(tmp_path / "tmp" / "models" / "listing")
    assert len(assistant.catalog_) == 1996
    assert assistant.price_model_ is not None
