"""Similar-item search benchmark: furima's VectorIndex against raw FAISS, in the same run.

Speed cases (generated, clustered unit vectors: a mixture of Gaussians around a few thousand
centres with a decaying noise spectrum, like real embeddings; never a quality figure)::

    python benchmarks/search.py --cases speed --sizes 1000000 --dim 384 --queries 1000

For each size, ``auto``, ``hnsw`` and ``ivfpq`` build a furima index and the raw FAISS index
with the same parameters (HNSW32 and efSearch; IVF-PQ nlist, m, nprobe and re-ranking depth),
each in its own subprocess so peak memory (VmHWM) is that case's alone. furima tunes its search
effort to recall@10 >= 0.95 on stored vectors first; FAISS gets the effort furima chose.
Ground truth is exact inner-product search (``IndexFlatIP``). ``same_index_ms`` isolates
furima's layer: mean single-query ms through furima against the same FAISS index called
directly, interleaved query by query. Each metric prints one JSON line::

    {"benchmark": "search", "case": ..., "metric": ..., "furima": ..., "baseline": ..., ...}

Quality cases (``--cases quality``; real Myntra photos and titles under ``--data``): photo to
photo precision@10 and text to photo recall@10 on 20% held-out items, furima's learned
embedding against the raw pretrained features; see ``benchmarks/_search_quality.py``.
``--photo-backbone DIR`` encodes furima's photos with a backbone tuned on the catalog split,
joined to the stock network pooled at every block as the listing assistant's pools are
(``--photo-pooling average``: the tuned features alone); ``--photo-mirror`` averages each
photo's features with its mirror image's.
Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

SPEED_CASES = ("auto", "hnsw", "ivfpq")
HNSW_MAX_ROWS = 5_000_000  # an HNSW graph of more vectors does not fit the 8 GB budget
MEMORY_BUDGET_GB = 8.0
TARGET_RECALL = 0.95
K = 10
CHUNK = 250_000
CENTRES = 4096


def log(message: str) -> None:
    print(f"[search {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- data -------------------------------------------------------------------------------------


def generate(folder: Path, rows: int, dim: int, queries: int, seed: int) -> str:
    """Write base.f32 (memmap-able, [rows, dim]) and queries.npy; return a data hash."""
    rng = np.random.default_rng(seed)
    centres = _unit(rng.standard_normal((CENTRES, dim), dtype=np.float32))
    rotation = np.linalg.qr(rng.standard_normal((dim, dim)))[0].astype(np.float32)
    spectrum = (np.arange(1, dim + 1, dtype=np.float32) ** -0.6).astype(np.float32)
    spectrum *= 0.8 / np.sqrt(np.sum(spectrum**2))
    digest = hashlib.sha256()
    with (folder / "base.f32").open("wb") as handle:
        for start in range(0, rows, CHUNK):
            block = _sample(rng, centres, rotation, spectrum, min(CHUNK, rows - start))
            digest.update(block[:64].tobytes())
            handle.write(block.tobytes())
            log(f"generated {start + len(block):,}/{rows:,} vectors")
    np.save(folder / "queries.npy", _sample(rng, centres, rotation, spectrum, queries))
    return digest.hexdigest()[:16]


def _sample(
    rng: np.random.Generator,
    centres: np.ndarray,
    rotation: np.ndarray,
    spectrum: np.ndarray,
    n: int,
) -> np.ndarray:
    noise = (rng.standard_normal((n, centres.shape[1]), dtype=np.float32) * spectrum) @ rotation
    return _unit(centres[rng.integers(0, len(centres), n)] + noise)


def _unit(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x / np.linalg.norm(x, axis=1, keepdims=True), dtype=np.float32)


def chunks(folder: Path, dim: int) -> Iterator[tuple[int, np.ndarray]]:
    """``(start, block)`` of base.f32, read with plain file reads (no memory map)."""
    with (folder / "base.f32").open("rb") as handle:
        start = 0
        while True:
            block = np.fromfile(handle, np.float32, CHUNK * dim)
            if not block.size:
                return
            yield start, block.reshape(-1, dim)
            start += len(block) // dim


def ground_truth(folder: Path, dim: int) -> np.ndarray:
    """Exact top-k ids of every query (IndexFlatIP over the base, chunk by chunk)."""
    import faiss

    queries = np.load(folder / "queries.npy")
    best_scores = np.full((len(queries), K), -np.inf, np.float32)
    best_ids = np.full((len(queries), K), -1, np.int64)
    for start, block in chunks(folder, dim):
        flat = faiss.IndexFlatIP(dim)
        flat.add(block)
        scores, ids = flat.search(queries, K)
        scores_all = np.concatenate([best_scores, scores], axis=1)
        ids_all = np.concatenate([best_ids, ids + start], axis=1)
        order = np.argsort(-scores_all, axis=1, kind="stable")[:, :K]
        best_scores = np.take_along_axis(scores_all, order, 1)
        best_ids = np.take_along_axis(ids_all, order, 1)
    np.save(folder / "truth.npy", best_ids)
    return best_ids


# -- measuring one index (runs in a child process) ---------------------------------------------


class PeakAnon:
    """Samples RssAnon (private memory, not page cache of mapped files) every 50 ms."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, _status_kb("RssAnon"))

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return max(self.peak, _status_kb("RssAnon")) / 2**20


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def measure(
    search_one: Callable[[np.ndarray], np.ndarray],
    search_all: Callable[[np.ndarray], np.ndarray],
    queries: np.ndarray,
    truth: np.ndarray,
) -> dict[str, float]:
    """Recall@k, single-thread queries/s and p99, batched queries/s (all threads)."""
    import faiss

    found = search_all(queries)
    recall = np.mean([len(np.intersect1d(f, t)) / K for f, t in zip(found, truth, strict=True)])
    faiss.omp_set_num_threads(1)
    for query in queries[: min(50, len(queries))]:
        search_one(query[None])
    latencies = []
    for query in queries:
        started = time.perf_counter()
        search_one(query[None])
        latencies.append(time.perf_counter() - started)
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    batched = []
    for _ in range(3):
        started = time.perf_counter()
        search_all(queries)
        batched.append(time.perf_counter() - started)
    return {
        "recall_at_10": float(recall),
        "qps_single_thread": len(queries) / float(np.sum(latencies)),
        "p50_ms": float(np.percentile(latencies, 50) * 1000),
        "p99_ms": float(np.percentile(latencies, 99) * 1000),
        "qps_batched": len(queries) / min(batched),
    }


