"""FAISS backends (exact, HNSW, IVF-PQ with exact re-ranking) and the factory that picks one.

``auto`` picks by pool size, target recall and memory:

* exact (``IndexFlatIP``) below 50k vectors (200k when ``target_recall >= 0.99``): brute force
  is fast there and recall is 1;
* HNSW (M=32, over half-precision copies of the vectors; the exact float32 rows stay in a file)
  up to 5M vectors while the graph and its codes fit in half the machine's RAM (or
  ``memory_budget_gb``);
* IVF-PQ above: PQ codes in RAM, the raw vectors on disk for exact re-ranking of the
  ``rerank * k`` best candidates.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from furima.exceptions import IndexConfigError
from furima.index._base import Backend, Selector, import_faiss, pad_topk, topk_rows
from furima.index._store import RawVectors

__all__ = [
    "BACKENDS",
    "ExactBackend",
    "HNSWBackend",
    "HNSWParams",
    "HalfHNSWBackend",
    "IVFPQBackend",
    "IVFPQParams",
    "choose_backend",
    "make_backend",
    "read_backend",
]

BACKENDS: tuple[str, ...] = ("auto", "exact", "hnsw", "ivfpq")
EXACT_BELOW = 50_000
EXACT_BELOW_HIGH_RECALL = 200_000
HNSW_UP_TO = 5_000_000
HNSW_CODES = ("fp16", "flat")
FLAT_COARSE_UP_TO = 16_384  # IVF lists; more use an HNSW coarse quantizer
COARSE_GRAPH_EF_CONSTRUCTION = 500  # that quantizer's build beam
_ADD_EF_SEARCH = 256  # and its beam when filing vectors into lists
_MAX_EF = 4096


@dataclass(frozen=True)
class HNSWParams:
    """HNSW graph parameters: ``m`` links per node, build and search beams, stored codes.

    A wide build beam costs build time once and saves search effort on every query: a graph
    built with a narrow beam needs a much wider search beam for the same recall.

    ``codes`` is what the graph computes distances on. ``"fp16"`` (the default) keeps half
    precision copies (``IndexHNSWSQ``), which also give the scores (within about 1e-3), and the
    exact float32 rows in the index's raw-vector file, like IVF-PQ: a graph search is bound by
    memory reads, and half the bytes per distance answer more queries per second at about the
    same recall.
    ``"flat"`` keeps float32 in RAM (``IndexHNSWFlat``; indexes saved before ``codes``
    existed).
    """

    m: int = 32
    ef_construction: int = 200
    ef_search: int = 64
    codes: str = "fp16"

    def __post_init__(self) -> None:
        if self.codes not in HNSW_CODES:
            raise IndexConfigError(
                f"HNSWParams(codes=...) must be one of {HNSW_CODES}, but got {self.codes!r}."
            )


@dataclass(frozen=True)
class IVFPQParams:
    """IVF-PQ parameters; ``None`` ones are derived from the pool size at training time.

    Attributes:
        nlist: Inverted lists (default: ~2 sqrt(n) rounded to a power of two, 64..65536).
        m: PQ sub-quantizers, bytes per vector (default: dim / 4, at most 64, dividing dim).
        nbits: Bits per sub-quantizer code.
        nprobe: Lists visited per query.
        rerank: Candidates re-scored exactly from the raw vectors, as a multiple of k.
        train_size: Vectors to train on (default: 40 per list, at least 10k).
    """

    nlist: int | None = None
    m: int | None = None
    nbits: int = 8
    nprobe: int = 32
    rerank: int = 10
    train_size: int | None = None


def choose_backend(
    pool_size: int, dim: int, target_recall: float, memory_budget_gb: float | None
) -> str:
    """The backend ``auto`` resolves to for a pool of ``pool_size`` vectors."""
    exact_below = EXACT_BELOW_HIGH_RECALL if target_recall >= 0.99 else EXACT_BELOW
    if pool_size < exact_below:
        return "exact"
    budget = (memory_budget_gb * 2**30) if memory_budget_gb else _physical_memory() / 2
    if pool_size <= HNSW_UP_TO and hnsw_bytes(pool_size, dim, HNSWParams().m) <= budget:
        return "hnsw"
    return "ivfpq"


def hnsw_bytes(n: int, dim: int, m: int, codes: str = "fp16") -> int:
    """Approximate RAM of an HNSW index: stored codes plus two levels' worth of links."""
    code_bytes = 2 * dim if codes == "fp16" else 4 * dim
    return int(n * (code_bytes + 4 * m * 2 * 1.1 + 16))


