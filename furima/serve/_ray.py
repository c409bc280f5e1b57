"""Scale-out: the same FastAPI app served by Ray Serve, replicas scaled by queue depth.

Each replica builds its own app with :func:`~furima.serve.create_app` (the app holds asyncio
state, batchers and metrics, so it is never pickled). Ray Serve runs an ingress app's lifespan
hook in every replica, on the event loop that serves its requests, before the replica takes
traffic: so each replica starts its own registry watcher and micro-batchers, ``/readyz`` says
503 until its models are loaded, and ``serve.shutdown()`` stops them gracefully. Ray and
FastAPI are imported only when a function here is called.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from furima.serve._settings import ServeSettings

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = ["RayScaling", "serve_on_ray", "shutdown_ray"]

DEPLOYMENT = "FurimaServer"


@dataclass(frozen=True)
class RayScaling:
    """How Ray Serve scales the replicas of the app.

    Ray Serve's autoscaler scales on queue depth: the requests ongoing (running or queued)
    per replica, averaged over a look-back window, kept near ``target_ongoing_requests``.

    Attributes:
        min_replicas: Replicas kept running when idle (0 lets the app scale to zero).
        max_replicas: Most replicas; each needs a CPU (``replica_cpus``) in the cluster.
        target_ongoing_requests: Requests per replica the autoscaler aims for.
        max_ongoing_requests: Requests one replica takes at once; more wait in Ray's proxy.
        upscale_delay_s: How long the load must stay high before replicas are added.
        downscale_delay_s: How long the load must stay low before replicas are removed.
    """

    min_replicas: int = 1
    max_replicas: int = 4
    target_ongoing_requests: float = 8
    max_ongoing_requests: int = 64
    upscale_delay_s: float = 5.0
    downscale_delay_s: float = 60.0

    def __post_init__(self) -> None:
        if not 0 <= self.min_replicas <= self.max_replicas or self.max_replicas < 1:
            raise ValueError(
                "`0 <= min_replicas <= max_replicas` and `max_replicas >= 1` must hold, but "
                f"got (min_replicas={self.min_replicas}, max_replicas={self.max_replicas})."
            )
        if not 0 < self.target_ongoing_requests <= self.max_ongoing_requests:
            raise ValueError(
                "`0 < target_ongoing_requests <= max_ongoing_requests` must hold, but got "
                f"(target_ongoing_requests={self.target_ongoing_requests}, "
                f"max_ongoing_requests={self.max_ongoing_requests})."
            )
        if self.upscale_delay_s < 0 or self.downscale_delay_s < 0:
            raise ValueError(
                "`upscale_delay_s` and `downscale_delay_s` must be zero or more, but got "
                f"{self.upscale_delay_s} and {self.downscale_delay_s}."
            )

    def autoscaling_config(self) -> dict[str, Any]:
        """The ``autoscaling_config`` of a Ray Serve deployment."""
        return {
            "min_replicas": self.min_replicas,
            "max_replicas": self.max_replicas,
            "target_ongoing_requests": self.target_ongoing_requests,
            "upscale_delay_s": self.upscale_delay_s,
            "downscale_delay_s": self.downscale_delay_s,
        }


class _Replica:
    """One Ray Serve replica: rebuilds the settings and, in it, its own app.

    Ray calls ``__serve_build_asgi_app__`` after ``__init__`` in the replica's process, then
    runs the app's lifespan startup before routing requests to it.
    """

    def __init__(self, settings_json: str) -> None:
        self.settings = ServeSettings.from_json(settings_json)

    def __serve_build_asgi_app__(self) -> FastAPI:
        from furima.serve._app import create_app

        return create_app(self.settings)


def serve_on_ray(
    settings: ServeSettings,
    *,
    scaling: RayScaling = RayScaling(),
    host: str = "127.0.0.1",
    port: int = 8000,
    name: str = "furima",
    address: str | None = None,
    num_cpus: int | None = None,
    object_store_bytes: int | None = None,
    replica_cpus: float = 1.0,
) -> str:
    """Serve ``create_app(settings)`` on Ray Serve, autoscaled; return the base URL.

    Uses the Ray this process already initialized, else connects to ``address``, else starts
    a local instance (without the dashboard; ``num_cpus`` and ``object_store_bytes`` size
    it). Returns once the replicas are up; ``/readyz`` says 200 when their models are loaded.

    Args:
        settings: What each replica serves (the registry must be reachable from every node).
        scaling: Replica bounds and the queue depth the autoscaler aims for.
        host: Where Ray's HTTP proxy listens.
        port: The proxy's port.
        name: The Serve application's name.
        address: A running Ray cluster (``"auto"``, ``"ray://..."``); ``None``: start one.
        num_cpus: CPUs of a locally started instance (default: all).
        object_store_bytes: Object store of a locally started instance (default: Ray's).
        replica_cpus: CPUs reserved per replica, which bounds how many replicas fit.
    """
    from ray import serve

    _start_ray(address, num_cpus, object_store_bytes)
    serve.start(http_options={"host": host, "port": port})
    deployment = serve.deployment(
        name=DEPLOYMENT,
        autoscaling_config=scaling.autoscaling_config(),
        max_ongoing_requests=scaling.max_ongoing_requests,
        ray_actor_options={"num_cpus": replica_cpus},
    )(serve.ingress()(_Replica))
    serve.run(deployment.bind(settings.to_json()), name=name, route_prefix="/")
    return f"http://{host}:{port}"


def _start_ray(address: str | None, num_cpus: int | None, object_store_bytes: int | None) -> None:
    import ray

    if ray.is_initialized():
        return
    if address is not None:
        if num_cpus is not None or object_store_bytes is not None:
            raise ValueError(
                "`num_cpus` and `object_store_bytes` size a Ray instance started here, but "
                f"got them with address={address!r}; size the cluster where it is started."
            )
        ray.init(address=address)
        return
    ray.init(num_cpus=num_cpus, object_store_memory=object_store_bytes, include_dashboard=False)


def shutdown_ray() -> None:
    """Stop Ray Serve (each replica drains its queues) and disconnect from Ray."""
    import ray
    from ray import serve

    if not ray.is_initialized():
        return
    serve.shutdown()
    ray.shutdown()
