"""Recommendation benchmark: furima against popularity, item-kNN, EASE and implicit's ALS.

The protocol is ICLRec's, on the files the sequential-recommendation papers use::

    python benchmarks/recommend.py --data ../shared/data

Leave-last-out: training targets stop at each user's third-to-last item; the second-to-last
(validation) item chooses settings and blend weights and is input, never a target, when the
last (test) item is scored; full ranking over all items, history items scored minus infinity,
ties counted against the target. ``--refit`` adds rows named ``<model>-refit`` fitted on the
validation items too (the eSASRec paper's split), reported apart.

Each (dataset, model) runs in its own process, so its peak memory is its own. One JSON line
per case.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import resource
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

DATASETS = {
    "beauty": "interactions/amazon_beauty.txt",
    "sports": "interactions/amazon_sports_and_outdoors.txt",
}
BASELINES = ("popularity", "item_knn", "ease", "implicit_als")
FURIMA = ("furima",)  # its sequential part is reported alone too (furima-sequential)
_GENERATOR_OF = {"implicit_als": "als"}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def _read(path: Path) -> Any:
    from furima.catalog import read_sequences

    return read_sequences(path)


def _attributes(data: Path, dataset: str, items: Any) -> np.ndarray | None:
    """Item attribute ids (anonymised brand and category) aligned with the item map."""
    file = data / DATASETS[dataset].replace(".txt", "_item2attributes.json")
    if not file.is_file():
        return None
    raw = json.loads(file.read_text())
    rows = [raw.get(str(item), []) for item in items.ids]
    width = max(len(r) for r in rows)
    matrix = np.full((len(rows), width), -1, dtype=np.int64)
    for i, row in enumerate(rows):
        matrix[i, : len(row)] = row
    return matrix


def _model(name: str, data: Path, dataset: str, items: Any, params: dict[str, Any]) -> Any:
    from furima.recommend import Recommender, make_generator

    if name in BASELINES:
        return make_generator(_GENERATOR_OF.get(name, name))
    sequential = _sequential(data, dataset, items, params)
    return Recommender(generators=["popularity", "item_knn", "ease", "als", sequential])


def _sequential(data: Path, dataset: str, items: Any, params: dict[str, Any]) -> Any:
    from furima.recommend import generator_class

    attributes = _attributes(data, dataset, items)
    extra = {} if attributes is None else {"item_attributes": attributes}
    return generator_class("sequential")(**params, **extra)


def _fit(model: Any, train: Any, valid: Any) -> None:
    import inspect

    if "valid" in inspect.signature(model.fit).parameters:
        model.fit(train, valid=valid)
    else:
        model.fit(train)


def _scorer(model: Any) -> Any:
    from furima.recommend import Recommender

    if not isinstance(model, Recommender):
        return model.score

    def blended(histories: Sequence[np.ndarray]) -> np.ndarray:
        return model.blend_.combine(model._scores(histories))

    return blended


def _latency_ms(model: Any, queries: Any, n: int) -> tuple[float, float]:
    """p50 and p99 of one-user recommend calls at k=20, in-process."""
    from furima.recommend import Recommender

    timings = []
    for i in range(min(n, len(queries))):
        started = time.perf_counter()
        if isinstance(model, Recommender):
            model.recommend(
                users=[str(model.interactions_.users.external([queries.users[i]])[0])], k=20
            )
        else:
            model.recommend([queries.histories[i]], 20)
        timings.append(time.perf_counter() - started)
    return float(np.percentile(timings, 50) * 1000), float(np.percentile(timings, 99) * 1000)


def run_case(
    data: Path,
    dataset: str,
    name: str,
    seed: int,
    params: dict[str, Any],
    refit: bool,
    n_latency: int,
    threads: int,
) -> list[dict[str, Any]]:
    """Fit one model on one dataset and score the test items (in its own process)."""
    import torch

    from furima.catalog import leave_last_out

    torch.set_num_threads(threads)
    path = data / DATASETS[dataset]
    interactions = _read(path)
    split = leave_last_out(interactions)
    train = _with_valid_targets(interactions) if refit else split.train
    model = _model(name, data, dataset, interactions.items, params)
    started = time.perf_counter()
    _fit(model, train, None if refit else split.valid)
    fit_s = time.perf_counter() - started
    common: dict[str, Any] = {
        "users": len(split.test),
        "items": interactions.n_items,
        "events": len(interactions),
        "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2, 2),
        "data_sha256": _sha256(path),
        "seed": seed,
    }
    if name.startswith("furima"):
        common["sequential_params"] = params
        common["threads"] = threads
    rows = [_row(dataset, name, refit, model, split.test, fit_s, n_latency) | common]
    sequential = getattr(model, "generators_", {}).get("sequential")
    if sequential is not None:  # the blend's sequential part alone: no second training
        seconds = model.fit_seconds_["sequential"]
        rows.append(
            _row(dataset, "furima-sequential", refit, sequential, split.test, seconds, n_latency)
            | common
        )
    return rows


def _row(
    dataset: str, name: str, refit: bool, model: Any, test: Any, fit_s: float, n_latency: int
) -> dict[str, Any]:
    from furima.recommend import evaluate_scores

    metrics = evaluate_scores(_scorer(model), test)
    p50, p99 = _latency_ms(model, test, n_latency)
    row: dict[str, Any] = {
        "benchmark": "recommend",
        "dataset": dataset,
        "model": f"{name}-refit" if refit else name,
        **{key: round(value, 4) for key, value in metrics.items()},
        "fit_s": round(fit_s, 1),
        "p50_ms": round(p50, 2),
        "p99_ms": round(p99, 2),
    }
    if hasattr(model, "validation_"):
        row["valid_ndcg@10"] = {k: round(v, 4) for k, v in model.validation_.items()}
        row["blend"] = {k: round(v, 3) for k, v in model.blend_.weights.items()}
    if getattr(model, "best_epoch_", None) is not None:
        row["epochs"] = int(model.best_epoch_)
    return row


def _with_valid_targets(interactions: Any) -> Any:
    """Every event but each user's last (the eSASRec split: validation items train too)."""
    offsets = interactions.offsets()
    last = np.zeros(len(interactions), dtype=bool)
    last[offsets[1:][np.diff(offsets) >= 3] - 1] = True
    return interactions.subset(~last)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--models", default=",".join(BASELINES + FURIMA))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--sequential",
        type=json.loads,
        default={},
        help="settings of the sequential model as JSON, e.g. '{\"dim\": 64}' (default: its own)",
    )
    parser.add_argument("--refit", action="store_true", help="also the -refit rows")
    parser.add_argument("--latency-users", type=int, default=300)
    parser.add_argument("--threads", type=int, default=2, help="PyTorch threads")
    args = parser.parse_args(argv)
    missing = [d for d in args.datasets.split(",") if not (args.data / DATASETS[d]).is_file()]
    if missing:
        print(f"missing data for {missing} under {args.data}; pass --data DIR", file=sys.stderr)
        return 2
    context = multiprocessing.get_context("spawn")
    for dataset in args.datasets.split(","):
        for refit in (False, True) if args.refit else (False,):
            for name in args.models.split(","):
                params = args.sequential | {"seed": args.seed}
                case = (
                    *(args.data, dataset, name, args.seed, params),
                    *(refit, args.latency_users, args.threads),
                )
                with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
                    rows = pool.submit(run_case, *case).result()
                for row in rows:
                    print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
