"""The command line shared by the benchmark scripts that run named cases: ``--data``, the cases
to run (``--cases`` or ``--tasks``), ``--seed``; one JSON line per row printed as it comes."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["Runner", "run_cases"]

Runner = Callable[[Path, int], list[dict[str, Any]]]


def run_cases(
    benchmark: str,
    doc: str | None,
    cases: Sequence[str],
    runners: Callable[[], Mapping[str, Runner]],
    argv: list[str] | None = None,
    *,
    option: str = "cases",
) -> None:
    """Parse ``argv``, then print ``{"benchmark": benchmark, **row}`` for each chosen case's
    rows. ``runners`` is called after parsing, so ``--help`` imports nothing heavy."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0] if doc else None)
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument(f"--{option}", default=",".join(cases), help=f"Comma-separated {option}.")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    wanted = [case.strip() for case in getattr(args, option).split(",") if case.strip()]
    unknown = sorted(set(wanted) - set(cases))
    if unknown:
        parser.error(f"unknown {option} {unknown}; choose from {', '.join(cases)}")
    if not args.data.is_dir():
        parser.error(f"data directory {args.data} does not exist; pass --data DIR")
    chosen = runners()
    for case in wanted:
        for line in chosen[case](args.data, args.seed):
            print(json.dumps({"benchmark": benchmark, **line}, default=float), flush=True)