def _physical_memory() -> int:
    try:
        return int(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError):  # pragma: no cover - non-POSIX
        return 8 << 30


def _flat_view(flat: Any, dim: int) -> np.ndarray:
    """Zero-copy ``[ntotal, dim]`` view of an ``IndexFlat``'s vectors (valid until next add)."""
    faiss = import_faiss()
    if flat.ntotal == 0:
        return np.empty((0, dim), np.float32)
    view: np.ndarray = faiss.rev_swig_ptr(flat.get_xb(), flat.ntotal * dim)
    return view.reshape(flat.ntotal, dim)


class ExactBackend(Backend):
    """Brute force over all vectors (``IndexFlatIP``); recall 1."""

    name: ClassVar[str] = "exact"
    keeps_vectors: ClassVar[bool] = True

    def __init__(self, dim: int, index: Any = None) -> None:
        super().__init__(dim)
        faiss = import_faiss()
        self.index = index if index is not None else faiss.IndexFlatIP(dim)

    @property
    def ntotal(self) -> int:
        return int(self.index.ntotal)

    def add(self, vectors: np.ndarray) -> None:
        self.index.add(vectors)

    def search(
        self, queries: np.ndarray, k: int, selector: Selector | None
    ) -> tuple[np.ndarray, np.ndarray]:
        faiss = import_faiss()
        params = faiss.SearchParameters(sel=selector.faiss) if selector else None
        scores, positions = self.index.search(queries, min(k, max(self.ntotal, 1)), params=params)
        return pad_topk(scores, positions, k)

    def reconstruct(self, positions: np.ndarray) -> np.ndarray:
        return np.asarray(_flat_view(self.index, self.dim)[positions])

    def reset(self) -> None:
        self.index.reset()

    def params(self) -> dict[str, Any]:
        return {}

    def write(self, file: Path) -> None:
        import_faiss().write_index(self.index, str(file))

    def memory_bytes(self) -> int:
        return self.ntotal * self.dim * 4


