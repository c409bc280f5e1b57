"""Serving benchmark: furima's registry server against a naive FastAPI server, on loopback.

A price model is fitted on 80% of the Myntra catalog (two versions: seeds 0 and 1, cached) and
registered. Then, each server on its own (the load generator runs in a separate process on the
same 2 cores):

- ``cold_deploy``: ``furima deploy price`` to the first answered request;
- ``load@R``: open-loop load at fixed offered rates R (requests/s) against furima's server and
  the naive baseline (FastAPI + uvicorn, one model call per request, no batching), with the
  held-out 20% of listings as request bodies;
- ``sustainable``: the highest offered rate each server answers in full with p99 under 50 ms;
- ``swap``: load at half of furima's sustainable rate while version 2 is promoted and then rolled
  back, counting failed requests.

Prints one JSON line per scenario::

    python benchmarks/serve.py --data ../shared/data
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import httpx
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _load import LoadResult, run_load_in_process
from _serving import best, server_process, sustained, sweep

from furima.catalog import read_listings
from furima.pricing import PriceSuggester
from furima.registry import ModelRegistry
from furima.serve._deploy import deploy, free_port

P99_TARGET_MS = 50.0
RATES = (10, 20, 30, 40, 60, 80, 120, 160, 240, 320, 480, 640, 960)
CACHE = Path.home() / ".cache" / "furima" / "benchmarks"
NAIVE_SERVER = Path(__file__).resolve().parent / "_naive_server.py"


def split(data: Path, seed: int) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    path = data / "listings" / "myntra_catalog.parquet"
    listings = read_listings(path, mapping="myntra", on_error="skip").listings
    listings = listings[listings["price"].notna()].reset_index(drop=True)
    order = np.random.default_rng(seed).permutation(len(listings))
    cut = int(0.8 * len(listings))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return listings.iloc[order[:cut]], listings.iloc[order[cut:]], digest


def fitted(train: pd.DataFrame, digest: str, seed: int) -> Path:
    """A price model folder, fitted once per data file and seed."""
    folder = CACHE / f"serve-price-{digest[:16]}-seed{seed}"
    if not (folder / "manifest.json").is_file():
        PriceSuggester(random_state=seed).fit(train).save(folder)
    return folder


def bodies(test: pd.DataFrame, n: int = 500) -> list[bytes]:
    """JSON request bodies from held-out listings (what a seller's app would send)."""
    out = []
    for row in test.head(n).itertuples():
        body: dict[str, Any] = {
            "name": row.name,
            "brand": _text(row.brand),
            "description": _text(row.description),
        }
        attributes = {c: _text(getattr(row, c)) for c in ("gender", "primary_color")}
        body["attributes"] = {k: v for k, v in attributes.items() if v}
        out.append(json.dumps({k: v for k, v in body.items() if v}).encode())
    return out


def _text(value: Any) -> str | None:
    return None if value is None or pd.isna(value) else str(value)[:2000]


@contextlib.contextmanager
def naive_server(model: Path) -> Iterator[str]:
    port = free_port()
    command = [sys.executable, str(NAIVE_SERVER), "--model", str(model), "--port", str(port)]
    with server_process(command, port) as url:
        yield url


def meets_target(result: LoadResult) -> bool:
    return sustained(result, P99_TARGET_MS)


def sweep_rates(url: str, payloads: list[bytes], seconds: float) -> dict[int, LoadResult]:
    """Offered rates upwards until the server misses the target (two misses in a row end it)."""
    return sweep(url, payloads, rates=RATES, seconds=seconds, passes=meets_target)


def versions_answered(url: str) -> dict[str, float]:
    counts: dict[str, float] = {}
    for line in httpx.get(f"{url}/metrics").text.splitlines():
        if line.startswith("furima_requests_total{"):
            version = line.split('version="')[1].split('"')[0]
            counts[version] = counts.get(version, 0) + float(line.rsplit(" ", 1)[1])
    return counts


def swap_under_load(
    url: str, registry: ModelRegistry, payloads: list[bytes], rate: float, seconds: float
) -> tuple[LoadResult, dict[str, float], float]:
    """Load at ``rate`` while version 2 is promoted (at 1/4) and rolled back (at 5/8)."""
    before = versions_answered(url)
    with ThreadPoolExecutor(1) as pool:
        endpoint = f"{url}/v1/price:suggest"
        running = pool.submit(run_load_in_process, endpoint, payloads, rps=rate, seconds=seconds)
        time.sleep(1.5 + seconds / 4)  # the child process takes about a second to start
        registry.promote("price", 2)
        swapped = _wait_for_champion(url, 2)
        time.sleep(seconds * 3 / 8)
        registry.rollback("price")
        swapped = max(swapped, _wait_for_champion(url, 1))
        result = running.result()
    after = versions_answered(url)
    answered = {v: after.get(v, 0) - before.get(v, 0) for v in after}
    return result, answered, swapped


def _wait_for_champion(url: str, version: int) -> float:
    started = time.perf_counter()
    while httpx.get(f"{url}/v1/models/price").json()["champion"] != version:
        time.sleep(0.05)
    return time.perf_counter() - started


def line(
    scenario: str, result: LoadResult | None, baseline: LoadResult | None, **extra: Any
) -> str:
    def pick(r: LoadResult | None, field: str) -> float | None:
        return None if r is None else round(float(getattr(r, field)), 2)

    return json.dumps(
        {
            "benchmark": "serve",
            "scenario": scenario,
            "rps": pick(result, "achieved_rps"),
            "p50_ms": pick(result, "p50_ms"),
            "p99_ms": pick(result, "p99_ms"),
            "errors": None if result is None else result.errors,
            "baseline_rps": pick(baseline, "achieved_rps"),
            "baseline_p99_ms": pick(baseline, "p99_ms"),
            "baseline_errors": None if baseline is None else baseline.errors,
            **extra,
        }
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--seconds", type=float, default=6.0, help="Per offered rate.")
    parser.add_argument("--workers", type=int, default=1, help="furima server processes.")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if not (args.data / "listings" / "myntra_catalog.parquet").is_file():
        sys.exit(f"{args.data}/listings/myntra_catalog.parquet not found; pass --data DIR")
    started = time.perf_counter()
    train, test, digest = split(args.data, args.seed)
    models = [fitted(train, digest, args.seed + i) for i in range(2)]
    payloads = bodies(test)
    common = {"data": "myntra_catalog", "rows": len(train), "seed": args.seed}

    with tempfile.TemporaryDirectory(prefix="furima-serve-bench-") as scratch:
        registry = ModelRegistry(Path(scratch) / "registry")
        registry.log_model(models[0], alias="champion")
        registry.log_model(models[1])
        cold = time.perf_counter()
        with deploy(
            ["price"], registry=registry.location.local_folder or "", workers=args.workers
        ) as server:
            first = httpx.post(
                f"{server.url}/v1/price:suggest",
                content=payloads[0],
                headers={"content-type": "application/json"},
            )
            first.raise_for_status()
            cold_s = time.perf_counter() - cold
            print(
                json.dumps(
                    {
                        "benchmark": "serve",
                        "scenario": "cold_deploy",
                        "seconds_to_first_answer": round(cold_s, 2),
                        "seconds_to_ready": round(server.seconds_to_ready, 2),
                        **common,
                    }
                ),
                flush=True,
            )
            url = f"{server.url}/v1/price:suggest"
            furima = sweep_rates(url, payloads, args.seconds)
            rate, _ = best(furima, meets_target)
            swap, answered, swap_s = swap_under_load(
                server.url, registry, payloads, max(rate // 2, 10), 4 * args.seconds
            )
        with naive_server(models[0]) as naive_url:
            baseline = sweep_rates(f"{naive_url}/v1/price:suggest", payloads, args.seconds)

    for offered in sorted(set(furima) | set(baseline)):
        print(
            line(
                f"load@{offered}",
                furima.get(offered),
                baseline.get(offered),
                offered_rps=offered,
                **common,
            ),
            flush=True,
        )
    furima_rate, furima_best = best(furima, meets_target)
    baseline_rate, baseline_best = best(baseline, meets_target)
    print(
        line(
            "sustainable",
            furima_best,
            baseline_best,
            furima_offered=furima_rate,
            baseline_offered=baseline_rate,
            speedup=round(furima_rate / baseline_rate, 2) if baseline_rate else None,
            p99_target_ms=P99_TARGET_MS,
            **common,
        ),
        flush=True,
    )
    print(
        line(
            "swap",
            swap,
            None,
            offered_rps=max(rate // 2, 10),
            promote_and_rollback=True,
            answered_by_version=answered,
            slowest_swap_s=round(swap_s, 2),
            seconds=round(time.perf_counter() - started, 1),
            **common,
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
