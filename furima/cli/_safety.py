"""``furima safety fit | check | queue``: thin commands over furima.safety."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from furima.cli._errors import reported_errors
from furima.cli._models import FitRegistryOption, log_fit
from furima.cli._search import write_table
from furima.exceptions import DataError, SchemaError

if TYPE_CHECKING:
    import pandas as pd

    from furima.safety import ListingCheck, SafetyChecker

__all__ = ["read_listings_file", "safety_app"]

safety_app = typer.Typer(
    help="Safe trading: check listings against your policies; review flagged listings."
)
queue_app = typer.Typer(help="The review queue: flagged listings that people decide.")
safety_app.add_typer(queue_app, name="queue")

_DEFAULT_MODEL = Path("models/safety")
_ALIASES = {
    "listing_id": ("listing_id", "id"),
    "name": ("name", "title"),
    "photo": ("photo", "jpeg", "image"),
}
PoliciesOption = Annotated[
    Path | None, typer.Option("--policies", help="Policy file (.toml or .yaml).")
]
QueueOption = Annotated[Path, typer.Option("--queue", help="Review queue (a DuckDB file).")]


@safety_app.command("fit")
def fit(
    catalog: Annotated[Path, typer.Argument(help="Listings (.parquet, .csv, .tsv, .jsonl).")],
    policies: PoliciesOption = None,
    labels: Annotated[
        Path | None,
        typer.Option("--labels", help="Labelled listings: text and one 0/1 column per policy."),
    ] = None,
    queue: Annotated[
        Path | None, typer.Option("--queue", help="Also learn from this review queue's decisions.")
    ] = None,
    currency: Annotated[str, typer.Option("--currency", help="Shown before prices.")] = "",
    out: Annotated[Path, typer.Option("--out", help="Folder to save the checker in.")] = (
        _DEFAULT_MODEL
    ),
    registry: FitRegistryOption = None,
) -> None:
    """Learn a checker from your catalog (and labels, and reviewers' decisions); save it."""
    import pandas as pd

    from furima.safety import ReviewQueue, SafetyChecker, default_policies, load_policies

    with reported_errors():
        rules = load_policies(policies) if policies else default_policies()
        frame = read_listings_file(catalog)
        known = [read_listings_file(labels)] if labels else []
        if queue is not None:
            with ReviewQueue(queue) as review:
                known.append(review.labels())
        label_frame = pd.concat(known, ignore_index=True) if known else None
        checker = SafetyChecker(rules, currency=currency).fit(frame, label_frame, progress=True)
        checker.save(out)
        registered = log_fit(out, registry, task="safety") if registry else None
    summary: dict[str, Any] = {
        "model": str(out),
        "policies": list(rules.names),
        "catalog": len(frame),
        "labelled": 0 if label_frame is None else len(label_frame),
    }
    if registered:
        summary["registered"] = registered
    Console().print_json(json.dumps(summary))


@safety_app.command("check")
def check(
    listings: Annotated[Path, typer.Argument(help="Listings (.parquet, .csv, .tsv, .jsonl).")],
    model: Annotated[
        Path | None, typer.Option("--model", help="A checker saved by `furima safety fit`.")
    ] = None,
    policies: PoliciesOption = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write every result here (.parquet or .jsonl).")
    ] = None,
    queue: Annotated[
        Path | None, typer.Option("--queue", help="Send flagged listings to this review queue.")
    ] = None,
    show: Annotated[int, typer.Option("--show", min=0, help="Flagged listings to print.")] = 10,
) -> None:
    """Check listings. With --policies and no --model, the file is checked against itself
    (duplicates among its own listings, prices against a model learned from it)."""
    from furima.safety import ReviewQueue

    with reported_errors():
        frame = read_listings_file(listings)
        checker = _checker(model, policies, frame)
        checks = checker.check(frame)
        if out is not None:
            _write_results(checks, out)
        queued = 0
        if queue is not None:
            with ReviewQueue(queue) as review:
                queued = review.enqueue(checks, frame)
    _print_checks(checks, show)
    if queue is not None:
        Console().print(f"{queued} flagged listings sent to the review queue {queue}.")


def _checker(model: Path | None, policies: Path | None, frame: pd.DataFrame) -> SafetyChecker:
    from furima.safety import SafetyChecker, load_policies

    if model is not None:
        if policies is not None:
            raise DataError("give --model or --policies, not both: a saved checker has its own.")
        return SafetyChecker.load(model)
    if policies is None:
        raise DataError(
            "give --model (a checker saved by `furima safety fit`) or --policies (a policy "
            "file; the listings are then checked against each other)."
        )
    return SafetyChecker(load_policies(policies)).fit(frame, progress=True)


