"""The experiment report: HTML and JSON written beside each other, SRM first, user text
escaped, and the page drawn by a real browser (Debian's headless chromium, Playwright)
offline with no console error."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from furima.experiments._analysis import analyze
from furima.experiments._metrics import Metric
from furima.experiments._outcome import ExperimentAnalysis
from furima.experiments._power import power_summary
from furima.experiments._report import render_report, write_report

from .test_analysis import experiment

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
EVIL = "<img src=x onerror=alert(1)></script>"


@pytest.fixture(scope="module")
def analysis() -> ExperimentAnalysis:
    data = experiment(lift=0.5).assign(constant=1.0)
    data[EVIL] = data["latency"]
    metrics: list[Metric | str] = [
        Metric("revenue", pre_column="pre_revenue"),
        Metric("p90 delivery", "delivery_days", "quantile", quantile=0.9, higher_is_better=False),
        Metric(EVIL, guardrail=True, higher_is_better=False),
        "constant",
    ]
    return analyze(data, metrics, segments=["country"], time="exposed")


def test_report_and_json_are_written_side_by_side(
    analysis: ExperimentAnalysis, tmp_path: Path
) -> None:
    plan = power_summary(mean=10.0, std=8.0, mde=0.05)
    path = write_report(analysis, tmp_path / "ab.html", power=plan)
    assert path == tmp_path / "ab.html"
    saved = json.loads(path.with_suffix(".json").read_text())
    assert saved["decision"] == analysis.decision
    assert saved["power"]["n_total"] == plan.n_total
    assert len(saved["results"]) == len(analysis.results)
    assert sorted(item.name for item in tmp_path.iterdir()) == ["ab.html", "ab.json"]
    page = path.read_text()
    order = [page.index(text) for text in ("Sample-ratio check", "Decision", "Effects (")]
    assert order == sorted(order)
    assert page.count("<script>window.PlotlyConfig") == 1
    assert EVIL not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "has zero variance" in page


def test_a_failed_srm_check_leads_the_page(tmp_path: Path) -> None:
    lopsided = analyze(experiment(n=10000, treated=0.45), ["revenue"])
    page = render_report(lopsided)
    assert page.index("FAILED: do not trust the results below") < page.index("Decision")
    assert "Can&#x27;t trust these results" in page


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium: install Debian's chromium (tools/install_browser.sh)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        yield launched
        launched.close()


@pytest.mark.slow
def test_report_renders_in_chromium_offline(
    analysis: ExperimentAnalysis, browser: Any, tmp_path: Path
) -> None:
    path = write_report(
        analysis, tmp_path / "report.html", power=power_summary(mean=10.0, std=8.0, mde=0.05)
    )
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("dialog", lambda dialog: errors.append(f"dialog: {dialog.message}"))
    page.on("request", lambda request: requests.append(request.url))
    page.goto(path.as_uri())
    expected = 1 + 3 + 1  # forest plot; paths of 3 metrics (not the constant); power curve
    charts = page.locator("div.js-plotly-plot")
    charts.first.wait_for(state="attached", timeout=10_000)
    drawn = page.evaluate("document.querySelectorAll('div.js-plotly-plot .main-svg').length")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "experiment_report.png"), full_page=True)
    assert errors == []
    assert all(url.startswith(("file:", "data:", "blob:")) for url in requests)
    assert charts.count() == expected
    assert drawn >= expected
    page.close()