def layer_cost(index: Any, raw: Any, queries: np.ndarray, raw_k: int) -> dict[str, float]:
    """Mean single-query time through furima and on its own FAISS index, interleaved.

    The two share one index, one thread and the same moments of machine noise, so the
    difference is furima's layer alone (checks, id mapping, exact re-scoring of the ``raw_k``
    candidates FAISS returns): the separate FAISS build has its own graph and runs minutes
    later on this shared machine.
    """
    import faiss

    faiss.omp_set_num_threads(1)
    ours: list[float] = []
    theirs: list[float] = []
    for turn, query in enumerate(np.ascontiguousarray(queries, dtype=np.float32)):
        for furima_turn in (turn % 2 == 0, turn % 2 == 1):
            started = time.perf_counter()
            if furima_turn:
                index.search(query[None], K)
            else:
                raw.search(query[None], raw_k)
            (ours if furima_turn else theirs).append(time.perf_counter() - started)
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    return {"same_index_ms": 1000 * float(np.mean(ours)), "raw_ms": 1000 * float(np.mean(theirs))}


def child_furima(folder: Path, dim: int, backend: str, seed: int) -> dict[str, Any]:
    from furima.index import VectorIndex

    rows = (folder / "base.f32").stat().st_size // (4 * dim)
    anon = PeakAnon()
    started = time.perf_counter()
    index = VectorIndex(
        dim,
        metric="cosine",
        backend=backend,
        target_recall=TARGET_RECALL,
        expected_size=rows,
        storage=folder / "furima_store",
        memory_budget_gb=MEMORY_BUDGET_GB,
    )
    for start, block in chunks(folder, dim):
        index.add(np.arange(start, start + len(block)), block)
        log(f"furima {backend}: added {start + len(block):,}/{rows:,}")
    build_s = time.perf_counter() - started
    started = time.perf_counter()
    effort = index.tune(TARGET_RECALL, k=K, seed=seed)
    tune_s = time.perf_counter() - started
    log(f"furima {backend} -> {index.backend}: built in {build_s:.0f} s, effort {effort}")
    queries, truth = np.load(folder / "queries.npy"), np.load(folder / "truth.npy")
    result = measure(
        lambda q: index.search(q, K).ids, lambda q: index.search(q, K).ids, queries, truth
    )
    backend_state: Any = index._backend
    params = backend_state.params() if backend_state is not None else {}
    if backend_state is not None:
        raw_k = K * params["rerank"] if index.backend == "ivfpq" else K
        result |= layer_cost(index, backend_state.index, queries, raw_k)
    return {
        **result,
        "build_s": build_s,
        "tune_s": tune_s,
        "backend": index.backend,
        "effort": effort,
        "params": params,
        "peak_rss_gb": _status_kb("VmHWM") / 2**20,
        "peak_anon_gb": anon.stop(),
    }


