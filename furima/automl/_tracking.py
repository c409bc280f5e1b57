"""Every trial recorded as an MLflow run, in the experiment ``furima-automl/<study>``."""

from __future__ import annotations

import json
import time
from typing import Any

__all__ = ["TrialTracker"]


class TrialTracker:
    """An Optuna callback logging each finished trial (params, score, fit time, latency)."""

    def __init__(self, tracking_uri: str, study_name: str) -> None:
        self.tracking_uri = tracking_uri
        self.experiment_name = f"furima-automl/{study_name}"
        self._client: Any = None
        self._experiment: str | None = None

    def _ready(self) -> tuple[Any, str]:
        if self._client is None:
            from mlflow import MlflowClient

            from furima.registry._registry import _quiet_mlflow

            self._client = MlflowClient(tracking_uri=self.tracking_uri)
            _quiet_mlflow()
            found = self._client.get_experiment_by_name(self.experiment_name)
            self._experiment = (
                found.experiment_id
                if found is not None
                else self._client.create_experiment(self.experiment_name)
            )
        assert self._experiment is not None
        return self._client, self._experiment

    def __call__(self, study: Any, trial: Any) -> None:
        from mlflow.entities import Metric, Param

        client, experiment = self._ready()
        attrs = trial.user_attrs
        run = client.create_run(
            experiment,
            run_name=f"trial-{trial.number}",
            tags={
                "furima.study": study.study_name,
                "furima.trial": str(trial.number),
                "furima.family": str(attrs.get("family", trial.params.get("family", ""))),
                "furima.state": trial.state.name,
            },
        )
        now = int(time.time() * 1000)
        params = [
            Param(k, json.dumps(v) if not isinstance(v, str) else v)
            for k, v in trial.params.items()
        ]
        metrics = [
            Metric(k, float(attrs[k]), now, 0) for k in ("fit_s", "predict_ms") if k in attrs
        ]
        for i, value in enumerate(trial.values or []):
            metrics.append(Metric("score" if i == 0 else "latency_ms", float(value), now, 0))
        client.log_batch(run.info.run_id, metrics=metrics, params=params)
        status = {"COMPLETE": "FINISHED", "PRUNED": "KILLED"}.get(trial.state.name, "FAILED")
        client.set_terminated(run.info.run_id, status=status)
