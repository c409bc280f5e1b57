"""Saving and loading a :class:`~furima.ranking.FeedRanker` as one folder.

    manifest.json           format, versions, settings, feature names, the ranker's class,
                            the generators' parameters, checksums
    ids.npz                 external user and item ids in dense-index order
    events.npz              the events the features count (user, item, timestamp, event, value)
    items.npz               category code and price per item, category names
    generators/<name>.npz   each generator's learned arrays
    ranker/                 the ranker's own saved folder

Arrays load with ``allow_pickle=False``; the whole folder is swapped in atomically.
"""

from __future__ import annotations

import importlib
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from furima._artifacts import (
    ArtifactKind,
    check_files,
    library_versions,
    read_arrays,
    read_manifest,
    save_atomically,
    stamp,
)
from furima.catalog._interactions import IdMap, Interactions
from furima.exceptions import ModelFormatError

if TYPE_CHECKING:
    from furima.ranking._features import FeatureBuilder
    from furima.ranking._pipeline import FeedRanker

__all__ = ["FORMAT", "load_feed_ranker", "save_feed_ranker"]

FORMAT = "furima.feed_ranker"
KIND = ArtifactKind(
    format=FORMAT,
    version=1,
    noun="furima feed ranker",
    written_by="FeedRanker.save()",
    too_new="in format {saved}; this furima reads up to {supported}. Upgrade furima.",
    damaged="the feed ranker is damaged; save or fit it again.",
)
_FIX = "save the feed ranker again"


def save_feed_ranker(model: FeedRanker, path: Path) -> Path:
    """Write ``model`` (fitted) to the folder ``path`` atomically."""

    def write(folder: Path) -> None:
        builder = model.builder_
        _write_builder(builder, folder)
        _write_ranker(model, folder / "ranker")
        ranker = type(model.ranker_)
        params, _ = builder.scores_.get_state()
        manifest: dict[str, Any] = {
            "format": FORMAT,
            "format_version": KIND.version,
            "versions": library_versions(("numpy",)),
            "settings": _settings(model),
            "builder": {
                "generators": list(builder.generators),
                "recent_s": builder.recent_s,
                "conversion_prior": builder.conversion_prior,
                "als_factors": builder.als_factors,
                "seed": builder.seed,
            },
            "scores": params,
            "features": list(builder.features),
            "event_types": list(builder.event_types_),
            "ranker": f"{ranker.__module__}:{ranker.__qualname__}",
            "moment": model.moment_,
            "training": model.training_,
        }
        stamp(folder, manifest)

    return save_atomically(path, write)


def _settings(model: FeedRanker) -> dict[str, Any]:
    return {
        "events": None if model.events is None else list(model.events),
        "gains": model.gains,
        "candidates_per_request": model.candidates_per_request,
        "generator_share": model.generator_share,
        "generators": list(model.generators),
        "max_requests": model.max_requests,
        "day_s": model.day_s,
    }


def _write_builder(builder: FeatureBuilder, folder: Path) -> None:
    events = builder.events_
    np.savez(
        folder / "ids.npz", users=events.users.ids.astype(str), items=events.items.ids.astype(str)
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
    np.savez(
        folder / "items.npz",
        category=builder.category_,
        category_names=builder.category_names_.astype(str),
        price=builder.price_,
    )
    (folder / "generators").mkdir()
    _, arrays = builder.scores_.get_state()
    for name, state in arrays.items():
        np.savez(folder / "generators" / f"{name}.npz", allow_pickle=False, **state)


def _write_ranker(model: FeedRanker, target: Path) -> None:
    """The ranker's own atomic save, copied in as a plain folder."""
    with tempfile.TemporaryDirectory() as scratch:
        saved = model.ranker_.save(Path(scratch) / "ranker")
        shutil.copytree(Path(saved).resolve(), target)


def load_feed_ranker(path: Path) -> FeedRanker:
    """A feed ranker saved by :func:`save_feed_ranker`, its checksums checked."""
    from furima.ranking._pipeline import FeedRanker

    manifest = read_manifest(path, KIND)
    check_files(path, manifest, KIND)
    model = FeedRanker(**manifest["settings"])
    model.builder_ = _read_builder(path, manifest)
    model.ranker_ = _ranker_class(manifest["ranker"]).load(path / "ranker")
    model.moment_ = int(manifest["moment"])
    model.training_ = dict(manifest["training"])
    return model


def _read_builder(path: Path, manifest: dict[str, Any]) -> FeatureBuilder:
    from furima.ranking._feature_scores import GeneratorScores
    from furima.ranking._features import FeatureBuilder

    ids = read_arrays(path / "ids.npz", ("users", "items"), fix=_FIX)
    keys = ("user", "item", "timestamp", "event", "value", "event_weights")
    events = read_arrays(path / "events.npz", keys, fix=_FIX)
    items = read_arrays(path / "items.npz", ("category", "category_names", "price"), fix=_FIX)
    builder = FeatureBuilder(**manifest["builder"])
    builder.events_ = Interactions(
        **{k: events[k] for k in keys},
        users=IdMap(ids["users"]),
        items=IdMap(ids["items"]),
        event_types=tuple(manifest["event_types"]),
    )
    builder.event_types_ = tuple(manifest["event_types"])
    builder.category_ = items["category"].astype(np.int64)
    builder.category_names_ = items["category_names"].astype(object)
    builder.price_ = items["price"].astype(np.float32)
    scores = manifest["scores"]
    arrays = {
        name: read_arrays(path / "generators" / f"{name}.npz", (), fix=_FIX)
        for name in scores["fitted"]
    }
    builder.scores_ = GeneratorScores.from_state(scores, arrays)
    builder.generators_before_ = None
    builder._index()
    if list(builder.features) != manifest["features"]:
        raise ModelFormatError(f"{str(path)!r}: its features do not match its settings; {_FIX}.")
    return builder


def _ranker_class(described: str) -> Any:
    module, _, name = described.partition(":")
    if not module.startswith("furima.ranking."):
        raise ModelFormatError(f"the feed ranker names an unknown ranker class {described!r}.")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as error:
        raise ModelFormatError(f"the ranker class {described!r} is not in this furima.") from error