class HNSWBackend(Backend):
    """HNSW graph over full float32 vectors (``IndexHNSWFlat``; ``HNSWParams(codes="flat")``).

    FAISS cannot remove vectors from an HNSW graph: deleted positions stay in the graph as
    tombstones, excluded from results by the selector, until the index compacts.
    """

    name: ClassVar[str] = "hnsw"
    keeps_vectors: ClassVar[bool] = True
    codes: ClassVar[str] = "flat"

    def __init__(self, dim: int, params: HNSWParams | None = None, index: Any = None) -> None:
        super().__init__(dim)
        self.settings = params or HNSWParams(codes=self.codes)
        assert self.settings.codes == self.codes, "use make_backend to pick the HNSW class"
        self.index = index if index is not None else _new_hnsw(dim, self.settings)
        self.index.hnsw.efSearch = self.settings.ef_search

    @property
    def ntotal(self) -> int:
        return int(self.index.ntotal)

    def add(self, vectors: np.ndarray) -> None:
        self.index.add(vectors)

    def search(
        self, queries: np.ndarray, k: int, selector: Selector | None
    ) -> tuple[np.ndarray, np.ndarray]:
        if self.ntotal == 0:
            return pad_topk(np.empty((len(queries), 0), np.float32), np.empty((0, 0)), k)
        if selector is None and k <= self.effort:
            return self.index.search(queries, k)  # type: ignore[no-any-return]
        faiss = import_faiss()
        params = faiss.SearchParametersHNSW()
        params.efSearch = _scaled(max(self.effort, k), selector, _MAX_EF)
        if selector is not None:
            params.sel = selector.faiss
        return self.index.search(queries, k, params=params)  # type: ignore[no-any-return]

    def reconstruct(self, positions: np.ndarray) -> np.ndarray:
        storage = import_faiss().downcast_index(self.index.storage)
        return np.asarray(_flat_view(storage, self.dim)[positions])

    def reset(self) -> None:
        self.index = _new_hnsw(self.dim, self.settings)

    @property
    def effort(self) -> int:
        return self.settings.ef_search  # kept equal to the graph's efSearch by the setter

    @effort.setter
    def effort(self, value: int) -> None:
        self.index.hnsw.efSearch = int(value)
        self.settings = replace(self.settings, ef_search=int(value))

    def efforts(self) -> list[int]:
        return [16, 24, 32, 40, 48, 56, 64, 80, 96, 128, 160, 192, 256, 384, 512, 768, 1024]

    def params(self) -> dict[str, Any]:
        return asdict(self.settings)

    def write(self, file: Path) -> None:
        import_faiss().write_index(self.index, str(file))

    def memory_bytes(self) -> int:
        return hnsw_bytes(self.ntotal, self.dim, self.settings.m, self.settings.codes)


class HalfHNSWBackend(HNSWBackend):
    """HNSW over half-precision codes (``IndexHNSWSQ`` fp16; the default ``codes``).

    The graph search and the scores come from the codes: a cosine of unit vectors in fp16 is
    within about 1e-3 of the float32 one, and the ranking is the codes' either way. Scoring
    the ``k`` results again from the raw rows would cost a file read per query, for digits no
    ranking uses. The float32 rows stay in the index's raw-vector file, for ``get_vectors``
    and rebuilds.
    """

    keeps_vectors: ClassVar[bool] = False
    codes: ClassVar[str] = "fp16"

    def __init__(self, dim: int, params: HNSWParams | None = None, index: Any = None) -> None:
        super().__init__(dim, params, index)
        self.vectors: RawVectors | None = None

    def reconstruct(self, positions: np.ndarray) -> np.ndarray:
        return Backend.reconstruct(self, positions)


