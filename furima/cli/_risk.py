"""``furima risk fraud|credit fit|score|report`` and ``furima risk simulate``: thin commands
over furima.risk."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from furima.cli._errors import reported_errors
from furima.cli._search import read_table, require_column, write_table
from furima.exceptions import DataError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["risk_app"]

risk_app = typer.Typer(help="Payment risk: transaction fraud and credit scoring.")
fraud_app = typer.Typer(help="Fraud scoring of payment transactions.")
credit_app = typer.Typer(help="Credit scoring of applicants (scorecard in points).")
risk_app.add_typer(fraud_app, name="fraud")
risk_app.add_typer(credit_app, name="credit")


class CreditKind(StrEnum):
    blend = "blend"
    scorecard = "scorecard"
    gbm = "gbm"


class FraudModel(StrEnum):
    lightgbm = "lightgbm"
    automl = "automl"


DataArgument = Annotated[Path, typer.Argument(help="A table: .parquet, .csv or .jsonl.")]
ModelOption = Annotated[Path, typer.Option("--model", help="A folder written by `... fit`.")]
RegisterOption = Annotated[
    str | None,
    typer.Option(
        help="Register the model under this task name (its first version becomes the "
        "champion); `furima serve` then answers the task's endpoint."
    ),
]
RegistryOption = Annotated[
    str | None, typer.Option(help="Registry for --register (default: ./mlruns).")
]


# ------------------------------------------------------------------------------------ fraud
@fraud_app.command("fit")
def fraud_fit(
    data: DataArgument,
    out: Annotated[Path, typer.Option(help="Folder to save the scorer in.")],
    time: Annotated[str, typer.Option(help="Transaction time column.")] = "timestamp",
    label: Annotated[str, typer.Option(help="0/1 fraud label column.")] = "is_fraud",
    amount: Annotated[str, typer.Option(help="Amount column.")] = "amount",
    key: Annotated[
        list[str] | None,
        typer.Option(help="Entity column for point-in-time features (repeat); none: raw only."),
    ] = None,
    feature: Annotated[
        list[str] | None, typer.Option(help="Another raw numeric column to use (repeat).")
    ] = None,
    window_days: Annotated[
        list[float] | None, typer.Option(help="Entity feature window in days (repeat).")
    ] = None,
    label_delay_days: Annotated[
        float, typer.Option(help="Days until a fraud label is known (chargebacks).")
    ] = 7.0,
    valid_share: Annotated[
        float, typer.Option(help="The latest share of rows that validates.")
    ] = 0.2,
    review_cost: Annotated[
        float | None,
        typer.Option(help="Cost of reviewing one alert: also print the cost-based threshold."),
    ] = None,
    model: Annotated[
        FraudModel, typer.Option(help="lightgbm (with reasons) or automl (families searched).")
    ] = FraudModel.lightgbm,
    family: Annotated[
        list[str] | None, typer.Option(help="automl: a model family to search (repeat).")
    ] = None,
    budget: Annotated[str, typer.Option(help="automl: time budget (300, 10m, 1h).")] = "2m",
    label_time: Annotated[
        str | None, typer.Option(help="Column with the time each label became known.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    register: RegisterOption = None,
    registry: RegistryOption = None,
) -> None:
    """Train on the past, validate on the future with late labels; save the scorer to OUT."""
    from furima.cli._automl import parse_budget
    from furima.risk import FraudScorer

    with reported_errors():
        table = read_table(data)
        scorer = FraudScorer(
            time=time,
            label=label,
            amount=amount,
            keys=tuple(key) if key is not None else ("customer_id", "terminal_id"),
            windows_days=tuple(window_days or (1, 7, 30)),
            label_delay_days=label_delay_days,
            features=tuple(feature or ()),
            model=model.value,
            families=family or None,
            budget_s=parse_budget(budget),
            label_time=label_time,
            seed=seed,
        ).fit(table, valid_share=valid_share)
        saved = scorer.save(out)
        summary: dict[str, Any] = {"model": str(saved), "validation": _plain(scorer.validation_)}
        if review_cost is not None:
            threshold, saving = scorer.cost_threshold(review_cost)
            summary["cost_threshold"] = {"threshold": threshold, "net_saving": saving}
        summary.update(_registered(saved, register, registry))
    Console().print_json(json.dumps(summary, default=float))


@fraud_app.command("score")
def fraud_score(
    data: DataArgument,
    model: ModelOption,
    out: Annotated[
        Path | None, typer.Option(help="Write every scored row here (.parquet or .jsonl).")
    ] = None,
    reasons: Annotated[
        bool | None,
        typer.Option(
            "--reasons/--no-reasons",
            help="Add each row's top three reasons (default: when the model gives them).",
        ),
    ] = None,
    alerts_per_day: Annotated[
        int, typer.Option(min=1, help="Alert budget: the top K scored transactions per day.")
    ] = 100,
    show: Annotated[int, typer.Option(min=0, help="Print this many top alerts.")] = 5,
) -> None:
    """Score transactions; mark each day's top alerts (the review team's budget)."""
    from furima.risk import FraudScorer, alert_budget

    with reported_errors():
        scorer = FraudScorer.load(model)
        table = read_table(data)
        if reasons is None:
            reasons = scorer.gives_reasons
        scored = scorer.score(table, reasons=reasons)
        scored["alert"] = alert_budget(scored["score"], table[scorer.time], alerts_per_day)
        if out is not None:
            write_table(table.join(scored), out)
    top = scored.sort_values("score", ascending=False).head(show)
    alerts = [
        {"row": _plain(index), "score": round(float(row["score"]), 4)}
        | ({"reasons": list(row["reasons"])} if reasons else {})
        for index, row in top.iterrows()
    ]
    summary = {"rows": len(scored), "alerts": int(scored["alert"].sum()), "top": alerts}
    if out is not None:
        summary["out"] = str(out)
    Console().print_json(json.dumps(summary, default=float))


@fraud_app.command("report")
def fraud_report(
    data: Annotated[Path, typer.Argument(help="Labelled transactions (a later period).")],
    model: ModelOption,
    out: Annotated[Path, typer.Option(help="The HTML file to write.")] = Path("fraud.html"),
    recent: Annotated[
        Path | None, typer.Option(help="More recent transactions: report drift against DATA.")
    ] = None,
    alerts_per_day: Annotated[int, typer.Option(min=1, help="The daily alert budget.")] = 100,
    review_cost: Annotated[
        float | None, typer.Option(help="Cost of one review: add the cost curve.")
    ] = None,
) -> None:
    """An HTML page: precision-recall, daily alert precision, costs, reasons, drift."""
    from furima.risk import FraudScorer, write_fraud_report

    with reported_errors():
        written = write_fraud_report(
            FraudScorer.load(model),
            read_table(data),
            out,
            recent=read_table(recent) if recent is not None else None,
            alerts_per_day=alerts_per_day,
            review_cost=review_cost,
        )
    Console().print(f"wrote {written}", markup=False, highlight=False)


@risk_app.command("simulate")
def simulate(
    out: Annotated[Path, typer.Option(help="Parquet file to write the transactions to.")],
    days: Annotated[int, typer.Option(min=1, help="Days of transactions.")] = 91,
    customers: Annotated[int, typer.Option(min=1, help="Number of customers.")] = 5000,
    terminals: Annotated[int, typer.Option(min=1, help="Number of terminals.")] = 10000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
) -> None:
    """Simulated card transactions with fraud (compromised terminals and cards), seeded."""
    from furima.risk import simulate_transactions

    with reported_errors():
        if out.suffix.lower() != ".parquet":
            raise DataError(f"--out {out}: write a .parquet file.")
        table = simulate_transactions(
            customers=customers, terminals=terminals, days=days, seed=seed
        )
        write_table(table, out)
    summary = {
        "out": str(out),
        "rows": len(table),
        "frauds": int(table["is_fraud"].sum()),
        "fraud_rate": round(float(table["is_fraud"].mean()), 5),
    }
    Console().print_json(json.dumps(summary))


# ----------------------------------------------------------------------------------- credit
@credit_app.command("fit")
def credit_fit(
    data: DataArgument,
    out: Annotated[Path, typer.Option(help="Folder to save the scorecard in.")],
    target: Annotated[str, typer.Option(help="The outcome column.")] = "default",
    bad_value: Annotated[
        str,
        typer.Option(
            help="The target value that means default (read as a number when "
            "the column is numeric)."
        ),
    ] = "1",
    feature: Annotated[
        list[str] | None, typer.Option(help="A feature column (repeat; default: all others).")
    ] = None,
    categorical: Annotated[
        list[str] | None, typer.Option(help="Bin this numeric column as categories (repeat).")
    ] = None,
    model: Annotated[
        CreditKind,
        typer.Option(
            help="blend (scorecard and monotone LightGBM averaged: the best measured), "
            "scorecard (points per bin, a table a regulator reads) or gbm."
        ),
    ] = CreditKind.blend,
    pdo: Annotated[float, typer.Option(help="Points to double the odds.")] = 20.0,
    base_score: Annotated[float, typer.Option(help="The score at --base-odds.")] = 600.0,
    base_odds: Annotated[float, typer.Option(help="Good:bad odds at --base-score.")] = 50.0,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    register: RegisterOption = None,
    registry: RegistryOption = None,
) -> None:
    """Fit a credit model scored in points (monotone bins or constraints, calibrated
    probability of default, reasons) and save it to OUT."""
    from furima.risk._credit_models import credit_model

    with reported_errors():
        table = read_table(data)
        require_column(table, target, "--target", data)
        card = credit_model(
            model.value,
            target,
            bad_value=_typed_value(table[target], bad_value),
            features=feature or None,
            categorical=tuple(categorical or ()),
            pdo=pdo,
            base_score=base_score,
            base_odds=base_odds,
            seed=seed,
        ).fit(table)
        saved = card.save(out)
        summary: dict[str, Any] = {"model": str(saved), "features": len(card.features_)}
        if hasattr(card, "information_values"):
            values = card.information_values()
            summary["information_values"] = {k: round(float(v), 4) for k, v in values.items()}
        summary.update(_registered(saved, register, registry))
    Console().print_json(json.dumps(summary))


@credit_app.command("score")
def credit_score(
    data: DataArgument,
    model: ModelOption,
    out: Annotated[
        Path | None, typer.Option(help="Write every scored applicant here (.parquet or .jsonl).")
    ] = None,
    show: Annotated[int, typer.Option(min=0, help="Print this many applicants.")] = 5,
) -> None:
    """Score applicants: points, probability of default and reasons in words."""
    with reported_errors():
        card = _load_credit_model(model)
        table = read_table(data)
        scored = card.score(table)
        if out is not None:
            write_table(table.join(scored), out)
    shown = [
        {
            "row": _plain(index),
            "score": round(float(row["score"]), 1),
            "probability_of_default": round(float(row["probability_of_default"]), 4),
            "reasons": list(row["reasons"]),
        }
        for index, row in scored.head(show).iterrows()
    ]
    summary: dict[str, Any] = {
        "rows": len(scored),
        "mean_score": round(float(scored["score"].mean()), 1),
        "applicants": shown,
    }
    if out is not None:
        summary["out"] = str(out)
    Console().print_json(json.dumps(summary, default=float))


@credit_app.command("report")
def credit_report(
    data: Annotated[Path, typer.Argument(help="Labelled applicants (development or test).")],
    model: ModelOption,
    out: Annotated[Path, typer.Option(help="The HTML file to write.")] = Path("credit.html"),
    recent: Annotated[
        Path | None, typer.Option(help="Recent applicants: report stability (PSI) against DATA.")
    ] = None,
    protected: Annotated[
        list[str] | None,
        typer.Option(help="A protected attribute: approval rates by group (repeat)."),
    ] = None,
    max_pd: Annotated[
        float | None,
        typer.Option(help="Approve up to this probability of default (approval rates)."),
    ] = None,
) -> None:
    """An HTML page: score distribution, calibration, ROC, KS, bins, stability, approvals."""
    from furima.risk import write_credit_report

    with reported_errors():
        written = write_credit_report(
            _load_credit_model(model),
            read_table(data),
            out,
            recent=read_table(recent) if recent is not None else None,
            protected=tuple(protected or ()),
            max_pd=max_pd,
        )
    Console().print(f"wrote {written}", markup=False, highlight=False)


# ---------------------------------------------------------------------------------- helpers
def _typed_value(column: pd.Series, text: str) -> object:
    """``text`` as the target column holds it: a number for a numeric column."""
    import pandas as pd

    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        try:
            number = float(text)
        except ValueError:
            raise DataError(
                f"--bad-value {text!r} is not a number, but the target column holds numbers."
            ) from None
        return int(number) if number.is_integer() else number
    return text


def _load_credit_model(path: Path) -> Any:
    from furima.risk._credit_models import load_credit_model

    return load_credit_model(path)


def _registered(saved: Path, register: str | None, registry: str | None) -> dict[str, Any]:
    if register is None:
        return {}
    from furima.cli._models import DEFAULT_REGISTRY, log_fit

    return {"registered": log_fit(saved, registry or DEFAULT_REGISTRY, task=register)}


def _plain(value: Any) -> Any:
    """A dataclass as a dict, a numpy scalar as a Python one (for JSON)."""
    import dataclasses

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return value.item() if hasattr(value, "item") else value
