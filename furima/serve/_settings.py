"""The server's one typed settings object, read at the edge (CLI or the caller of create_app)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

__all__ = ["ServeSettings"]

MIB = 1024 * 1024


@dataclass(frozen=True)
class ServeSettings:
    """What the HTTP server needs to know.

    Attributes:
        listing_assistant: Folder saved by ``ListingAssistant.save``; ``None`` serves the page
            and health checks only (``/readyz`` stays 503) unless an assistant is injected.
        registry: A model registry (folder or database URL): one endpoint per registered task
            that furima can serve, kept in step with the registry's ``champion`` and
            ``challenger`` aliases.
        artifact_root: The registry's artifact root, with a database URL.
        tasks: Serve only these registered tasks (default: every servable one).
        poll_seconds: How often the registry is read for new versions and traffic policies.
        max_batch_size: Most requests scored in one model call.
        max_batch_wait_ms: How long a waiting request may wait for others to join its batch.
        max_queue: Requests allowed to wait per task; beyond it the answer is 429.
        max_json_bytes: JSON bodies larger than this are refused with 413.
        max_upload_bytes: Photos larger than this are refused with 413 while being read.
        max_text_chars: Draft words longer than this are refused with 422.
        review_queue: A review queue file (``furima.safety.ReviewQueue``, created when
            missing): serves the reviewer's page at ``/review`` and its ``/v1/review/...``
            routes; ``None`` serves neither.
        experiment_log: An experiment log file (``furima.experiments.ExposureLog``, created
            when missing): a challenger taking a share of users (sticky by user) records an
            exposure per answered request with an ``X-User-Id``; ``/v1/experiments/...`` and
            the ``/experiments`` page analyse it. ``None``: no exposures are recorded.
    """

    listing_assistant: Path | None = None
    registry: str | None = None
    artifact_root: str | None = None
    tasks: tuple[str, ...] | None = None
    poll_seconds: float = 2.0
    max_batch_size: int = 32
    max_batch_wait_ms: float = 2.0
    max_queue: int = 256
    max_json_bytes: int = 64 * 1024
    max_upload_bytes: int = 10 * MIB
    max_text_chars: int = 2000
    review_queue: Path | None = None
    experiment_log: Path | None = None

    def __post_init__(self) -> None:
        if self.listing_assistant is not None and not isinstance(self.listing_assistant, Path):
            object.__setattr__(self, "listing_assistant", Path(self.listing_assistant))
        for name in ("review_queue", "experiment_log"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Path):
                object.__setattr__(self, name, Path(value))
        if self.registry is not None:
            object.__setattr__(self, "registry", str(self.registry))
        if self.tasks is not None:
            object.__setattr__(self, "tasks", tuple(self.tasks))
        for name in ("max_upload_bytes", "max_text_chars", "max_json_bytes", "max_batch_size"):
            _positive(name, getattr(self, name))
        _positive("max_queue", self.max_queue)
        if self.poll_seconds <= 0 or self.max_batch_wait_ms < 0:
            raise ValueError(
                "`poll_seconds` must be positive and `max_batch_wait_ms` zero or more, "
                f"but got {self.poll_seconds} and {self.max_batch_wait_ms}."
            )

    def to_json(self) -> str:
        """For worker processes, which rebuild the settings with :meth:`from_json`."""
        data = asdict(self)
        data["listing_assistant"] = (
            None if self.listing_assistant is None else str(self.listing_assistant)
        )
        for name in ("review_queue", "experiment_log"):
            data[name] = None if getattr(self, name) is None else str(getattr(self, name))
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> ServeSettings:
        data: dict[str, Any] = json.loads(text)
        return cls(**data)


def _positive(name: str, value: float) -> None:
    if value < 1:
        raise ValueError(f"`{name}` must be at least 1, but got {value}.")
