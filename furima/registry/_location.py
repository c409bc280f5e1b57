"""Where a registry lives: a tracking database and an artifact root.

A plain folder means the embedded default, ``sqlite:///FOLDER/mlflow.db`` with artifacts in
``FOLDER/artifacts``; a database URL (``postgresql://user@host/db``, ``mysql://...``,
``sqlite:///...``) with an ``artifact_root`` (a folder or an object-store URL such as
``s3://bucket/furima``) puts the registry on shared infrastructure.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ENV_ARTIFACT_ROOT", "ENV_REGISTRY", "RegistryLocation"]

ENV_REGISTRY = "FURIMA_REGISTRY"
ENV_ARTIFACT_ROOT = "FURIMA_ARTIFACT_ROOT"
_DATABASE_SCHEMES = ("sqlite", "postgresql", "mysql", "mssql")


@dataclass(frozen=True)
class RegistryLocation:
    """The tracking/registry database URI and the root under which artifacts are stored."""

    tracking_uri: str
    artifact_root: str

    @classmethod
    def parse(cls, where: str | Path, artifact_root: str | Path | None = None) -> RegistryLocation:
        """A folder (embedded SQLite) or a database URL (with ``artifact_root``)."""
        text = str(where)
        scheme = text.split(":", 1)[0].split("+", 1)[0] if "://" in text else ""
        if not scheme:
            folder = Path(text).expanduser().resolve()
            root = artifact_root or folder / "artifacts"
            return cls(f"sqlite:///{folder / 'mlflow.db'}", _root_uri(root))
        if scheme not in _DATABASE_SCHEMES:
            raise ValueError(
                f"The registry must be a folder or a database URL ({', '.join(_DATABASE_SCHEMES)}"
                f"), but got {text!r}."
            )
        if artifact_root is None:
            raise ValueError(
                f"A registry on {scheme} needs an artifact root: pass artifact_root= (a folder "
                f"or an object-store URL such as s3://bucket/furima) or set {ENV_ARTIFACT_ROOT}."
            )
        return cls(text, _root_uri(artifact_root))

    @classmethod
    def from_env(cls, default: str | Path = "furima-registry") -> RegistryLocation:
        """From ``FURIMA_REGISTRY`` and ``FURIMA_ARTIFACT_ROOT``, else the ``default`` folder."""
        return cls.parse(
            os.environ.get(ENV_REGISTRY) or default, os.environ.get(ENV_ARTIFACT_ROOT) or None
        )

    @property
    def local_folder(self) -> Path | None:
        """The folder of an embedded SQLite registry, created on first use; else ``None``."""
        prefix = "sqlite:///"
        if self.tracking_uri.startswith(prefix):
            return Path(self.tracking_uri[len(prefix) :]).parent
        return None

    def display(self) -> str:
        """The URI with any password masked, for messages and logs."""
        head, sep, tail = self.tracking_uri.partition("://")
        if sep and "@" in tail and ":" in tail.split("@", 1)[0]:
            user = tail.split("@", 1)[0].split(":", 1)[0]
            return f"{head}://{user}:***@{tail.split('@', 1)[1]}"
        return self.tracking_uri


def _root_uri(root: str | Path) -> str:
    text = str(root)
    if "://" in text:
        return text.rstrip("/")
    return Path(text).expanduser().resolve().as_uri()
