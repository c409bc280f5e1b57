"""Saving and loading a :class:`SimilarSearch` pool as one folder with a JSON manifest.

    manifest.json    format, versions, encoders, pool columns, embedder parameters, re-ranking,
                     checksums
    embedder.npz     the joint embedding's weights (absent when the pool uses raw features)
    photo_backbone/  the tuned photo backbone the pool was encoded with (absent: stock weights)
    photos/, titles/ one saved :class:`~furima.index.VectorIndex` per pool

The folder is written next to ``path`` and swapped in atomically (see
:mod:`furima._artifacts`): a crash mid-save leaves the previous pool loadable.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from furima._artifacts import check_files, read_manifest, save_atomically, stamp
from furima.exceptions import IndexFormatError
from furima.index import VectorIndex
from furima.index._persistence import index_artifact

if TYPE_CHECKING:
    from furima.search._similar import SimilarSearch

__all__ = ["load_search", "save_search"]

FORMAT = "furima.similar_search"
FORMAT_VERSION = 1
_EMBEDDER = "embedder.npz"
_BACKBONE = "photo_backbone"
_REBUILD_HINT = "furima index build"


def save_search(search: SimilarSearch, path: str | Path) -> Path:
    """Write ``search`` to the folder ``path`` atomically."""
    import furima

    def write(folder: Path) -> None:
        if search.embedder is not None:
            np.savez(folder / _EMBEDDER, allow_pickle=False, **search.embedder.get_state())
        for name, index in search.indexes.items():
            index.save(folder / name)
        if search.photo_encoder.backbone is not None:
            shutil.copytree(search.photo_encoder.backbone, folder / _BACKBONE)
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "versions": {"furima": furima.__version__},
            "encoders": {
                "photo": search.photo_encoder.name,
                "text": search.text_encoder.name,
            },
            "photo_pooling": search.photo_encoder.pooling,
            "photo_mirror": search.photo_encoder.mirror,
            "columns": search.columns.to_dict(),
            "embedder": search.embedder.get_params() if search.embedder else None,
            "pools": sorted(search.indexes),
            "rerank": search.rerank.to_dict() if search.rerank else None,
        }
        stamp(folder, manifest)

    return save_atomically(Path(path), write)


def load_search(path: str | Path) -> SimilarSearch:
    """Load a pool written by :func:`save_search`, checking format and checksums."""
    from furima.features import MiniLMEncoder, PhotoEncoder, PhotoTextEmbedder
    from furima.search._columns import PoolColumns
    from furima.search._rerank import LabelRerank
    from furima.search._similar import SimilarSearch

    folder = Path(path)
    kind = index_artifact(FORMAT, FORMAT_VERSION, _REBUILD_HINT)
    manifest = read_manifest(folder, kind)
    check_files(folder, manifest, kind)
    backbone = folder / _BACKBONE
    photo_encoder = PhotoEncoder(
        backbone=backbone if backbone.is_dir() else None,
        # Pools saved before multiscale pooling existed were average-pooled.
        pooling=manifest.get("photo_pooling", "average"),
        mirror=bool(manifest.get("photo_mirror", False)),  # absent before mirroring existed
    )
    _check_encoders(manifest, photo_encoder.name, MiniLMEncoder.name)
    embedder = None
    if manifest.get("embedder") is not None:
        with np.load(folder / _EMBEDDER, allow_pickle=False) as arrays:
            state = {name: arrays[name] for name in arrays.files}
        embedder = PhotoTextEmbedder.from_state(state, **manifest["embedder"])
    indexes = {name: VectorIndex.load(folder / name) for name in manifest["pools"]}
    columns = PoolColumns(**manifest["columns"])
    rerank = manifest.get("rerank")  # absent in pools saved before re-ranking: off
    return SimilarSearch(
        columns=columns,
        embedder=embedder,
        indexes=indexes,
        photo_encoder=photo_encoder,
        rerank=LabelRerank(**rerank) if rerank else None,
    )


def _check_encoders(manifest: dict[str, Any], photo: str, text: str) -> None:
    saved = manifest.get("encoders", {})
    if saved != {"photo": photo, "text": text}:
        raise IndexFormatError(
            f"the pool was encoded with {saved}, but this furima encodes with "
            f"photo={photo!r}, text={text!r}; rebuild the pool ({_REBUILD_HINT})."
        )
