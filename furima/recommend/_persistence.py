"""Saving and loading a :class:`Recommender` as one folder with a JSON manifest.

    manifest.json       format, versions, generators (class and parameters), blend weights,
                        validation metrics, item columns, event types, checksums
    ids.npz             the id maps: external user and item ids, in dense-index order
    events.npz          the events the model learned from (histories of known users)
    items.npz           display and filter fields per item (photos as one byte array)
    generators/<name>.npz   each generator's learned arrays

Everything loads with ``allow_pickle=False``. The folder is written beside ``path`` and
swapped in atomically (:mod:`furima._artifacts`): a crash mid-save leaves the previous model.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from furima._artifacts import ArtifactKind, check_files, read_manifest, save_atomically, stamp
from furima.catalog._interactions import IdMap, Interactions
from furima.exceptions import ModelFormatError

if TYPE_CHECKING:
    from furima.recommend._recommender import Recommender

__all__ = ["FORMAT", "load_recommender", "save_recommender"]

FORMAT = "furima.recommender"
FORMAT_VERSION = 1
KIND = ArtifactKind(
    format=FORMAT,
    version=FORMAT_VERSION,
    noun="furima recommender",
    written_by="Recommender.save() or `furima recommend fit`",
    too_new="in format {saved}; this furima reads up to {supported}. Upgrade furima.",
    damaged="the model is damaged; save or fit it again.",
)


def save_recommender(model: Recommender, path: str | Path) -> Path:
    """Write ``model`` to the folder ``path`` atomically."""
    from furima._artifacts import library_versions
    from furima.recommend._recommender import GENERATORS

    def write(folder: Path) -> None:
        events = model.interactions_
        np.savez(
            folder / "ids.npz",
            users=events.users.ids.astype(str),
            items=events.items.ids.astype(str),
        )
        np.savez(
            folder / "events.npz",
            user=events.user,
            item=events.item,
            timestamp=events.timestamp,
            event=events.event,
            value=events.value,
            event_weights=events.event_weights,
        )
        np.savez(folder / "items.npz", allow_pickle=False, **model.items_.to_arrays())
        (folder / "generators").mkdir()
        described = {}
        for name, generator in {**model.generators_, "_fallback": model.fallback_}.items():
            params, arrays = generator.get_state()
            np.savez(folder / "generators" / f"{name}.npz", allow_pickle=False, **arrays)
            cls = type(generator)
            described[name] = {"class": f"{cls.__module__}:{cls.__qualname__}", "params": params}
            if described[name]["class"] not in GENERATORS.values():
                raise ModelFormatError(
                    f"cannot save generator {name!r} of class {described[name]['class']}: only "
                    f"furima's own generators ({', '.join(GENERATORS)}) can be saved."
                )
        manifest: dict[str, Any] = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "versions": library_versions(("numpy",)),
            "generators": described,
            "blend": model.blend_.weights,
            "validation": model.validation_,
            "columns": model.columns_.to_dict(),
            "event_types": list(events.event_types),
            "n_users": events.n_users,
            "n_items": events.n_items,
            "n_events": len(events),
        }
        stamp(folder, manifest)

    return save_atomically(Path(path), write)


def load_recommender(path: str | Path) -> Recommender:
    """Load a recommender written by :func:`save_recommender`, checking its checksums."""
    from furima.recommend._blend import Blend
    from furima.recommend._items import ItemCatalog, ItemColumns
    from furima.recommend._recommender import Recommender

    folder = Path(path)
    manifest = read_manifest(folder, KIND)
    check_files(folder, manifest, KIND)
    ids, events, items = (_arrays(folder / f"{n}.npz") for n in ("ids", "events", "items"))
    interactions = Interactions(
        user=events["user"],
        item=events["item"],
        timestamp=events["timestamp"],
        event=events["event"],
        value=events["value"],
        users=IdMap(ids["users"]),
        items=IdMap(ids["items"]),
        event_types=tuple(manifest["event_types"]),
        event_weights=events["event_weights"],
    )
    generators = {
        name: _generator(described, _arrays(folder / "generators" / f"{name}.npz"))
        for name, described in manifest["generators"].items()
    }
    columns = manifest["columns"]
    model = Recommender(generators=[g for n, g in generators.items() if n != "_fallback"])
    model.fallback_ = generators.pop("_fallback")
    model.generators_ = generators
    model.blend_ = Blend(manifest["blend"])
    model.validation_ = manifest["validation"]
    model.columns_ = ItemColumns(**columns | {"attributes": tuple(columns["attributes"])})
    model.items_ = ItemCatalog.from_arrays(items)
    model.interactions_ = interactions
    model._index_histories()
    return model


def _arrays(file: Path) -> dict[str, np.ndarray]:
    with np.load(file, allow_pickle=False) as loaded:
        return {name: loaded[name] for name in loaded.files}


def _generator(described: dict[str, Any], arrays: dict[str, np.ndarray]) -> Any:
    import importlib

    from furima.recommend._recommender import GENERATORS

    if described["class"] not in GENERATORS.values():
        raise ModelFormatError(f"the model names an unknown generator {described['class']!r}.")
    module, attribute = described["class"].split(":")
    cls = getattr(importlib.import_module(module), attribute)
    return cls.from_state(described["params"], arrays)
