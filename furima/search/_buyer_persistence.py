"""Saving and loading a :class:`BuyerSearch` as one folder with a JSON manifest.

    manifest.json   format ``furima.buyer_search``, versions, columns, settings, the text
                    encoder, the ranker's settings and features, checksums
    catalog.npz     what results show: ids, titles, prices, category, colour, condition,
                    photo flags, popularity
    lexical.npz     the searched text fields (the BM25 index is rebuilt from them on load,
                    in seconds, so no bm25s internals are stored)
    facets.npz      filter fields as codes and vocabularies, and numbers
    vectors/        the title vectors (:class:`~furima.index.VectorIndex`)
    ranker.txt      the LightGBM ranker in LightGBM's own text format (absent: rank fusion)
    photo_pool/     the :class:`SimilarSearch` photo pool (absent: no photo search)
    photos.npz      the listings' photo bytes for result grids (absent: the photo column held
                    no bytes)

Everything loads with ``allow_pickle=False``; the folder is written beside ``path`` and
swapped in atomically (:mod:`furima._artifacts`).
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from furima._artifacts import (
    ArtifactKind,
    check_files,
    library_versions,
    read_arrays,
    read_manifest,
    save_atomically,
    stamp,
)
from furima.exceptions import ModelFormatError

if TYPE_CHECKING:
    from furima.search._buyer import BuyerSearch

__all__ = ["FORMAT", "KIND", "load_buyer_search", "save_buyer_search"]

FORMAT = "furima.buyer_search"
FORMAT_VERSION = 1
KIND = ArtifactKind(
    format=FORMAT,
    version=FORMAT_VERSION,
    noun="furima buyer search",
    written_by="BuyerSearch.save()",
    too_new="in format {saved}; this furima reads up to {supported}. Upgrade furima.",
    damaged="the search is damaged; build and save it again.",
)
_TEXT_COLUMNS = ("title", "category", "colour", "condition")
_NUMBER_COLUMNS = ("price", "popularity")
_FIX = "build and save the search again"


def save_buyer_search(search: BuyerSearch, path: str | Path) -> Path:
    """Write ``search`` to the folder ``path`` atomically."""

    def write(folder: Path) -> None:
        np.savez(folder / "catalog.npz", allow_pickle=False, **_catalog_arrays(search.catalog))
        texts = {f"field/{n}": _strings(v)[0] for n, v in search.lexical.texts_.items()}
        np.savez(folder / "lexical.npz", allow_pickle=False, **texts)
        np.savez(folder / "facets.npz", allow_pickle=False, **search.facets.to_arrays())
        search.vectors.save(folder / "vectors")
        ranker = search.ranker
        if ranker is not None:
            (folder / "ranker.txt").write_text(ranker.model_text())
        if search.photo_pool is not None:
            search.photo_pool.save(folder / "photo_pool")
        if search.photos is not None:
            np.savez(folder / "photos.npz", allow_pickle=False, **_photo_arrays(search.photos))
        manifest: dict[str, Any] = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "versions": library_versions(("numpy", "lightgbm", "bm25s")),
            "columns": search.columns.to_dict(),
            "settings": search.settings.to_dict(),
            "text_encoder": search.text_encoder.name,
            "lexical": {
                "k1": search.lexical.k1,
                "b": search.lexical.b,
                "fields": list(search.lexical.texts_),
            },
            "ranker": None
            if ranker is None
            else {"params": ranker.get_params(), "features": list(ranker.features_)},
            "photo_pool": search.photo_pool is not None,
            "photos": search.photos is not None,
            "listings": len(search),
        }
        stamp(folder, manifest)

    return save_atomically(Path(path), write)


def load_buyer_search(path: str | Path) -> BuyerSearch:
    """Load a search written by :func:`save_buyer_search`, checking format and checksums."""
    from furima.index import VectorIndex
    from furima.search._buyer import BuyerSearch, SearchSettings, query_encoder
    from furima.search._buyer_columns import BuyerColumns
    from furima.search._buyer_ranker import BuyerRanker
    from furima.search._facets import FacetTable
    from furima.search._lexical import LexicalIndex
    from furima.search._similar import SimilarSearch

    folder = Path(path)
    manifest = read_manifest(folder, KIND)
    check_files(folder, manifest, KIND)
    encoder = query_encoder()
    if manifest.get("text_encoder") != encoder.name:
        raise ModelFormatError(
            f"the search was encoded with {manifest.get('text_encoder')!r}, but this furima "
            f"encodes titles with {encoder.name!r}; {_FIX}."
        )
    lexical_settings = manifest["lexical"]
    texts = read_arrays(folder / "lexical.npz", (), fix=_FIX)
    fields = {name: texts[f"field/{name}"].tolist() for name in lexical_settings["fields"]}
    lexical = LexicalIndex(k1=lexical_settings["k1"], b=lexical_settings["b"]).build(fields)
    ranker = None
    if manifest.get("ranker") is not None:
        described = manifest["ranker"]
        text = (folder / "ranker.txt").read_text()
        ranker = BuyerRanker.from_text(text, described["features"], described["params"])
    photo_pool = SimilarSearch.load(folder / "photo_pool") if manifest["photo_pool"] else None
    return BuyerSearch(
        columns=BuyerColumns.from_dict(manifest["columns"]),
        catalog=_catalog_frame(read_arrays(folder / "catalog.npz", ("id", "title"), fix=_FIX)),
        lexical=lexical,
        vectors=VectorIndex.load(folder / "vectors"),
        facets=FacetTable.from_arrays(read_arrays(folder / "facets.npz", (), fix=_FIX)),
        ranker=ranker,
        photo_pool=photo_pool,
        settings=SearchSettings(**manifest["settings"]),
        text_encoder=encoder,
        photos=_photos(folder) if manifest.get("photos") else None,
    )


def _photo_arrays(photos: list[bytes]) -> dict[str, np.ndarray]:
    """All photos as one byte array and its offsets (no pickles)."""
    lengths = np.fromiter((len(p) for p in photos), np.int64, len(photos))
    return {
        "offsets": np.concatenate([[0], np.cumsum(lengths)]),
        "bytes": np.frombuffer(b"".join(photos), dtype=np.uint8),
    }


def _photos(folder: Path) -> list[bytes]:
    arrays = read_arrays(folder / "photos.npz", ("offsets", "bytes"), fix=_FIX)
    offsets, data = arrays["offsets"], arrays["bytes"]
    return [data[a:b].tobytes() for a, b in itertools.pairwise(offsets)]


def _catalog_arrays(catalog: pd.DataFrame) -> dict[str, np.ndarray]:
    arrays: dict[str, np.ndarray] = {"id": catalog["id"].to_numpy(np.int64)}
    for name in _TEXT_COLUMNS:
        arrays[name], arrays[f"{name}_missing"] = _strings(catalog[name].tolist())
    for name in _NUMBER_COLUMNS:
        arrays[name] = catalog[name].to_numpy(np.float64)
    arrays["has_photo"] = catalog["has_photo"].to_numpy(bool)
    return arrays


def _catalog_frame(arrays: dict[str, np.ndarray]) -> pd.DataFrame:
    frame: dict[str, Any] = {"id": arrays["id"].astype(np.int64)}
    for name in _TEXT_COLUMNS:
        values = arrays[name].astype(object)
        values[arrays[f"{name}_missing"]] = None
        frame[name] = values
    if "title" in frame:
        frame["title"] = [v or "" for v in frame["title"]]
    for name in _NUMBER_COLUMNS:
        frame[name] = arrays[name].astype(np.float64)
    frame["has_photo"] = arrays["has_photo"].astype(bool)
    return pd.DataFrame(frame)


def _strings(values: list[Any]) -> tuple[np.ndarray, np.ndarray]:
    """Unicode array (missing as "") and the missing mask, for a pickle-free .npz."""
    missing = np.array([v is None or (isinstance(v, float) and np.isnan(v)) for v in values])
    text = ["" if m else str(v) for v, m in zip(values, missing, strict=True)]
    return np.asarray(text, dtype=np.str_), missing.astype(bool)
