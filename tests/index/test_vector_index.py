"""VectorIndex contract, run on every backend: recall, shapes, deletes, upserts, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from furima.exceptions import (
    DataError,
    DimensionMismatchError,
    IndexConfigError,
    UnknownListingError,
    VectorError,
)
from furima.index import HNSWParams, IVFPQParams, VectorIndex, choose_backend

from .conftest import BACKENDS, DIM, MIN_RECALL, Pool, exact_ids, recall


def test_recall_against_exact_search(built: VectorIndex, pool: Pool, backend: str) -> None:
    result = built.search(pool.queries, k=10)
    assert built.backend == backend
    assert recall(result.ids, exact_ids(pool, pool.queries, 10)) >= MIN_RECALL[backend]


def test_results_are_batch_first_sorted_cosine_scores(built: VectorIndex, pool: Pool) -> None:
    ids, scores = built.search(pool.queries[:7], k=5)
    assert ids.shape == scores.shape == (7, 5)
    assert ids.dtype == np.int64 and scores.dtype == np.float32
    assert np.all(np.diff(scores, axis=1) <= 1e-6)
    assert np.all(scores <= 1.0 + 1e-5)
    expected = (
        built.get_vectors(ids[:, 0])
        @ (pool.queries[:7] / np.linalg.norm(pool.queries[:7], axis=1, keepdims=True)).T
    )
    tolerance = 2e-3 if built.backend == "hnsw" else 1e-5  # HNSW scores its fp16 codes
    np.testing.assert_allclose(scores[:, 0], np.diag(expected), rtol=1e-4, atol=tolerance)


def test_single_query_and_padding_past_pool_size(pool: Pool, backend: str) -> None:
    index = VectorIndex(DIM, backend="exact").add(pool.ids[:3], pool.vectors[:3])
    result = index.search(pool.queries[0], k=5)
    assert result.ids.shape == (1, 5)
    assert sorted(result.ids[0, :3]) == sorted(pool.ids[:3])
    assert list(result.ids[0, 3:]) == [-1, -1]
    assert np.all(np.isneginf(result.scores[0, 3:]))


def test_a_stored_vector_finds_itself_first(built: VectorIndex, pool: Pool) -> None:
    result = built.search(pool.vectors[:20], k=1)
    assert np.mean(result.ids[:, 0] == pool.ids[:20]) >= 0.95


def test_delete_removes_from_results_len_and_contains(built: VectorIndex, pool: Pool) -> None:
    gone = pool.ids[:300]
    built.delete(gone)
    assert len(built) == len(pool.ids) - 300
    assert pool.ids[0] not in built and pool.ids[300] in built
    assert not built.contains(gone).any()
    assert not np.isin(built.search(pool.vectors[:300], k=10).ids, gone).any()


def test_delete_of_unknown_ids_names_them_and_changes_nothing(
    built: VectorIndex, pool: Pool
) -> None:
    with pytest.raises(UnknownListingError, match="not in the index: 5, 6") as raised:
        built.delete([pool.ids[0], 5, 6])
    assert raised.value.ids == [5, 6]
    assert pool.ids[0] in built and len(built) == len(pool.ids)
    with pytest.raises(UnknownListingError, match="12"):
        built.get_vectors([12])


def test_heavy_deletes_compact_and_keep_results_right(built: VectorIndex, pool: Pool) -> None:
    built.delete(pool.ids[:1500])
    assert len(built._ids) == 1500  # compacted: tombstones passed compact_at
    truth = exact_ids(pool, pool.queries, 10, keep=np.arange(len(pool.ids)) >= 1500)
    assert recall(built.search(pool.queries, 10).ids, truth) >= 0.9
    built.add(pool.ids[:10], pool.vectors[:10])
    assert built.search(pool.vectors[:10], 1).ids[:, 0].tolist() == pool.ids[:10].tolist()


def test_upsert_replaces_vector_and_metadata(built: VectorIndex, pool: Pool) -> None:
    target = pool.ids[5]
    fresh = -pool.vectors[5]
    built.upsert([target], [fresh], {"category": ["Garden"], "price": [3.0], "status": ["sold"]})
    assert len(built) == len(pool.ids)
    np.testing.assert_allclose(
        built.get_vectors([target])[0], fresh / np.linalg.norm(fresh), rtol=1e-5, atol=1e-6
    )
    assert built.search(fresh, k=1).ids[0, 0] == target
    assert built.search(fresh, k=3, filters={"category": "Garden"}).ids[0].tolist() == [
        target,
        -1,
        -1,
    ]
    metadata = built.get_metadata([target, pool.ids[6]])
    assert metadata["category"][0] == "Garden" and metadata["price"][0] == 3.0
    assert metadata["status"] == ["sold", pool.metadata["status"][6]]
    assert built.get_metadata([target], ["price"]) == {"price": [3.0]}
    with pytest.raises(DataError, match="unknown metadata field 'colour'"):
        built.get_metadata([target], ["colour"])
    with pytest.raises(UnknownListingError, match="999999"):
        built.get_metadata([999999])


def test_upsert_adds_new_ids_too(pool: Pool) -> None:
    index = VectorIndex(DIM).upsert(pool.ids[:10], pool.vectors[:10])
    index.upsert(pool.ids[5:15], pool.vectors[5:15])
    assert len(index) == 15


def test_adding_an_existing_id_points_to_upsert(built: VectorIndex, pool: Pool) -> None:
    with pytest.raises(DataError, match=r"already in the index.*upsert"):
        built.add(pool.ids[:2], pool.vectors[:2])


def test_bad_vectors_are_refused_with_clear_messages(pool: Pool) -> None:
    index = VectorIndex(DIM)
    with pytest.raises(DimensionMismatchError, match="expected 32, got 16") as raised:
        index.add([1], np.ones((1, 16)))
    assert (raised.value.expected, raised.value.got) == (32, 16)
    bad = pool.vectors[:4].copy()
    bad[2, 3] = np.nan
    with pytest.raises(VectorError, match=r"NaN or infinite values in 1 row.*row 2"):
        index.add(pool.ids[:4], bad)
    with pytest.raises(VectorError, match="zero length"):
        index.add([1], np.zeros((1, DIM)))
    with pytest.raises(VectorError, match="unique"):
        index.add([1, 1], pool.vectors[:2])
    with pytest.raises(VectorError, match=">= 0"):
        index.add([-1], pool.vectors[:1])
    with pytest.raises(VectorError, match="2 ids for 3 vectors"):
        index.add([1, 2], pool.vectors[:3])
    with pytest.raises(DimensionMismatchError, match="queries have dimension 8"):
        VectorIndex(DIM).add([1], pool.vectors[:1]).search(np.ones(8))
    assert len(index) == 0


def test_bad_configuration_is_refused() -> None:
    with pytest.raises(IndexConfigError, match="backend must be one of"):
        VectorIndex(DIM, backend="annoy")
    with pytest.raises(IndexConfigError, match="metric"):
        VectorIndex(DIM, metric="l2")  # type: ignore[arg-type]
    with pytest.raises(IndexConfigError, match="HNSWParams"):
        VectorIndex(DIM, backend="ivfpq", params=HNSWParams()).add([1], np.ones((1, DIM)))
    with pytest.raises(IndexConfigError, match="k must be a positive integer"):
        VectorIndex(DIM).search(np.ones(DIM), k=0)


def test_inner_product_metric_keeps_vectors_as_given(pool: Pool) -> None:
    index = VectorIndex(DIM, metric="ip", backend="exact").add(pool.ids, pool.vectors)
    np.testing.assert_array_equal(index.get_vectors(pool.ids[:5]), pool.vectors[:5])
    ids, scores = index.search(pool.queries[:3], k=1)
    best = np.argmax(pool.queries[:3] @ pool.vectors.T, axis=1)
    assert ids[:, 0].tolist() == pool.ids[best].tolist()
    np.testing.assert_allclose(scores[:, 0], np.max(pool.queries[:3] @ pool.vectors.T, 1), 1e-4)


def test_auto_picks_by_size_and_memory() -> None:
    assert choose_backend(10_000, 384, 0.95, None) == "exact"
    assert choose_backend(100_000, 384, 0.99, None) == "exact"
    assert choose_backend(1_000_000, 384, 0.95, 8.0) == "hnsw"
    assert choose_backend(1_000_000, 384, 0.95, 0.5) == "ivfpq"
    assert choose_backend(10_000_000, 384, 0.95, 64.0) == "ivfpq"
    assert VectorIndex(DIM).add([1], np.ones((1, DIM))).backend == "exact"
    assert VectorIndex(DIM, expected_size=100_000).add([1], np.ones((1, DIM))).backend == "hnsw"


def test_rebuild_moves_to_another_backend(built: VectorIndex, pool: Pool, backend: str) -> None:
    built.delete(pool.ids[:10])
    target = "hnsw" if backend != "hnsw" else "ivfpq"
    params = IVFPQParams(nlist=32, nprobe=8) if target == "ivfpq" else None
    built.rebuild(target, params)
    assert built.backend == target and len(built) == len(pool.ids) - 10
    truth = exact_ids(pool, pool.queries, 10, keep=np.arange(len(pool.ids)) >= 10)
    assert recall(built.search(pool.queries, 10).ids, truth) >= 0.9
    np.testing.assert_allclose(
        built.get_vectors(pool.ids[10:12]),
        pool.vectors[10:12] / np.linalg.norm(pool.vectors[10:12], axis=1, keepdims=True),
        rtol=1e-6,
    )


def test_hnsw_searches_and_scores_half_precision_codes(pool: Pool) -> None:
    half = VectorIndex(DIM, backend="hnsw").add(pool.ids, pool.vectors)
    flat = VectorIndex(DIM, backend="hnsw", params=HNSWParams(codes="flat"))
    flat.add(pool.ids, pool.vectors)
    assert half._backend is not None and half._backend.params()["codes"] == "fp16"
    assert half._backend.memory_bytes() < flat._backend.memory_bytes()  # type: ignore[union-attr]
    ids, scores = half.search(pool.queries, 10)
    assert recall(ids, exact_ids(pool, pool.queries, 10)) >= MIN_RECALL["hnsw"]
    assert recall(ids, flat.search(pool.queries, 10).ids) >= 0.98
    queries = pool.queries / np.linalg.norm(pool.queries, axis=1, keepdims=True)
    exact = np.einsum("qkd,qd->qk", half.get_vectors(ids.ravel()).reshape(*ids.shape, -1), queries)
    error = np.abs(scores - exact)
    assert error.max() < 2e-3 and error.max() > 0  # fp16 scores, not float32 re-scored ones
    assert (np.diff(scores, axis=1) <= 0).all()
    np.testing.assert_array_equal(half.get_vectors(pool.ids[:3]), flat.get_vectors(pool.ids[:3]))


def test_unknown_hnsw_codes_are_refused() -> None:
    with pytest.raises(IndexConfigError, match=r"codes=.*one of \('fp16', 'flat'\).*'int4'"):
        HNSWParams(codes="int4")


def test_tune_reaches_the_target_recall(pool: Pool) -> None:
    index = VectorIndex(DIM, backend="hnsw", params=HNSWParams(ef_search=16))
    index.add(pool.ids, pool.vectors)
    effort = index.tune(0.99, queries=pool.queries)
    assert effort == index.effort >= 16
    assert recall(index.search(pool.queries, 10).ids, exact_ids(pool, pool.queries, 10)) >= 0.99


def test_ivfpq_searches_untrained_vectors_exactly_until_it_can_train(pool: Pool) -> None:
    index = VectorIndex(DIM, backend="ivfpq", params=IVFPQParams(nlist=32, nprobe=8))
    index.add(pool.ids[:100], pool.vectors[:100])
    assert index._backend is not None and not index._backend.is_trained
    small = Pool(pool.ids[:100], pool.vectors[:100], pool.queries, {})
    assert recall(index.search(pool.queries, 5).ids, exact_ids(small, pool.queries, 5)) == 1.0
    index.add(pool.ids[100:], pool.vectors[100:])
    assert index._backend.is_trained and index._backend.ntotal == len(pool.ids)


def test_items_export_every_live_listing(built: VectorIndex, pool: Pool) -> None:
    built.delete(pool.ids[:5])
    ids = np.concatenate([batch[0] for batch in built.items(batch_size=1000)])
    assert sorted(ids.tolist()) == sorted(pool.ids[5:].tolist())


@pytest.mark.parametrize("name", sorted(BACKENDS))
def test_empty_index_returns_padding(name: str) -> None:
    result = VectorIndex(DIM, **BACKENDS[name]).search(np.ones((2, DIM)), k=3)  # type: ignore[arg-type]
    assert (result.ids == -1).all() and np.isneginf(result.scores).all()


@pytest.mark.parametrize("flat_up_to", [16_384, 32])
def test_ivfpq_files_every_vector_in_its_nearest_list(
    pool: Pool, flat_up_to: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    import faiss

    from furima.index import _backends

    monkeypatch.setattr(_backends, "FLAT_COARSE_UP_TO", flat_up_to)
    index = VectorIndex(DIM, backend="ivfpq", params=IVFPQParams(nlist=64, nprobe=4, nbits=6))
    index.add(pool.ids, pool.vectors)
    backend = index._backend
    assert isinstance(backend, _backends.IVFPQBackend) and backend.vectors is not None
    ivf = faiss.extract_index_ivf(backend.index)
    quantizer = faiss.downcast_index(ivf.quantizer)
    graph = getattr(quantizer, "hnsw", None)
    assert (graph is None) == (flat_up_to >= 64)
    if graph is not None:  # the wide filing beam is put back for searching
        assert graph.efSearch == 64
    filed = np.empty(len(pool.ids), dtype=np.int64)
    for number in range(ivf.nlist):
        size = ivf.invlists.list_size(number)
        if size:
            filed[faiss.rev_swig_ptr(ivf.invlists.get_ids(number), size)] = number
    centroids = quantizer.reconstruct_n(0, ivf.nlist)
    nearest = np.argmax(backend.vectors.take(np.arange(len(pool.ids))) @ centroids.T, axis=1)
    assert np.array_equal(filed, nearest)
