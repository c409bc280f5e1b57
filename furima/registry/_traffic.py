"""How a task's requests are split between its champion and its challenger."""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import asdict, dataclass
from typing import Any, Literal

__all__ = ["Route", "StickyKey", "TrafficPolicy"]

StickyKey = Literal["user", "listing"]
Route = Literal["champion", "challenger"]
_BUCKETS = 10_000


@dataclass(frozen=True)
class TrafficPolicy:
    """The split a server applies to one task, kept in the registry beside the model.

    Attributes:
        canary_percent: Share of requests (0-100) answered by the ``challenger`` version.
        shadow: Also score every champion-answered request with the challenger, in the
            background; its answer is logged and measured, never returned.
        sticky: Route by a hash of the user id (``X-User-Id`` header) or the listing id in the
            request, so the same user or listing always meets the same version; ``None`` draws
            at random per request.
    """

    canary_percent: float = 0.0
    shadow: bool = False
    sticky: StickyKey | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= float(self.canary_percent) <= 100.0:
            raise ValueError(
                f"canary_percent must be between 0 and 100, but got {self.canary_percent}."
            )
        if self.sticky not in (None, "user", "listing"):
            raise ValueError(f"sticky must be 'user', 'listing' or None, not {self.sticky!r}.")

    def route(self, key: str | None = None) -> Route:
        """Which version answers a request whose sticky key is ``key``."""
        if self.canary_percent <= 0:
            return "champion"
        if self.canary_percent >= 100:
            return "challenger"
        if key is not None and self.sticky is not None:
            digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
            bucket = int.from_bytes(digest, "big") % _BUCKETS
        else:
            bucket = random.randrange(_BUCKETS)
        return "challenger" if bucket < self.canary_percent * _BUCKETS / 100 else "champion"

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | None) -> TrafficPolicy:
        if not text:
            return cls()
        data: dict[str, Any] = json.loads(text)
        return cls(
            canary_percent=float(data.get("canary_percent", 0.0)),
            shadow=bool(data.get("shadow", False)),
            sticky=data.get("sticky"),
        )
