"""``furima models list | log | promote | rollback | traffic``: the model registry."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from furima.cli._errors import reported_errors

if TYPE_CHECKING:
    from furima.registry import TrafficPolicy

__all__ = ["ArtifactRootOption", "FitRegistryOption", "RegistryOption", "log_fit", "models_app"]

models_app = typer.Typer(help="The model registry: versions, champions, rollbacks, traffic.")

RegistryOption = Annotated[
    str,
    typer.Option(
        "--registry",
        envvar="FURIMA_REGISTRY",
        help="Registry folder (embedded SQLite) or database URL.",
    ),
]
ArtifactRootOption = Annotated[
    str | None,
    typer.Option(
        "--artifact-root",
        envvar="FURIMA_ARTIFACT_ROOT",
        help="Artifact folder or object-store URL (with a database URL).",
    ),
]
FitRegistryOption = Annotated[
    str | None,
    typer.Option(
        "--registry",
        help="Also log the fit to this registry (folder or database URL); a task's first "
        "version becomes its champion.",
    ),
]
DEFAULT_REGISTRY = "furima-registry"


def log_fit(model: object, registry: str, task: str | None = None) -> dict[str, object]:
    """Register a fitted model (as ``task``, default: from its format); the task's first
    version becomes its champion. With a database URL the artifact root comes from
    ``FURIMA_ARTIFACT_ROOT``."""
    import os

    from furima.registry import ModelRegistry

    target = ModelRegistry(registry, artifact_root=os.environ.get("FURIMA_ARTIFACT_ROOT"))
    version = target.log_model(model, task=task)
    if not any(v.aliases for v in target.versions(version.task)):
        version = target.promote(version.task, version.version)
    return {"task": version.task, "version": version.version, "aliases": list(version.aliases)}


@models_app.command("list")
def list_models(
    task: Annotated[str | None, typer.Argument(help="One task (default: all).")] = None,
    registry: RegistryOption = DEFAULT_REGISTRY,
    artifact_root: ArtifactRootOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines.")] = False,
) -> None:
    """Registered versions, newest first, with aliases and validation metrics."""
    from furima.registry import ModelRegistry

    with reported_errors():
        target = ModelRegistry(registry, artifact_root=artifact_root)
        tasks = [task] if task else target.tasks()
        rows = [(name, target.versions(name), target.traffic(name)) for name in tasks]
    if as_json:
        for _, versions, policy in rows:
            for version in versions:
                print(json.dumps({**version.to_dict(), "traffic": json.loads(policy.to_json())}))
        return
    if not rows:
        print(f"No models in {target.location.display()} yet.")
        return
    table = Table("task", "version", "aliases", "created", "metrics", "data")
    for name, versions, policy in rows:
        for version in versions:
            metrics = ", ".join(f"{k} {v:.4g}" for k, v in sorted(version.metrics.items())[:3])
            aliases = ", ".join(version.aliases)
            if "challenger" in version.aliases:
                aliases += _split(policy)
            fingerprint = (version.data_fingerprint or "")[:12]
            table.add_row(
                name, str(version.version), aliases, version.created_at, metrics, fingerprint
            )
    Console().print(table)


def _split(policy: TrafficPolicy) -> str:
    parts = [f"{policy.canary_percent:g}% canary"] if policy.canary_percent else []
    parts += ["shadow"] if policy.shadow else []
    return f" ({', '.join(parts)})" if parts else ""


@models_app.command("log")
def log(
    folder: Annotated[Path, typer.Argument(help="A folder saved by a furima model's save().")],
    task: Annotated[str | None, typer.Option(help="Task name (default: from the folder).")] = None,
    alias: Annotated[str | None, typer.Option(help="Point this alias at it.")] = None,
    registry: RegistryOption = DEFAULT_REGISTRY,
    artifact_root: ArtifactRootOption = None,
) -> None:
    """Register a saved model folder as the task's next version."""
    from furima.registry import ModelRegistry

    with reported_errors():
        target = ModelRegistry(registry, artifact_root=artifact_root)
        version = target.log_model(folder, task=task, alias=alias)
    print(json.dumps(version.to_dict()))


@models_app.command("promote")
def promote(
    task: Annotated[str, typer.Argument(help="Task, e.g. price.")],
    version: Annotated[int, typer.Argument(help="Version number.")],
    alias: Annotated[str, typer.Option(help="champion or challenger.")] = "champion",
    registry: RegistryOption = DEFAULT_REGISTRY,
    artifact_root: ArtifactRootOption = None,
) -> None:
    """Point an alias at a version; servers swap it in on their next poll."""
    from furima.registry import ModelRegistry

    with reported_errors():
        found = ModelRegistry(registry, artifact_root=artifact_root).promote(
            task, version, alias=alias
        )
    print(json.dumps({"task": task, "version": found.version, "aliases": list(found.aliases)}))


@models_app.command("rollback")
def rollback(
    task: Annotated[str, typer.Argument(help="Task, e.g. price.")],
    registry: RegistryOption = DEFAULT_REGISTRY,
    artifact_root: ArtifactRootOption = None,
) -> None:
    """Make the previous champion the champion again."""
    from furima.registry import ModelRegistry

    with reported_errors():
        found = ModelRegistry(registry, artifact_root=artifact_root).rollback(task)
    print(json.dumps({"task": task, "version": found.version, "aliases": list(found.aliases)}))


@models_app.command("traffic")
def traffic(
    task: Annotated[str, typer.Argument(help="Task, e.g. price.")],
    canary: Annotated[
        float, typer.Option(min=0, max=100, help="Percent of requests for the challenger.")
    ] = 0.0,
    shadow: Annotated[bool, typer.Option(help="Score the challenger in shadow too.")] = False,
    sticky: Annotated[
        str, typer.Option(help="Route by 'user' (X-User-Id), 'listing', or 'none'.")
    ] = "none",
    registry: RegistryOption = DEFAULT_REGISTRY,
    artifact_root: ArtifactRootOption = None,
) -> None:
    """Set how a task's requests are split between champion and challenger."""
    from furima.registry import ModelRegistry, TrafficPolicy

    with reported_errors():
        if sticky not in ("user", "listing", "none"):
            raise ValueError(f"--sticky must be user, listing or none, not {sticky!r}.")
        policy = TrafficPolicy(
            canary_percent=canary,
            shadow=shadow,
            sticky=None if sticky == "none" else sticky,  # type: ignore[arg-type]
        )
        ModelRegistry(registry, artifact_root=artifact_root).set_traffic(task, policy)
    print(json.dumps({"task": task, **json.loads(policy.to_json())}))