@queue_app.command("show")
def queue_show(
    queue: QueueOption,
    limit: Annotated[int, typer.Option("--limit", min=1, help="How many items.")] = 10,
    policy: Annotated[str | None, typer.Option("--policy", help="Only this policy.")] = None,
) -> None:
    """The next listings to review, most urgent first."""
    from furima.safety import ReviewQueue

    with reported_errors(), ReviewQueue(queue) as review:
        items = review.pending(limit, policy=policy)
        stats = review.stats()
    table = Table("listing", "title", "risk", "uncertainty", "decision", "policies")
    for item in items:
        flagged = [v["policy"] for v in item.verdicts if v["decision"] != "allow"]
        table.add_row(
            escape(item.listing_id),
            escape((item.name or "")[:50]),
            f"{item.risk:.2f}",
            f"{item.uncertainty:.2f}",
            item.decision,
            ", ".join(flagged),
        )
    Console().print(table)
    Console().print_json(json.dumps(stats, default=str))


@queue_app.command("decide")
def queue_decide(
    queue: QueueOption,
    listing_id: Annotated[str, typer.Argument(help="The listing decided.")],
    outcome: Annotated[str, typer.Option("--outcome", help="approve or remove.")],
    reviewer: Annotated[str, typer.Option("--reviewer", help="Who decides.")],
    note: Annotated[str, typer.Option("--note", help="Why, for the record.")] = "",
) -> None:
    """Record a reviewer's decision on a flagged listing."""
    from furima.safety import ReviewQueue

    with reported_errors(), ReviewQueue(queue) as review:
        decision = review.decide(listing_id, reviewer, outcome, note=note)
    Console().print_json(json.dumps(decision.to_dict(), default=str))


@queue_app.command("export")
def queue_export(
    queue: QueueOption,
    out: Annotated[Path, typer.Option("--out", help="Labels file (.parquet or .jsonl).")],
) -> None:
    """Reviewers' decisions as labels for `furima safety fit --labels`."""
    from furima.safety import ReviewQueue

    with reported_errors(), ReviewQueue(queue) as review:
        labels = review.labels()
        write_table(labels, out)
    Console().print(f"{len(labels)} decided listings written to {out}.")


def read_listings_file(path: Path) -> pd.DataFrame:
    """A listings file as a frame with ``listing_id``, ``name`` and ``photo`` named so."""
    import pandas as pd

    if not path.is_file():
        raise DataError(f"{path} does not exist or is not a file.")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        frame = pd.read_parquet(path)
    elif suffix in (".csv", ".tsv"):
        frame = pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",", dtype=str)
    elif suffix in (".jsonl", ".json"):
        frame = pd.read_json(path, lines=suffix == ".jsonl", dtype=False)
    else:
        raise SchemaError(f"{path}: read .parquet, .csv, .tsv or .jsonl files, not {suffix!r}.")
    renames = {}
    for canonical, names in _ALIASES.items():
        found = next((name for name in names if name in frame.columns), None)
        if found and canonical not in frame.columns:
            renames[found] = canonical
    return frame.rename(columns=renames)


def _results_frame(checks: list[ListingCheck]) -> pd.DataFrame:
    import pandas as pd

    rows = []
    for item in checks:
        row: dict[str, Any] = {
            "listing_id": item.listing_id,
            "decision": str(item.decision),
            "risk": item.risk,
            "uncertainty": item.uncertainty,
        }
        for verdict in item.verdicts:
            row[f"score_{verdict.policy}"] = verdict.score
        row["flagged"] = ",".join(v.policy for v in item.flagged)
        row["reasons"] = json.dumps(
            [r for v in item.flagged for r in v.reasons], ensure_ascii=False
        )
        row["check"] = json.dumps(item.to_dict(), ensure_ascii=False)
        rows.append(row)
    return pd.DataFrame(rows)


def _write_results(checks: list[ListingCheck], out: Path) -> None:
    write_table(_results_frame(checks), out)


def _print_checks(checks: list[ListingCheck], show: int) -> None:
    console = Console()
    decisions = Counter(str(item.decision) for item in checks)
    by_policy = Counter(v.policy for item in checks for v in item.flagged)
    console.print(
        f"{len(checks)} listings checked: {decisions.get('allow', 0)} allowed, "
        f"{decisions.get('review', 0)} to review, {decisions.get('block', 0)} blocked."
    )
    if by_policy:
        console.print(
            "flagged by policy: " + ", ".join(f"{p} {n}" for p, n in by_policy.most_common())
        )
    flagged = sorted((c for c in checks if c.flagged), key=lambda c: -c.risk)[:show]
    if not flagged:
        return
    table = Table("listing", "decision", "risk", "why")
    for item in flagged:
        top = item.flagged[0]
        why = f"{top.policy}: {top.reasons[0] if top.reasons else ''}"
        table.add_row(
            escape(item.listing_id), str(item.decision), f"{item.risk:.2f}", escape(why[:120])
        )
    console.print(table)
