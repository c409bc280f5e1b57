"""The model registry: every fitted furima model versioned on MLflow, with serving aliases::

from furima.registry import ModelRegistry, TrafficPolicy

registry = ModelRegistry("furima-registry")          # SQLite + local artifacts by default
registry.log_model(price_model, alias="champion")    # run, params, metrics, fingerprint, files
registry.promote("price", 2, alias="challenger")
registry.set_traffic("price", TrafficPolicy(canary_percent=10, sticky="user"))
registry.promote("price", 2)                          # version 2 answers everything
registry.rollback("price")                            # the previous champion is back

``ModelRegistry("postgresql://furima@db/registry", artifact_root="s3://bucket/furima")`` puts
the same registry on shared infrastructure; ``FURIMA_REGISTRY`` / ``FURIMA_ARTIFACT_ROOT`` set
it for the CLI and servers. MLflow is imported only when a registry is first used.
"""

from __future__ import annotations

from furima.registry._location import RegistryLocation
from furima.registry._registry import (
    CHALLENGER,
    CHAMPION,
    ModelRegistry,
    ModelVersion,
    TaskDeployment,
    VersionRef,
)
from furima.registry._traffic import TrafficPolicy

__all__ = [
    "CHALLENGER",
    "CHAMPION",
    "ModelRegistry",
    "ModelVersion",
    "RegistryLocation",
    "TaskDeployment",
    "TrafficPolicy",
    "VersionRef",
]