def child_faiss(folder: Path, dim: int, backend: str, spec: dict[str, Any]) -> dict[str, Any]:
    import faiss

    rows = (folder / "base.f32").stat().st_size // (4 * dim)
    anon = PeakAnon()
    started = time.perf_counter()
    index = _faiss_index(folder, dim, backend, spec, rows)
    build_s = time.perf_counter() - started
    log(f"faiss {backend}: built in {build_s:.0f} s")
    queries, truth = np.load(folder / "queries.npy"), np.load(folder / "truth.npy")

    def search(q: np.ndarray) -> np.ndarray:
        ids: np.ndarray = index.search(q, K)[1]
        return ids

    result = measure(search, search, queries, truth)
    del faiss
    return {
        **result,
        "build_s": build_s,
        "refine": "IndexRefine" in type(index).__name__,
        "peak_rss_gb": _status_kb("VmHWM") / 2**20,
        "peak_anon_gb": anon.stop(),
    }


def _faiss_index(folder: Path, dim: int, backend: str, spec: dict[str, Any], rows: int) -> Any:
    import faiss

    from furima.index._backends import coarse_beam

    params, effort = spec["params"], spec["effort"]
    index: Any
    if backend == "exact":
        index = faiss.IndexFlatIP(dim)
    elif backend == "hnsw" and params["codes"] == "flat":
        index = faiss.IndexHNSWFlat(dim, params["m"], faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = params["ef_construction"]
    elif backend == "hnsw":
        factory = f"HNSW{params['m']}_SQfp16"
        index = faiss.index_factory(dim, factory, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = params["ef_construction"]
    else:
        index = _faiss_ivfpq(folder, dim, params, rows)
    for start, block in chunks(folder, dim):
        index.add(block)
        log(f"faiss {backend}: added {start + len(block):,}/{rows:,}")
    if backend == "hnsw":
        index.hnsw.efSearch = effort
    elif backend == "ivfpq":
        ivf = faiss.extract_index_ivf(index)
        ivf.nprobe = effort
        quantizer = faiss.downcast_index(ivf.quantizer)
        if hasattr(quantizer, "hnsw"):
            quantizer.hnsw.efSearch = coarse_beam(effort)
    return index


def _faiss_ivfpq(folder: Path, dim: int, params: dict[str, Any], rows: int) -> Any:
    """IVF-PQ with the same nlist/m/nbits; exact re-ranking (IndexRefineFlat) if it fits."""
    import faiss

    from furima.index._backends import COARSE_GRAPH_EF_CONSTRUCTION, FLAT_COARSE_UP_TO

    nlist = params["nlist"]
    coarse = f"IVF{nlist}_HNSW64" if nlist > FLAT_COARSE_UP_TO else f"IVF{nlist}"
    index = faiss.index_factory(
        dim, f"{coarse},PQ{params['m']}x{params['nbits']}np", faiss.METRIC_INNER_PRODUCT
    )
    ivf = faiss.extract_index_ivf(index)
    ivf.cp.niter = 10
    if nlist > FLAT_COARSE_UP_TO:  # furima's graph quantizer is built with this beam
        quantizer: Any = faiss.downcast_index(ivf.quantizer)
        quantizer.hnsw.efConstruction = COARSE_GRAPH_EF_CONSTRUCTION
    sample = np.sort(np.random.default_rng(0).choice(rows, params["train_size"], replace=False))
    base = np.memmap(folder / "base.f32", np.float32, mode="r", shape=(rows, dim))
    index.train(np.ascontiguousarray(base[sample]))
    del base
    if rows * dim * 4 <= MEMORY_BUDGET_GB * 2**30 / 2:
        index = faiss.IndexRefineFlat(index)
        index.k_factor = params["rerank"]
    return index


# -- orchestration --------------------------------------------------------------------------


def run_child(args: list[str]) -> dict[str, Any]:
    command = [sys.executable, str(Path(__file__).resolve()), "--child", *args]
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def speed_cases(sizes: list[int], dim: int, queries: int, seed: int, cases: list[str]) -> None:
    for rows in sizes:
        with tempfile.TemporaryDirectory(prefix="furima-search-bench-") as name:
            folder = Path(name)
            started = time.perf_counter()
            data_hash = generate(folder, rows, dim, queries, seed)
            ground_truth(folder, dim)
            log(f"{rows:,} x {dim}: data and ground truth in {time.perf_counter() - started:.0f} s")
            _speed_size(folder, rows, dim, seed, cases, data_hash)


def _speed_size(
    folder: Path, rows: int, dim: int, seed: int, cases: list[str], data_hash: str
) -> None:
    done: dict[str, tuple[dict[str, Any], dict[str, Any], float]] = {}
    for case in cases:
        if case == "hnsw" and rows > HNSW_MAX_ROWS:
            log(f"hnsw skipped at {rows:,} rows: the graph would not fit {MEMORY_BUDGET_GB} GB")
            continue
        if case in done:  # auto resolved to this backend already: same index, same numbers
            _emit(f"speed_{case}", *done[case], rows, dim, seed, data_hash)
            continue
        started = time.perf_counter()
        ours = run_child(["furima", str(folder), str(dim), case, str(seed)])
        spec = json.dumps({"params": ours["params"], "effort": ours["effort"]})
        theirs = run_child(["faiss", str(folder), str(dim), ours["backend"], spec])
        seconds = time.perf_counter() - started
        done[ours["backend"]] = (ours, theirs, seconds)
        _emit(f"speed_{case}", ours, theirs, seconds, rows, dim, seed, data_hash)


def _emit(
    case: str,
    ours: dict[str, Any],
    theirs: dict[str, Any],
    seconds: float,
    rows: int,
    dim: int,
    seed: int,
    data_hash: str,
) -> None:
    metrics = ("recall_at_10", "qps_single_thread", "p50_ms", "p99_ms", "qps_batched")
    theirs = theirs | {"same_index_ms": ours.get("raw_ms", float("nan"))}
    for metric in (*metrics, "build_s", "peak_rss_gb", "peak_anon_gb", "same_index_ms"):
        line = {
            "benchmark": "search",
            "case": case,
            "metric": metric,
            "furima": round(ours[metric], 4),
            "baseline": round(theirs[metric], 4),
            "backend": ours["backend"],
            "effort": ours["effort"],
            "tune_s": round(ours["tune_s"], 1),
            "rows": rows,
            "dim": dim,
            "seconds": round(seconds, 1),
            "seed": seed,
            "data_sha256": data_hash,
        }
        if ours["backend"] == "ivfpq":  # raw FAISS re-ranks only when raw vectors fit in RAM
            line["baseline_refine"] = theirs.get("refine", False)
        print(json.dumps(line), flush=True)


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--cases", default="all", help="all, quality, speed, or speed_auto,speed_hnsw,..."
    )
    parser.add_argument(
        "--cache", type=Path, default=None, help="encoder output cache (default: furima's)"
    )
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--sizes", default="1000000,10000000")
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--photo-backbone",
        type=Path,
        default=None,
        help="quality: tuned photo backbone folder (benchmarks/tune_photo_backbone.py)",
    )
    parser.add_argument(
        "--photo-pooling",
        choices=("average", "multiscale"),
        default="multiscale",
        help="quality: how furima pools the photo network (multiscale: joined to a backbone)",
    )
    parser.add_argument(
        "--photo-mirror",
        action="store_true",
        help="quality: average each photo's features with its mirror image's",
    )
    return parser.parse_args(argv)


