"""ModelRegistry on the embedded SQLite default: logging, versions, aliases, rollback."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from furima.exceptions import ModelFormatError, RegistryError, UnknownModelError
from furima.pricing import PriceSuggester
from furima.registry import ModelRegistry, TrafficPolicy

LISTINGS = pd.DataFrame(
    {"name": ["Nike Men Black Running Shoes", "Puma Women Pink Top"], "brand": ["Nike", "Puma"]}
)


def test_a_logged_fit_has_its_params_metrics_fingerprint_and_files(
    registry: ModelRegistry, price_model_folder: Path
) -> None:
    from mlflow import MlflowClient

    version = registry.log_model(price_model_folder, description="first fit")
    manifest = json.loads((price_model_folder / "manifest.json").read_text())
    assert (version.task, version.version, version.aliases) == ("price", 1, ())
    assert version.format == "furima.price_model"
    assert version.data_fingerprint == manifest["data_fingerprint"]
    assert version.metrics["validation_rmsle"] == pytest.approx(
        manifest["metrics"]["validation_rmsle"]
    )
    uri = registry.location.tracking_uri
    run = MlflowClient(tracking_uri=uri).get_run(version.run_id or "")
    assert run.data.params["coverage"] == "0.8"
    assert run.data.params["random_state"] == "0"
    assert run.data.tags["furima.data_fingerprint"] == manifest["data_fingerprint"]
    assert run.info.status == "FINISHED"


def test_a_registered_version_loads_and_predicts_like_the_original(
    registry: ModelRegistry, price_model_folder: Path
) -> None:
    registry.log_model(PriceSuggester.load(price_model_folder), alias="champion")
    deployment = registry.deployment("price")
    assert deployment.champion is not None and deployment.challenger is None
    assert deployment.champion.version == 1
    loaded = PriceSuggester.load(deployment.champion.path)
    expected = PriceSuggester.load(price_model_folder).predict(LISTINGS)
    np.testing.assert_allclose(loaded.predict(LISTINGS), expected)


def test_promote_and_rollback_walk_the_champion_history(
    registry: ModelRegistry, price_model_folder: Path
) -> None:
    for _ in range(3):
        registry.log_model(price_model_folder)
    assert [v.version for v in registry.versions("price")] == [3, 2, 1]
    registry.promote("price", 1)
    registry.promote("price", 2, alias="challenger")
    promoted = registry.promote("price", 2)
    assert promoted.aliases == ("champion",)  # the challenger became champion: no challenger
    registry.promote("price", 3)
    assert registry.version("price", "champion").version == 3
    assert registry.rollback("price").version == 2
    assert registry.rollback("price").version == 1
    with pytest.raises(RegistryError, match="no earlier champion to roll back to"):
        registry.rollback("price")


def test_traffic_policies_are_stored_beside_the_model(
    registry: ModelRegistry, price_model_folder: Path
) -> None:
    registry.log_model(price_model_folder, alias="champion")
    registry.log_model(price_model_folder, alias="challenger")
    policy = TrafficPolicy(canary_percent=25, shadow=True, sticky="user")
    registry.set_traffic("price", policy)
    assert registry.traffic("price") == policy
    deployment = registry.deployment("price")
    assert deployment.traffic == policy
    assert deployment.challenger is not None and deployment.challenger.version == 2


def test_traffic_needs_a_challenger(registry: ModelRegistry, price_model_folder: Path) -> None:
    registry.log_model(price_model_folder, alias="champion")
    with pytest.raises(RegistryError, match="no challenger to send traffic to"):
        registry.set_traffic("price", TrafficPolicy(canary_percent=10))


def test_unknown_tasks_versions_and_aliases_are_named(
    registry: ModelRegistry, price_model_folder: Path
) -> None:
    with pytest.raises(UnknownModelError, match="No model is registered for task 'price'"):
        registry.deployment("price")
    registry.log_model(price_model_folder, alias="champion")
    with pytest.raises(UnknownModelError, match=r"'price' has no version 7; aliases: champion=1"):
        registry.promote("price", 7)
    with pytest.raises(UnknownModelError, match="has no version 'challenger'"):
        registry.version("price", "challenger")
    with pytest.raises(UnknownModelError, match="registered tasks: price"):
        registry.versions("pricing")


def test_bad_names_and_folders_are_refused(registry: ModelRegistry, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="Task names are lowercase"):
        registry.versions("Price Model")
    with pytest.raises(ModelFormatError, match="is not a folder"):
        registry.log_model(tmp_path / "missing")
    (tmp_path / "plain").mkdir()
    with pytest.raises(ModelFormatError, match="Cannot tell which task"):
        registry.log_model(tmp_path / "plain")
    with pytest.raises(TypeError, match="needs a fitted furima model"):
        registry.log_model(object())
    assert registry.tasks() == []  # nothing half-registered


def test_any_folder_can_be_logged_under_an_explicit_task(
    registry: ModelRegistry, tmp_path: Path
) -> None:
    folder = tmp_path / "rules"
    (folder / "nested").mkdir(parents=True)
    (folder / "nested" / "rules.json").write_text('{"banned": ["replica"]}')
    version = registry.log_model(folder, task="house-rules", metrics={"recall": 0.9})
    assert version.metrics == {"recall": 0.9}
    path = registry.deployment("house-rules").champion
    assert path is None  # registered, not yet promoted
    registry.promote("house-rules", 1)
    served = registry.deployment("house-rules").champion
    assert served is not None
    assert json.loads((served.path / "nested" / "rules.json").read_text()) == {
        "banned": ["replica"]
    }


def test_an_unreachable_database_is_a_registry_error_within_seconds(tmp_path: Path) -> None:
    import time

    registry = ModelRegistry(
        "postgresql+psycopg2://furima@127.0.0.1:9/none", artifact_root=tmp_path
    )
    started = time.monotonic()
    with pytest.raises(RegistryError, match="is unreachable or refused"):
        registry.tasks()
    assert time.monotonic() - started < 10


def test_nested_atomic_saves_come_back_whole(registry: ModelRegistry, tmp_path: Path) -> None:
    """A model saving a sub-model (the listing assistant's search pool and price model) has
    links to hidden version folders inside; the registry copy must load and pass checksums."""
    from furima._artifacts import ArtifactKind, check_files, read_manifest, save_atomically, stamp

    kind = ArtifactKind("test.nested", 1, "nested test model", "save", "{saved}", "refit")

    def write_inner(folder: Path) -> None:
        (folder / "weights.txt").write_text("inner")

    def write_outer(folder: Path) -> None:
        save_atomically(folder / "inner", write_inner)
        stamp(folder, {"format": kind.format, "format_version": 1})

    save_atomically(tmp_path / "outer", write_outer)
    registry.log_model(tmp_path / "outer", task="nested", alias="champion")
    champion = registry.deployment("nested").champion
    assert champion is not None
    copy = champion.path
    check_files(copy, read_manifest(copy, kind), kind)
    assert (copy / "inner" / "weights.txt").read_text() == "inner"
