"""The registry on a real PostgreSQL server (Debian's package, on loopback)."""

from __future__ import annotations

from pathlib import Path

from furima.pricing import PriceSuggester
from furima.registry import ModelRegistry


def test_the_whole_flow_runs_on_postgresql(
    postgres_database: str, price_model_folder: Path, tmp_path: Path
) -> None:
    registry = ModelRegistry(postgres_database, artifact_root=tmp_path / "artifacts")
    first = registry.log_model(price_model_folder, alias="champion")
    second = registry.log_model(price_model_folder)
    registry.promote("price", second.version)
    assert registry.version("price", "champion").version == 2
    assert registry.rollback("price").version == first.version == 1
    # a second client (another server process) sees the same state
    other = ModelRegistry(postgres_database, artifact_root=tmp_path / "artifacts")
    deployment = other.deployment("price")
    assert deployment.champion is not None and deployment.champion.version == 1
    assert str(deployment.champion.path).startswith(str(tmp_path / "artifacts"))
    model = PriceSuggester.load(deployment.champion.path)
    assert model.data_fingerprint_ == first.data_fingerprint
    assert "price" in other.tasks()