def selected_speed_cases(cases: str) -> list[str]:
    wanted = {c.strip() for c in cases.split(",") if c.strip()}
    if wanted & {"all", "speed"}:
        return list(SPEED_CASES)
    return [c for c in SPEED_CASES if f"speed_{c}" in wanted]


def child(argv: list[str]) -> None:
    kind, folder, dim = argv[0], Path(argv[1]), int(argv[2])
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    if kind == "furima":
        result = child_furima(folder, dim, argv[3], int(argv[4]))
    else:
        result = child_faiss(folder, dim, argv[3], json.loads(argv[4]))
    print(json.dumps(result))


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--child":
        child(argv[1:])
        return
    args = parse(argv)
    if {c.strip() for c in args.cases.split(",")} & {"all", "quality"}:
        from _search_quality import quality_cases

        from furima.features._photo import cache_dir

        cache = args.cache or cache_dir() / "benchmarks"
        quality_cases(
            args.data, args.seed, cache, args.photo_backbone, args.photo_pooling, args.photo_mirror
        )
    speed = selected_speed_cases(args.cases)
    if speed:
        sizes = [int(s) for s in args.sizes.split(",") if s]
        speed_cases(sizes, args.dim, args.queries, args.seed, speed)


if __name__ == "__main__":
    main()
