"""The registry's answers as values: a registered version, the folder a server loads, and what
serves a task now (champion, challenger, traffic split)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from furima.registry._traffic import TrafficPolicy

__all__ = ["ModelVersion", "TaskDeployment", "VersionRef"]


@dataclass(frozen=True)
class ModelVersion:
    """One registered version of a task's model."""

    task: str
    version: int
    aliases: tuple[str, ...]
    source: str
    run_id: str | None
    created_at: str
    format: str | None
    data_fingerprint: str | None
    metrics: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "version": self.version,
            "aliases": list(self.aliases),
            "created_at": self.created_at,
            "format": self.format,
            "data_fingerprint": self.data_fingerprint,
            "metrics": self.metrics,
            "run_id": self.run_id,
            "source": self.source,
        }


@dataclass(frozen=True)
class VersionRef:
    """A registered version as a server sees it: its number and a local folder to load."""

    task: str
    version: int
    path: Path


@dataclass(frozen=True)
class TaskDeployment:
    """What should serve a task now: champion, challenger (if any) and the traffic split."""

    task: str
    champion: VersionRef | None
    challenger: VersionRef | None
    traffic: TrafficPolicy
