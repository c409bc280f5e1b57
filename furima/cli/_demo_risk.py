"""The payment risk step of ``furima demo``: a fraud scorer on SIMULATED card payments (no
public transaction log carries card and terminal ids with chargebacks) and a credit scorecard
on real German credit applications, then both answered by the registry server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.table import Table

__all__ = ["print_served_risk", "risk_step"]

_CUSTOMERS, _TERMINALS, _DAYS = 1_000, 2_000, 60
_ALERTS_PER_DAY = 20
_REVIEW_COST = 5.0
_TEST_SHARE = 0.2
_MAX_PD, _MAX_EXPECTED_LOSS, _CEILING = 0.3, 100.0, 5_000.0


def risk_step(out: Console, workdir: Path, seed: int) -> dict[str, Path]:
    """Fit, save and show the fraud scorer and the credit scorecard; their folders by task."""
    out.rule("13. payment risk: fraud on simulated card payments, credit on real applications")
    fraud = _fraud(out, workdir, seed)
    credit = _credit(out, workdir, seed)
    return {"fraud": fraud, "credit": credit}


def _fraud(out: Console, workdir: Path, seed: int) -> Path:
    from furima.risk import FraudScorer, alert_budget, simulate_transactions

    payments = simulate_transactions(
        customers=_CUSTOMERS, terminals=_TERMINALS, days=_DAYS, seed=seed
    )
    scorer = FraudScorer(seed=seed).fit(payments)
    path = scorer.save(workdir / "models" / "fraud")
    valid = scorer.validation_
    threshold, saving = scorer.cost_threshold(_REVIEW_COST)
    out.print(
        f"{len(payments):,} SIMULATED card payments ({int(payments['is_fraud'].sum()):,} "
        f"frauds from compromised terminals and cards) over {_DAYS} days. Trained on the past, "
        f"validated on the last {valid.rows:,} payments with chargebacks arriving after 7 "
        f"days: AUPRC {valid.auprc:.3f}, AUC {valid.auc:.3f}, {valid.precision_at_k:.0%} of "
        f"the top {valid.k} alerts are fraud. At {_REVIEW_COST:g} per review the best "
        f"threshold is {threshold:.3f}, saving {saving:,.0f} in fraud caught net of reviews."
    )
    last_day = payments[
        payments["timestamp"].dt.floor("D") == payments["timestamp"].max().floor("D")
    ]
    scored = scorer.score(last_day)
    flagged = alert_budget(scored["score"], last_day["timestamp"], _ALERTS_PER_DAY)
    caught = int(last_day.loc[flagged, "is_fraud"].sum())
    out.print(_alerts_table(last_day, scored, caught, int(last_day["is_fraud"].sum())))
    out.print(f"saved {path}; try: furima risk fraud score payments.parquet --model {path}")
    return path


def _alerts_table(day: pd.DataFrame, scored: pd.DataFrame, caught: int, frauds: int) -> Table:
    table = Table(
        title=(
            f"The last day's top alerts: the daily budget of {_ALERTS_PER_DAY} reviews holds "
            f"{caught} of its {frauds} frauds"
        )
    )
    for column in ("customer", "terminal", "amount", "score", "fraud?", "why (log-odds)"):
        table.add_column(column)
    for index in scored["score"].nlargest(5).index:
        row, answer = day.loc[index], scored.loc[index]
        table.add_row(
            str(row["customer_id"]),
            str(row["terminal_id"]),
            f"{row['amount']:,.2f}",
            f"{answer['score']:.3f}",
            "yes" if row["is_fraud"] else "no",
            escape("; ".join(answer["reasons"][:2])),
        )
    return table


def _credit(out: Console, workdir: Path, seed: int) -> Path:
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split

    from furima.datasets import demo_credit_path
    from furima.risk import Scorecard, credit_limits, write_credit_report

    applications = pd.read_parquet(demo_credit_path())
    train, test = train_test_split(
        applications,
        test_size=_TEST_SHARE,
        stratify=applications["creditability"],
        random_state=seed,
    )
    card = Scorecard("creditability", bad_value="bad", seed=seed).fit(train)
    path = card.save(workdir / "models" / "credit")
    scored = card.score(test)
    bad = (test["creditability"] == "bad").to_numpy()
    auc = roc_auc_score(bad, scored["probability_of_default"])
    strongest = card.information_values().head(3)
    out.print(
        f"{len(applications):,} real credit applications (UCI German credit); a points "
        f"scorecard on {len(train):,} of them (monotone bins by optbinning, 20 points double "
        f"the odds) ranks the {len(test)} unseen ones with AUC {auc:.3f}. Strongest "
        f"features (information value): "
        + ", ".join(f"{name} {value:.2f}" for name, value in strongest.items())
    )
    out.print(_applicants_table(scored))
    report = write_credit_report(
        card,
        test,
        workdir / "credit_report.html",
        protected=("personal_status_and_sex",),
        max_pd=_MAX_PD,
        title="Credit scorecard on German credit (unseen applicants)",
    )
    limits = credit_limits(
        scored["probability_of_default"],
        max_pd=_MAX_PD,
        max_expected_loss=_MAX_EXPECTED_LOSS,
        ceiling=_CEILING,
        step=100.0,
    )
    approved = limits["decision"] == "approve"
    out.print(
        f"credit limits at PD up to {_MAX_PD:.0%} and at most {_MAX_EXPECTED_LOSS:g} expected "
        f"loss each: {int(approved.sum())} of {len(limits)} approved, median limit "
        f"{limits.loc[approved, 'limit'].median():,.0f}; every declined applicant has "
        f"{'a reason' if scored.loc[~approved, 'reasons'].map(len).gt(0).all() else 'NO reason'}"
    )
    out.print(
        f"saved {path}; report {report}; try: furima risk credit score applicants.parquet "
        f"--model {path}"
    )
    return path


def _applicants_table(scored: pd.DataFrame) -> Table:
    table = Table(title="The three riskiest unseen applicants and the reasons they are told")
    for column in ("score", "probability of default", "main reasons"):
        table.add_column(column)
    for index in scored["score"].nsmallest(3).index:
        answer = scored.loc[index]
        table.add_row(
            f"{answer['score']:.0f}",
            f"{answer['probability_of_default']:.0%}",
            escape(" / ".join(answer["reasons"][:2])),
        )
    return table


def print_served_risk(out: Console, url: str, models: dict[str, Path]) -> None:
    """One payment to ``/v1/fraud:score`` and one applicant to ``/v1/credit:score``."""
    import httpx

    from furima.datasets import demo_credit_path
    from furima.risk import FraudScorer

    recent = FraudScorer.load(models["fraud"]).history_.tail(1).iloc[0]
    payment: dict[str, Any] = {
        "transaction_id": "demo-1",
        "timestamp": (recent["timestamp"] + pd.Timedelta(minutes=1)).isoformat(),
        "amount": 250.0,
        "customer_id": int(recent["customer_id"]),
        "terminal_id": int(recent["terminal_id"]),
    }
    body = httpx.post(f"{url}/v1/fraud:score", json={"transactions": [payment]}, timeout=60)
    answer = body.json()["scores"][0]
    out.print(
        f"POST {url}/v1/fraud:score (a 250.00 payment) -> HTTP {body.status_code}: fraud "
        f"probability {answer['score']:.3f}; {escape('; '.join(answer['reasons'][:2]))}"
    )
    applicant = pd.read_parquet(demo_credit_path()).drop(columns="creditability").iloc[0]
    fields = {name: _plain(value) for name, value in applicant.items()}
    fields["savings_account_and_bonds"] = None  # not given: scored, and said
    reply = httpx.post(
        f"{url}/v1/credit:score",
        json={"applicants": [{"applicant_id": "demo-1", "fields": fields}]},
        timeout=60,
    )
    scored = reply.json()["scores"][0]
    out.print(
        f"POST {url}/v1/credit:score (an applicant who left savings blank) -> HTTP "
        f"{reply.status_code}: {scored['score']:.0f} points, probability of default "
        f"{scored['probability_of_default']:.1%}; first reason: {escape(scored['reasons'][0])}"
    )


def _plain(value: object) -> object:
    return value.item() if isinstance(value, np.generic) else value
