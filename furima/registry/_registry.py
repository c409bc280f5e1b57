"""``ModelRegistry``: furima's models on MLflow, with versions, aliases and traffic policies.

Each task (``price``, ``listing``, ``similar``, ...) is an MLflow registered model of that
name. Logging a model records an MLflow run in the experiment ``furima/<task>`` with the
model's parameters, validation metrics, data fingerprint and its saved folder as artifacts,
then registers the folder as the next version. Aliases name what serves: ``champion`` answers
requests, ``challenger`` takes canary or shadow traffic. Promotions keep a history so
``rollback`` restores the previous champion.

MLflow is imported here only; servers read what a version points at through
:meth:`ModelRegistry.deployment` from a background thread and load the artifacts with furima's
own loaders, so no request ever waits on MLflow.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

import furima
from furima.exceptions import ModelFormatError, RegistryError, UnknownModelError
from furima.registry._location import RegistryLocation
from furima.registry._mlflow_records import log_batch, log_tree, mlflow_metrics, mlflow_params
from furima.registry._saved_models import FORMAT_TASKS, manifest_of, saved_folder, task_of
from furima.registry._traffic import TrafficPolicy
from furima.registry._versions import ModelVersion, TaskDeployment, VersionRef

if TYPE_CHECKING:
    from mlflow import MlflowClient

__all__ = [
    "CHALLENGER",
    "CHAMPION",
    "FORMAT_TASKS",
    "ModelRegistry",
    "ModelVersion",
    "TaskDeployment",
    "VersionRef",
]

CHAMPION = "champion"
CHALLENGER = "challenger"
_HISTORY_TAG = "furima.champion_history"
_TRAFFIC_TAG = "furima.traffic"
_TASK_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_ALIAS_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")

logger = logging.getLogger("furima.registry")


class ModelRegistry:
    """furima's model registry on MLflow.

    Args:
        where: A folder (embedded SQLite database and artifact folder, the default) or a
            database URL such as ``postgresql://furima@db.internal/registry``.
        artifact_root: Where artifacts go with a database URL: a folder or an object-store URL.
        cache: Where artifacts of remote artifact roots are downloaded for loading.

    Example::

        registry = ModelRegistry("furima-registry")
        version = registry.log_model(price_model, alias="champion")
        registry.promote("price", 2)          # version 2 becomes champion
        registry.rollback("price")            # version 1 again
    """

    def __init__(
        self,
        where: str | Path | RegistryLocation = "furima-registry",
        *,
        artifact_root: str | Path | None = None,
        cache: str | Path | None = None,
    ) -> None:
        self.location = (
            where
            if isinstance(where, RegistryLocation)
            else RegistryLocation.parse(where, artifact_root)
        )
        self._cache = Path(cache) if cache else Path.home() / ".cache" / "furima" / "registry"
        self._client_: MlflowClient | None = None

    @classmethod
    def from_env(cls, default: str | Path = "furima-registry") -> ModelRegistry:
        """From ``FURIMA_REGISTRY`` / ``FURIMA_ARTIFACT_ROOT``, else the ``default`` folder."""
        return cls(RegistryLocation.from_env(default))

    def __repr__(self) -> str:
        return f"ModelRegistry({self.location.display()!r})"

    # ------------------------------------------------------------------ logging
    def log_model(
        self,
        model: Any,
        *,
        task: str | None = None,
        params: Mapping[str, Any] | None = None,
        metrics: Mapping[str, float] | None = None,
        alias: str | None = None,
        description: str | None = None,
    ) -> ModelVersion:
        """Record a fit as an MLflow run and register its saved folder as a new version.

        Args:
            model: A fitted furima model (anything with ``save(path)``) or a folder it saved.
            task: The registered model's name; by default from the folder's manifest format
                (``price``, ``listing`` or ``similar``).
            params: Extra parameters to log beside those in the manifest.
            metrics: Extra metrics to log beside the manifest's validation metrics.
            alias: Point this alias (``champion``, ``challenger``) at the new version.
            description: Free text stored with the version.
        """
        with saved_folder(model) as folder:
            manifest = manifest_of(folder)
            task = _task_name(task or task_of(manifest, folder))
            run_params = mlflow_params(manifest.get("params") or {}, params or {})
            run_metrics = mlflow_metrics(manifest.get("metrics") or {}, metrics or {})
            fingerprint = manifest.get("data_fingerprint")
            tags = {
                "furima.task": task,
                "furima.format": str(manifest.get("format", "")),
                "furima.version": furima.__version__,
                "furima.data_fingerprint": str(fingerprint or ""),
            }
            with self._calls(f"log a {task} model"):
                self._check_format(task, tags["furima.format"])
                version = self._register(task, folder, run_params, run_metrics, tags, description)
        if alias is not None:
            return self.promote(task, version, alias=alias)
        return self.version(task, version)

    def _register(
        self,
        task: str,
        folder: Path,
        params: dict[str, str],
        metrics: dict[str, float],
        tags: dict[str, str],
        description: str | None,
    ) -> int:
        client = self._client()
        run = client.create_run(self._experiment(task), tags=tags, run_name=f"{task}-fit")
        run_id = run.info.run_id
        try:
            log_batch(client, run_id, params, metrics)
            log_tree(client, run_id, folder, "model")
        except BaseException:
            client.set_terminated(run_id, status="FAILED")
            raise
        client.set_terminated(run_id)
        self._ensure_registered(task, tags["furima.format"])
        created = client.create_model_version(
            task,
            f"{run.info.artifact_uri}/model",
            run_id=run_id,
            tags=tags,
            description=description,
        )
        logger.info("registered %s version %s (run %s)", task, created.version, run_id)
        return int(created.version)

    def _experiment(self, task: str) -> str:
        client = self._client()
        name = f"furima/{task}"
        experiment = client.get_experiment_by_name(name)
        if experiment is not None:
            return str(experiment.experiment_id)
        location = f"{self.location.artifact_root}/{task}"
        return str(client.create_experiment(name, artifact_location=location))

    def _check_format(self, task: str, form: str) -> None:
        """One task, one kind of model: a server loads every version of it the same way."""
        expected = {known for known, name in FORMAT_TASKS.items() if name == task}
        if not expected:
            try:
                tagged = self._registered(task).tags.get("furima.format")
            except UnknownModelError:
                return
            expected = {tagged} if tagged else set()
        if expected and form not in expected:
            raise ValueError(
                f"{task!r} holds {' or '.join(sorted(expected))} models, and this is a "
                f"{form or 'unknown'} model; register it under another name."
            )

    def _ensure_registered(self, task: str, form: str) -> None:
        """Create the registered model, tagged with its saved format (how servers serve it)."""
        from mlflow.exceptions import MlflowException

        client = self._client()
        try:
            registered = client.get_registered_model(task)
        except MlflowException:
            client.create_registered_model(task, tags={"furima.task": task, "furima.format": form})
            return
        if registered.tags.get("furima.format") != form:
            client.set_registered_model_tag(task, "furima.format", form)

    # ------------------------------------------------------------------ reading
    def tasks(self) -> list[str]:
        """Names of the registered tasks, sorted."""
        return sorted(self.formats())

    def formats(self) -> dict[str, str | None]:
        """Each registered task's saved format (``furima.price_model``, ...), ``None`` when
        unknown (a model registered by another tool)."""
        with self._calls("list registered models"):
            models = self._client().search_registered_models()
        return {m.name: m.tags.get("furima.format") or None for m in models}

    def versions(self, task: str) -> list[ModelVersion]:
        """Every version of ``task``, newest first."""
        with self._calls(f"list the versions of {task!r}"):
            aliases: dict[int, list[str]] = {}
            for alias, number in self._registered(task).aliases.items():
                aliases.setdefault(int(number), []).append(alias)
            found = self._client().search_model_versions(f"name = '{_task_name(task)}'")
            described = (self._describe(v, aliases.get(int(v.version), [])) for v in found)
            return sorted(described, key=lambda v: v.version, reverse=True)

    def version(self, task: str, version: int | str) -> ModelVersion:
        """One version by number, or by alias (``"champion"``)."""
        with self._calls(f"read {task} version {version}"):
            return self._describe(self._model_version(task, version))

    def traffic(self, task: str) -> TrafficPolicy:
        """The traffic policy servers apply to ``task``."""
        with self._calls(f"read the traffic policy of {task!r}"):
            return TrafficPolicy.from_json(self._registered(task).tags.get(_TRAFFIC_TAG))

    def deployment(self, task: str) -> TaskDeployment:
        """What should serve ``task`` now, with local folders to load (downloaded if remote)."""
        with self._calls(f"read what serves {task!r}"):
            registered = self._registered(task)
            aliases = dict(registered.aliases)
            refs = {
                alias: self._ref(task, int(aliases[alias]))
                for alias in (CHAMPION, CHALLENGER)
                if alias in aliases
            }
            return TaskDeployment(
                task=task,
                champion=refs.get(CHAMPION),
                challenger=refs.get(CHALLENGER),
                traffic=TrafficPolicy.from_json(registered.tags.get(_TRAFFIC_TAG)),
            )

    # ------------------------------------------------------------------ changing
    def promote(self, task: str, version: int | str, *, alias: str = CHAMPION) -> ModelVersion:
        """Point ``alias`` at ``version``; a new champion remembers the one it replaces."""
        alias = _alias_name(alias)
        with self._calls(f"promote {task} version {version} to {alias}"):
            target = self._model_version(task, version)
            number = int(target.version)
            registered = self._registered(task)
            current = registered.aliases.get(alias)
            client = self._client()
            if alias == CHAMPION and current is not None and int(current) != number:
                history = [*_history(registered.tags), int(current)]
                client.set_registered_model_tag(task, _HISTORY_TAG, json.dumps(history[-50:]))
            client.set_registered_model_alias(task, alias, str(number))
            challenger = registered.aliases.get(CHALLENGER)
            if alias == CHAMPION and challenger is not None and int(challenger) == number:
                client.delete_registered_model_alias(task, CHALLENGER)
            logger.info("%s version %s is now %s", task, number, alias)
            return self._describe(client.get_model_version(task, str(number)))

    def rollback(self, task: str) -> ModelVersion:
        """Make the previous champion the champion again."""
        with self._calls(f"roll back {task!r}"):
            registered = self._registered(task)
            history = _history(registered.tags)
            if not history:
                raise RegistryError(
                    f"{task!r} has no earlier champion to roll back to; promote a version "
                    f"instead (furima models promote {task} VERSION)."
                )
            previous = history.pop()
            client = self._client()
            client.set_registered_model_alias(task, CHAMPION, str(previous))
            client.set_registered_model_tag(task, _HISTORY_TAG, json.dumps(history))
            logger.info("%s rolled back to version %s", task, previous)
            return self._describe(client.get_model_version(task, str(previous)))

    def set_traffic(self, task: str, policy: TrafficPolicy) -> TrafficPolicy:
        """Store the traffic split servers apply to ``task`` (picked up on their next poll)."""
        with self._calls(f"set the traffic policy of {task!r}"):
            registered = self._registered(task)
            wants_challenger = policy.canary_percent > 0 or policy.shadow
            if wants_challenger and CHALLENGER not in registered.aliases:
                raise RegistryError(
                    f"{task!r} has no challenger to send traffic to; promote one first "
                    f"(furima models promote {task} VERSION --alias challenger)."
                )
            self._client().set_registered_model_tag(task, _TRAFFIC_TAG, policy.to_json())
            return policy

    # ------------------------------------------------------------------ internals
    def _client(self) -> MlflowClient:
        if self._client_ is None:
            folder = self.location.local_folder
            if folder is not None:
                folder.mkdir(parents=True, exist_ok=True)
            from mlflow import MlflowClient

            _quiet_mlflow()

            uri = self.location.tracking_uri
            if folder is None:
                check_reachable(uri)
            self._client_ = MlflowClient(tracking_uri=uri, registry_uri=uri)
        return self._client_

    @contextmanager
    def _calls(self, doing: str) -> Iterator[None]:
        """Turn MLflow and database failures into RegistryError / UnknownModelError."""
        try:
            yield
        except (RegistryError, ModelFormatError, ValueError):
            raise
        except Exception as error:
            code = getattr(error, "error_code", "")
            if code == "RESOURCE_DOES_NOT_EXIST":
                raise UnknownModelError(f"Could not {doing}: {_first_line(error)}") from None
            raise RegistryError(
                f"Could not {doing}: the model registry at {self.location.display()} "
                f"is unreachable or refused ({type(error).__name__}: {_first_line(error)})."
            ) from error

    def _registered(self, task: str) -> Any:
        from mlflow.exceptions import MlflowException

        try:
            return self._client().get_registered_model(_task_name(task))
        except MlflowException as error:
            if getattr(error, "error_code", "") != "RESOURCE_DOES_NOT_EXIST":
                raise
            known = ", ".join(sorted(m.name for m in self._client().search_registered_models()))
            raise UnknownModelError(
                f"No model is registered for task {task!r}; registered tasks: "
                f"{known or 'none yet'}. Log one with ModelRegistry.log_model or "
                f"`furima price fit ... --registry`."
            ) from None

    def _model_version(self, task: str, version: int | str) -> Any:
        from mlflow.exceptions import MlflowException

        registered = self._registered(task)
        client = self._client()
        try:
            if isinstance(version, int) or str(version).isdigit():
                return client.get_model_version(task, str(int(version)))
            return client.get_model_version_by_alias(task, _alias_name(str(version)))
        except MlflowException:  # the model exists, so the version or alias does not
            aliases = ", ".join(f"{a}={v}" for a, v in sorted(registered.aliases.items()))
            raise UnknownModelError(
                f"{task!r} has no version {version!r}; aliases: {aliases or 'none'}. "
                f"See them all with `furima models list`."
            ) from None

    def _describe(self, found: Any, aliases: list[str] | None = None) -> ModelVersion:
        """A version as furima reports it (search results carry no aliases: pass them)."""
        metrics: dict[str, float] = {}
        if found.run_id:
            metrics = dict(self._client().get_run(found.run_id).data.metrics)
        tags = dict(found.tags or {})
        return ModelVersion(
            task=found.name,
            version=int(found.version),
            aliases=tuple(sorted(found.aliases or aliases or ())),
            source=found.source,
            run_id=found.run_id or None,
            created_at=time.strftime(
                "%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(found.creation_timestamp) / 1000)
            ),
            format=tags.get("furima.format") or None,
            data_fingerprint=tags.get("furima.data_fingerprint") or None,
            metrics=metrics,
        )

    def _ref(self, task: str, version: int) -> VersionRef:
        found = self._client().get_model_version(task, str(version))
        return VersionRef(task=task, version=version, path=self._local(found.source, task, version))

    def _local(self, source: str, task: str, version: int) -> Path:
        """A local folder with the artifacts at ``source``, downloaded once when remote."""
        parsed = urlparse(source)
        if parsed.scheme == "file":
            return Path(unquote(parsed.path))
        target = self._cache / _safe(self.location.tracking_uri) / task / str(version)
        if not target.exists():
            import mlflow.artifacts

            target.parent.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=f".{version}-", dir=target.parent))
            try:
                mlflow.artifacts.download_artifacts(artifact_uri=source, dst_path=str(staging))
                downloaded = staging / Path(parsed.path).name
                downloaded.rename(target)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
        return target


def _task_name(task: str) -> str:
    if not _TASK_NAME.match(task):
        raise ValueError(
            f"Task names are lowercase letters, digits, '-' and '_', starting with a letter "
            f"(like 'price'); got {task!r}."
        )
    return task


def _alias_name(alias: str) -> str:
    if not _ALIAS_NAME.match(alias) or alias.isdigit():
        raise ValueError(f"Aliases look like 'champion' or 'challenger'; got {alias!r}.")
    return alias


def _history(tags: Mapping[str, str]) -> list[int]:
    return [int(v) for v in json.loads(tags.get(_HISTORY_TAG) or "[]")]


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0][:300] if text else type(error).__name__


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)[:120]


def check_reachable(uri: str, timeout_s: int = 5) -> None:
    """Fail in seconds on a database that does not answer (MLflow would retry for minutes)."""
    import sqlalchemy

    connect_args = {"connect_timeout": timeout_s} if uri.startswith("postgresql") else {}
    engine = sqlalchemy.create_engine(uri, connect_args=connect_args)
    try:
        with engine.connect():
            pass
    finally:
        engine.dispose()


def _quiet_mlflow() -> None:
    """MLflow and alembic announce database setup at INFO on every new database."""
    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)
