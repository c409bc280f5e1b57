"""The credit and fraud HTML reports: sections and numbers checked against metrics computed
here independently, bad input refused before anything is written, and each page drawn by a
real browser (Debian's headless chromium through Playwright) offline with no console error."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy.stats import ks_2samp
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from furima.exceptions import DataError, NotFittedError, SchemaError
from furima.risk import (
    FraudScorer,
    Scorecard,
    population_stability_index,
    simulate_transactions,
)
from furima.risk._fraud_report import daily_alerts, write_fraud_report
from furima.risk._report import write_credit_report
from furima.risk._report_page import number, share

FIXTURE = Path(__file__).parents[1] / "fixtures" / "german_credit_400.parquet"
TARGET = "creditability"
BAD = "bad"
PROTECTED = ["personal_status_and_sex", "age_in_years"]
MAX_PD = 0.3
ALERTS = 20
REVIEW_COST = 5.0
CHROMIUM = Path("/usr/bin/chromium")
PHONE, DESKTOP = 390, 1280
EVIL = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def german() -> pd.DataFrame:
    return pd.read_parquet(FIXTURE)


@pytest.fixture(scope="module")
def card(german: pd.DataFrame) -> Scorecard:
    return Scorecard(target=TARGET, bad_value=BAD).fit(german.iloc[:300])


@pytest.fixture(scope="module")
def credit_page(
    german: pd.DataFrame, card: Scorecard, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    folder = tmp_path_factory.mktemp("credit")
    return write_credit_report(
        card,
        german.iloc[300:],
        folder / "credit.html",
        recent=german.iloc[:300],
        protected=PROTECTED,
        max_pd=MAX_PD,
    )


@pytest.fixture(scope="module")
def transactions() -> pd.DataFrame:
    return simulate_transactions(customers=300, terminals=600, days=40, seed=0)


@pytest.fixture(scope="module")
def scorer(transactions: pd.DataFrame) -> FraudScorer:
    history = transactions.loc[transactions["day"] < 30]
    return FraudScorer(windows_days=(1, 7), learning_rate=0.2).fit(history)


@pytest.fixture(scope="module")
def later(transactions: pd.DataFrame) -> pd.DataFrame:
    return transactions.loc[transactions["day"].between(30, 35)]


@pytest.fixture(scope="module")
def fraud_page(
    transactions: pd.DataFrame,
    scorer: FraudScorer,
    later: pd.DataFrame,
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    folder = tmp_path_factory.mktemp("fraud")
    return write_fraud_report(
        scorer,
        later,
        folder / "fraud.html",
        recent=transactions.loc[transactions["day"] >= 36],
        alerts_per_day=ALERTS,
        review_cost=REVIEW_COST,
    )


def _fact(page: str, name: str) -> str:
    found = re.search(rf"<dt>{re.escape(name)}</dt><dd>(.*?)</dd>", page)
    assert found, f"no fact {name!r}"
    return found.group(1)


# --------------------------------------------------------------------------- credit


def test_credit_headline_matches_independent_metrics(
    german: pd.DataFrame, card: Scorecard, credit_page: Path
) -> None:
    page = credit_page.read_text()
    test = german.iloc[300:]
    bad = (test[TARGET] == BAD).to_numpy()
    scored = card.score(test)
    probability = scored["probability_of_default"].to_numpy()
    auc = roc_auc_score(bad, probability)
    ks = ks_2samp(scored["score"][bad], scored["score"][~bad]).statistic
    ranks = pd.Series(probability).rank(method="first")
    bins = pd.DataFrame({"p": probability, "y": bad, "bin": pd.qcut(ranks, 10, labels=False)})
    means = bins.groupby("bin").mean()
    ece = float((means["p"] - means["y"]).abs().mean())  # ten bins of ten rows each
    assert _fact(page, "Applicants") == "100"
    assert _fact(page, "Bads") == f"{bad.sum()} (bad rate {bad.mean():.1%})"
    assert _fact(page, "AUC") == number(auc)
    assert _fact(page, "Gini") == number(2 * auc - 1)
    assert _fact(page, "KS").startswith(number(ks) + " (at score ")
    assert _fact(page, "Brier score") == number(brier_score_loss(bad, probability))
    assert _fact(page, "Expected calibration error").startswith(number(ece) + " ")
    assert _fact(page, "Approved at the cut-off").startswith(share((probability <= MAX_PD).mean()))
    assert 0.7 < auc < 0.85  # measured 0.763


def test_credit_sections_in_order_with_one_plotly(credit_page: Path) -> None:
    page = credit_page.read_text()
    titles = [
        "Headline",
        "Score distribution",
        "Calibration",
        "ROC curve",
        "KS curve",
        "Information values",
        "Bins per feature",
        "Stability",
        "Approval rates by protected group",
        "Declined applicants",
    ]
    positions = [page.index(f"<h2>{title}</h2>") for title in titles]
    assert positions == sorted(positions)
    assert page.count("<script>window.PlotlyConfig") == 1
    # distribution, calibration, ROC, KS, IV, 6 features' bins, PSI
    assert page.count('class="plotly-graph-div"') == 12
    assert page.count("<details><summary>") == 20  # every feature's bins


def test_credit_fairness_stability_and_declines(
    german: pd.DataFrame, card: Scorecard, credit_page: Path
) -> None:
    page = credit_page.read_text()
    test = german.iloc[300:]
    probability = card.score(test)["probability_of_default"]
    approved = (probability <= MAX_PD).groupby(test["personal_status_and_sex"]).mean()
    for group, rate in approved.items():
        assert f"<td>{group}</td>" in page.replace("&#x27;", "'")
        assert f'<td class="num">{rate:.1%}</td>' in page
    ratio = approved / approved.max()
    assert ("below four fifths" in page) == bool((ratio < 0.8).any())
    declined = int((probability > MAX_PD).sum())
    assert f"{declined} of 100 applicants declined" in page
    assert f"{declined} of them with at least one reason" in page
    recent_scores = card.score(german.iloc[:300])["score"]
    psi = population_stability_index(card.score(test)["score"], recent_scores)
    assert f"Score PSI {number(psi)}" in page


def test_loaded_scorecard_and_a_bare_model(
    german: pd.DataFrame, card: Scorecard, tmp_path: Path
) -> None:
    loaded = Scorecard.load(card.save(tmp_path / "card"))
    test = german.iloc[300:]
    page = write_credit_report(
        loaded, test, tmp_path / "loaded.html", target=TARGET, bad_value=BAD
    ).read_text()
    assert "<h2>Bins per feature</h2>" in page and "Approval rates" not in page
    assert _fact(page, "AUC") == number(
        roc_auc_score(test[TARGET] == BAD, card.score(test)["probability_of_default"])
    )

    class Bare:
        def score(self, frame: pd.DataFrame) -> pd.DataFrame:
            return card.score(frame)

    bare = write_credit_report(Bare(), test, tmp_path / "bare.html", target=TARGET, bad_value=BAD)
    text = bare.read_text()
    assert "Information values" not in text and "Bins per feature" not in text
    assert text.count('class="plotly-graph-div"') == 4


def test_credit_text_from_the_data_is_escaped(german: pd.DataFrame, tmp_path: Path) -> None:
    frame = german.iloc[:200].copy()
    frame["purpose"] = frame["purpose"].where(frame.index % 2 == 0, EVIL)
    card = Scorecard(target=TARGET, bad_value=BAD, features=["purpose", "duration_in_month"])
    page = write_credit_report(
        card.fit(frame), frame, tmp_path / "evil.html", protected=["purpose"], max_pd=MAX_PD
    ).read_text()
    assert EVIL not in page and "&lt;img src=x onerror=alert(1)&gt;" in page


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        ({"frame": "empty"}, DataError, "has no rows"),
        ({"frame": "no target"}, SchemaError, "has no column 'creditability'"),
        ({"frame": "all bad"}, DataError, "with one class only"),
        ({"frame": "unlabelled"}, DataError, "is missing on 1 row(s)"),
        ({"bad_value": "terrible"}, DataError, "equals bad_value='terrible'"),
        ({"protected": ["religion"], "max_pd": 0.3}, SchemaError, "has no column 'religion'"),
        ({"protected": ["age_in_years"]}, DataError, "need a cut-off: pass max_pd="),
        ({"max_pd": 1.5}, DataError, "max_pd must be a probability"),
        ({"recent": "empty"}, DataError, "recent sample has no rows"),
        ({"recent": "no features"}, SchemaError, "the recent sample has no column"),
    ],
)
def test_credit_bad_input_is_refused_before_writing(
    german: pd.DataFrame,
    card: Scorecard,
    tmp_path: Path,
    change: dict[str, Any],
    error: type[Exception],
    message: str,
) -> None:
    frame = german.iloc[300:]
    frames = {
        "empty": frame.iloc[:0],
        "no target": frame.drop(columns=[TARGET]),
        "all bad": frame.assign(**{TARGET: BAD}),
        "unlabelled": frame.assign(**{TARGET: frame[TARGET].where(frame.index != 300)}),
        "no features": frame[[TARGET]],
    }
    kwargs = dict(change)
    if "frame" in kwargs:
        frame = frames[kwargs.pop("frame")]
    if "recent" in kwargs:
        kwargs["recent"] = frames[kwargs["recent"]]
    path = tmp_path / "credit.html"
    path.write_text("previous report")
    with pytest.raises(error, match=re.escape(message)):
        write_credit_report(card, frame, path, **kwargs)
    assert path.read_text() == "previous report"
    assert [item.name for item in tmp_path.iterdir()] == ["credit.html"]


def test_credit_needs_an_outcome_and_a_scoring_model(german: pd.DataFrame, tmp_path: Path) -> None:
    class Unnamed:
        def score(self, frame: pd.DataFrame) -> pd.DataFrame:
            raise AssertionError("never scored")

    with pytest.raises(DataError, match="pass target=<column> and bad_value="):
        write_credit_report(Unnamed(), german, tmp_path / "a.html")
    with pytest.raises(DataError, match="has no score"):
        write_credit_report(object(), german, tmp_path / "b.html", target=TARGET, bad_value=BAD)
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- fraud


def test_fraud_headline_matches_independent_metrics(
    scorer: FraudScorer, later: pd.DataFrame, fraud_page: Path
) -> None:
    page = fraud_page.read_text()
    scores = scorer.score(later, reasons=False)["score"]
    labels = later["is_fraud"]
    day = later["timestamp"].dt.floor("D")
    top = scores.groupby(day).rank(method="first", ascending=False) <= ALERTS
    assert _fact(page, "Transactions") == f"{len(later):,}"
    assert _fact(page, "Frauds").startswith(f"{labels.sum():,} (")
    assert _fact(page, "AUPRC") == number(average_precision_score(labels, scores))
    assert _fact(page, "AUC") == number(roc_auc_score(labels, scores))
    assert _fact(page, "Alert budget") == f"top {ALERTS} a day ({int(top.sum())} alerts in all)"
    assert _fact(page, "Precision in the top alerts per day") == share(labels[top].mean())
    assert _fact(page, "Frauds caught by the alerts") == share(labels[top].sum() / labels.sum())
    assert average_precision_score(labels, scores) > 0.5  # measured about 0.7


def test_fraud_sections_cost_and_reasons(
    scorer: FraudScorer, later: pd.DataFrame, fraud_page: Path
) -> None:
    page = fraud_page.read_text()
    titles = [
        "Headline",
        "Precision and recall",
        "Alerts day by day",
        "Cost",
        "Score distribution",
        "Reasons",
        "Highest-scored alerts",
        "Stability",
    ]
    positions = [page.index(f"<h2>{title}</h2>") for title in titles]
    assert positions == sorted(positions)
    assert page.count('class="plotly-graph-div"') == 6
    days = page[page.index("<summary>Every day</summary>") :].split("</details>")[0]
    assert days.count("<td>2018-05-0") == 6  # one row per day, 1 to 6 May
    scores = scorer.score(later, reasons=False)["score"].to_numpy()
    amounts = later["amount"].to_numpy()
    order = np.argsort(-scores)
    savings = np.cumsum(amounts[order] * later["is_fraud"].to_numpy()[order]) - REVIEW_COST * (
        np.arange(len(order)) + 1
    )
    best = int(np.argmax(savings))
    assert f"Review every transaction scored at or above {number(scores[order][best], 4)}" in page
    assert f"saving {number(savings[best], 4)}" in page
    named = [r.split(" = ")[0] for row in scorer.score(later)["reasons"] for r in row]
    assert max(set(named), key=named.count) in page
    assert "Score PSI" in page
    # the recent days are scored after the labelled ones, so their counts see those payments
    count_row = re.search(r"<td>customer_id_count_7d</td>.*?</tr>", page)
    assert count_row and "stable" in count_row.group(0)


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        ({"frame": "empty"}, DataError, "has no rows"),
        ({"frame": "no label"}, SchemaError, "has no column 'is_fraud'"),
        ({"frame": "no amount"}, SchemaError, "has no column 'amount'"),
        ({"frame": "one class"}, DataError, "with one class only"),
        ({"frame": "bad labels"}, DataError, "must be 0/1 or booleans, but got 2"),
        ({"alerts_per_day": 0}, DataError, "alerts_per_day must be a positive integer"),
        ({"review_cost": -1.0}, DataError, "review_cost must be a finite number >= 0"),
        ({"recent": "no keys"}, SchemaError, "recent transactions has no column 'terminal_id'"),
    ],
)
def test_fraud_bad_input_is_refused_before_writing(
    scorer: FraudScorer,
    later: pd.DataFrame,
    tmp_path: Path,
    change: dict[str, Any],
    error: type[Exception],
    message: str,
) -> None:
    frames = {
        "empty": later.iloc[:0],
        "no label": later.drop(columns=["is_fraud"]),
        "no amount": later.drop(columns=["amount"]),
        "one class": later.assign(is_fraud=0),
        "bad labels": later.assign(is_fraud=later["is_fraud"] * 2),
        "no keys": later.drop(columns=["terminal_id"]),
    }
    kwargs = dict(change)
    frame = frames[kwargs.pop("frame")] if "frame" in kwargs else later
    if "recent" in kwargs:
        kwargs["recent"] = frames[kwargs["recent"]]
    with pytest.raises(error, match=re.escape(message)):
        write_fraud_report(scorer, frame, tmp_path / "fraud.html", **kwargs)
    assert list(tmp_path.iterdir()) == []


def test_days_of_times_in_seconds_are_numbered() -> None:
    frame = pd.DataFrame({"t": [10.0, 90_000.0, 90_001.0, 200_000.0]})
    daily = daily_alerts(np.array([1, 0, 1, 0]), np.array([True, True, False, False]), frame, "t")
    assert list(daily.index) == ["day 0", "day 1", "day 2"]
    assert daily["precision"].tolist() == [1.0, 0.0, 0.0]
    assert daily["frauds"].tolist() == [1, 1, 0]


def test_fraud_report_needs_a_fitted_scorer(later: pd.DataFrame, tmp_path: Path) -> None:
    with pytest.raises(NotFittedError, match="not fitted"):
        write_fraud_report(FraudScorer(), later, tmp_path / "fraud.html")


# --------------------------------------------------------------------------- browser


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


def _render(browser: Any, path: Path, width: int, shot: Path) -> dict[str, Any]:
    """Open ``path`` at ``width``; the charts drawn, the errors, requests and page width."""
    page = browser.new_page(viewport={"width": width, "height": 900})
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("dialog", lambda dialog: errors.append(f"dialog: {dialog.message}"))
    page.on("request", lambda request: requests.append(request.url))
    page.goto(path.as_uri())
    charts = page.locator("div.js-plotly-plot")
    charts.first.wait_for(state="attached", timeout=10_000)
    seen = {
        "charts": charts.count(),
        "drawn": page.evaluate("document.querySelectorAll('div.js-plotly-plot .main-svg').length"),
        "width": page.evaluate("document.documentElement.scrollWidth"),
        "errors": errors,
        "outside": [url for url in requests if not url.startswith(("file:", "data:", "blob:"))],
    }
    page.screenshot(path=str(shot), full_page=True)
    page.close()
    return seen


@pytest.mark.slow
@pytest.mark.parametrize("report", ["credit_page", "fraud_page"])
def test_report_renders_in_chromium_offline(
    report: str, browser: Any, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    path: Path = request.getfixturevalue(report)
    expected = path.read_text().count('class="plotly-graph-div"')
    for width in (PHONE, DESKTOP):
        seen = _render(browser, path, width, tmp_path / f"{path.stem}_{width}.png")
        assert seen["errors"] == [] and seen["outside"] == []
        assert seen["charts"] == expected
        assert seen["drawn"] >= expected
        assert seen["width"] <= width  # nothing wider than a phone's screen
        assert (tmp_path / f"{path.stem}_{width}.png").stat().st_size > 10_000