def _new_hnsw(dim: int, settings: HNSWParams) -> Any:
    faiss = import_faiss()
    if settings.codes == "flat":
        index = faiss.IndexHNSWFlat(dim, settings.m, faiss.METRIC_INNER_PRODUCT)
    else:
        half = faiss.ScalarQuantizer.QT_fp16
        index = faiss.IndexHNSWSQ(dim, half, settings.m, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = settings.ef_construction
    return index


def _scaled(effort: int, selector: Selector | None, cap: int) -> int:
    """Effort raised in proportion to how selective a filter is, so enough matches are seen."""
    if selector is None or selector.fraction >= 1:
        return effort
    return int(min(max(effort, math.ceil(effort / max(selector.fraction, 1e-9))), cap))


class IVFPQBackend(Backend):
    """IVF-PQ codes in RAM; the best ``rerank * k`` candidates re-scored from raw vectors.

    The coarse quantizer is exact (``IndexFlat``) up to ``FLAT_COARSE_UP_TO`` lists: a batched
    matrix product assigns vectors to their true nearest list, and at these sizes it is also
    faster than a graph. A graph quantizer over tightly clustered centroids misfiles vectors,
    and a vector filed in the wrong list is lost to every query, which caps recall whatever
    the nprobe. Beyond that many lists, an HNSW quantizer built with a wide beam is used.
    (Measurements: ``docs/benchmarks.md``.) Deleted positions are excluded by the selector
    until the index compacts.
    """

    name: ClassVar[str] = "ivfpq"
    keeps_vectors: ClassVar[bool] = False

    def __init__(self, dim: int, params: IVFPQParams | None = None, index: Any = None) -> None:
        super().__init__(dim)
        self.settings = params or IVFPQParams()
        self.index = index
        self.vectors: RawVectors | None = None
        if index is not None:
            self.effort = self.settings.nprobe

    @property
    def ntotal(self) -> int:
        return 0 if self.index is None else int(self.index.ntotal)

    @property
    def is_trained(self) -> bool:
        return self.index is not None and bool(self.index.is_trained)

    def _resolved(self, pool_size: int) -> IVFPQParams:
        s = self.settings
        nlist = s.nlist or int(np.clip(2 ** round(math.log2(2 * math.sqrt(pool_size))), 64, 65536))
        m = s.m or max(d for d in range(1, max(1, min(64, self.dim // 4)) + 1) if self.dim % d == 0)
        if self.dim % m:
            raise IndexConfigError(
                f"IVF-PQ needs m to divide the dimension, but m={m} and dim={self.dim}. "
                f"Pick m among {[d for d in range(1, 65) if self.dim % d == 0]}."
            )
        train_size = s.train_size or max(10_000, 40 * nlist)
        return IVFPQParams(nlist, m, s.nbits, min(s.nprobe, nlist), s.rerank, train_size)

    def train_rows(self, pool_size: int) -> int:
        resolved = self._resolved(pool_size)
        assert resolved.train_size is not None and resolved.nlist is not None
        minimum = max(4 * resolved.nlist, 4 * 2**resolved.nbits)
        return int(max(min(resolved.train_size, pool_size), minimum))

    def train(self, sample: np.ndarray, pool_size: int) -> None:
        faiss = import_faiss()
        self.settings = self._resolved(max(pool_size, len(sample)))
        nlist = self.settings.nlist
        assert nlist is not None
        graph = nlist > FLAT_COARSE_UP_TO
        coarse = f"IVF{nlist}_HNSW64" if graph else f"IVF{nlist}"
        spec = f"{coarse},PQ{self.settings.m}x{self.settings.nbits}np"  # np: no polysemous
        index = faiss.index_factory(self.dim, spec, faiss.METRIC_INNER_PRODUCT)
        ivf = faiss.extract_index_ivf(index)
        ivf.cp.niter = 10
        if graph:
            faiss.downcast_index(ivf.quantizer).hnsw.efConstruction = COARSE_GRAPH_EF_CONSTRUCTION
        index.train(np.ascontiguousarray(sample))
        self.index = index
        self.effort = self.settings.nprobe

    def add(self, vectors: np.ndarray) -> None:
        graph = self._coarse_graph()
        if graph is None:
            self.index.add(vectors)
            return
        searching, graph.efSearch = graph.efSearch, max(graph.efSearch, _ADD_EF_SEARCH)
        try:  # a vector filed in the wrong list is lost to every query: assign carefully
            self.index.add(vectors)
        finally:
            graph.efSearch = searching

    def search(
        self, queries: np.ndarray, k: int, selector: Selector | None
    ) -> tuple[np.ndarray, np.ndarray]:
        candidates = max(k, k * self.settings.rerank)
        if selector is None:  # nprobe and the quantizer's efSearch are set on the index
            _, positions = self.index.search(queries, candidates)
            return self._rerank(queries, positions, k)
        faiss = import_faiss()
        params = faiss.SearchParametersIVF()
        params.nprobe = _scaled(self.effort, selector, self.settings.nlist or 1)
        quantizer = self._quantizer_params(params.nprobe)
        if quantizer is not None:
            params.quantizer_params = quantizer
        params.sel = selector.faiss
        _, positions = self.index.search(queries, candidates, params=params)
        return self._rerank(queries, positions, k)

    def _coarse_graph(self) -> Any:
        """The HNSW graph of the coarse quantizer, or None when it is exact."""
        faiss = import_faiss()
        quantizer = faiss.downcast_index(faiss.extract_index_ivf(self.index).quantizer)
        return getattr(quantizer, "hnsw", None)

    def _quantizer_params(self, nprobe: int) -> Any:
        if self._coarse_graph() is None:
            return None
        params = import_faiss().SearchParametersHNSW()
        params.efSearch = coarse_beam(nprobe)
        return params

    def _rerank(
        self, queries: np.ndarray, positions: np.ndarray, k: int
    ) -> tuple[np.ndarray, np.ndarray]:
        assert self.vectors is not None, "IVF-PQ backend used without its raw vectors"
        return rescore(self.vectors, queries, positions, k)

    def reset(self) -> None:
        if self.index is not None:
            self.index.reset()

    @property
    def effort(self) -> int:
        return self.settings.nprobe

    @effort.setter
    def effort(self, value: int) -> None:
        s = self.settings
        self.settings = IVFPQParams(s.nlist, s.m, s.nbits, int(value), s.rerank, s.train_size)
        if self.index is not None:
            import_faiss().extract_index_ivf(self.index).nprobe = int(value)
            graph = self._coarse_graph()
            if graph is not None:
                graph.efSearch = coarse_beam(int(value))

    def efforts(self) -> list[int]:
        ladder = [1, 2, 4, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 1024]
        return [n for n in ladder if n <= (self.settings.nlist or 1)]

    def params(self) -> dict[str, Any]:
        return asdict(self.settings)

    def write(self, file: Path) -> None:
        import_faiss().write_index(self.index, str(file))

    def memory_bytes(self) -> int:
        return self.ntotal * ((self.settings.m or 0) * self.settings.nbits // 8 + 8)


def coarse_beam(nprobe: int) -> int:
    """efSearch of an HNSW coarse quantizer asked for ``nprobe`` lists."""
    return max(64, 2 * nprobe)


def rescore(
    store: RawVectors, queries: np.ndarray, positions: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Exact scores of candidate ``positions`` from the raw vectors; the best ``k`` of them."""
    n, candidates = positions.shape
    rows = store.take(np.maximum(positions, 0).ravel()).reshape(n, candidates, -1)
    scores = np.einsum("qcd,qd->qc", rows, queries)
    scores[positions < 0] = -np.inf
    best = topk_rows(scores, min(k, candidates))
    return pad_topk(np.take_along_axis(scores, best, 1), np.take_along_axis(positions, best, 1), k)


def make_backend(name: str, dim: int, params: Any = None) -> Backend:
    """A new, empty backend called ``name`` (not ``auto``)."""
    if name == "exact":
        return ExactBackend(dim)
    if name == "hnsw":
        settings = _typed(params, HNSWParams, name) or HNSWParams()
        return _hnsw_class(settings)(dim, settings)
    if name == "ivfpq":
        return IVFPQBackend(dim, _typed(params, IVFPQParams, name))
    raise IndexConfigError(f"backend must be one of {BACKENDS}, but got {name!r}.")


def _hnsw_class(settings: HNSWParams) -> type[HNSWBackend]:
    return HNSWBackend if settings.codes == "flat" else HalfHNSWBackend


def _typed(params: Any, kind: type[Any], name: str) -> Any:
    if params is None or isinstance(params, kind):
        return params
    raise IndexConfigError(
        f"the {name} backend takes params={kind.__name__}(...), but got {type(params).__name__}."
    )


def read_backend(name: str, dim: int, params: dict[str, Any], file: Path | None) -> Backend:
    """A backend restored from its saved FAISS file and manifest parameters."""
    index = import_faiss().read_index(str(file)) if file is not None else None
    if name == "exact":
        return ExactBackend(dim, index)
    if name == "hnsw":
        settings = HNSWParams(**{"codes": "flat", **params})  # saved before codes existed
        return _hnsw_class(settings)(dim, settings, index)
    return IVFPQBackend(dim, IVFPQParams(**params), index)
