"""After the search: choose the final model (a greedy ensemble of the best trials, or the
best trial alone), refit the chosen trials on training and validation rows within what is
left of the budget, say why, and assemble the ``AutoMLResult``."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from furima.automl._ensemble import PER_FAMILY, candidate_positions, greedy_ensemble
from furima.automl._families import FAMILIES, FitData
from furima.automl._features import Featurizer
from furima.automl._metrics import Metric, TaskKind
from furima.automl._objective import Objective, Prepared, saved_model
from furima.automl._result import AutoMLResult, Member
from furima.automl._trials import feature_options, leaderboard, ranked, trial_score
from furima.exceptions import DataError

__all__ = ["Finisher", "why"]


@dataclass(frozen=True)
class Finisher:
    """Ends an ``AutoML`` run (its settings of the same names; ``outputs`` is where trials'
    validation outputs and models are kept, if anywhere)."""

    task: TaskKind
    metric: Metric
    budget_s: float
    ensemble_size: int
    seed: int
    pruner: str
    group_column: str | None
    outputs: Path | None

    def result(
        self,
        study: Any,
        objective: Objective,
        data: Prepared,
        columns: list[str],
        classes: np.ndarray | None,
        started: float,
    ) -> AutoMLResult:
        complete = ranked(study, self.metric)
        if not complete:
            failed = [t for t in study.trials if t.state.name == "FAIL"]
            reason = f" ({len(failed)} failed)" if failed else ""
            raise DataError(
                f"No model finished within the budget of {self.budget_s:g} s{reason}; give a "
                "larger budget or fewer rows."
            )
        chosen_trials, ensemble_score = self.ensemble(complete, objective, data)
        members = self.members(chosen_trials, complete, objective, data, started)
        if {m.trial for m in members} != {t.number for t, _ in chosen_trials}:  # see members
            ensemble_score = self.rescored(members, objective, data, ensemble_score)
        stated = why(
            self.metric.name,
            self.ensemble_size,
            chosen_trials,
            complete[0],
            members,
            ensemble_score,
            len(data.y_valid),
        )
        best_single = trial_score(complete[0])
        chosen = self.chosen(study, members, ensemble_score, best_single, stated, started, data)
        return AutoMLResult(
            task=self.task,
            metric=self.metric,
            members=members,
            leaderboard=leaderboard(complete),
            chosen=chosen,
            study=study,
            columns=columns,
            classes=classes,
            trials=len(complete),
            examples=_examples(data.X_valid),
            data_fingerprint=_fingerprint(data),
            group_column=self.group_column,
        )

    def ensemble(
        self, complete: list[Any], objective: Objective, data: Prepared
    ) -> tuple[list[tuple[Any, float]], float]:
        """Greedy selection over the best trials and each family's best, among those whose
        validation outputs are at hand (this run's, or kept in ``workdir``); the best trial
        alone when it beats them all."""
        usable = [(t, self.output(objective, t.number)) for t in complete]
        at_hand = [(t, o) for t, o in usable if o is not None]
        families = [t.user_attrs["family"] for t, _ in at_hand]
        found = [at_hand[i] for i in candidate_positions(families, self.ensemble_size)]
        if not found:
            return [(complete[0], 1.0)], trial_score(complete[0])
        weights, score = greedy_ensemble([o for _, o in found], data.y_valid, data.metric)
        if self.metric.better(trial_score(complete[0]), score):
            return [(complete[0], 1.0)], trial_score(complete[0])
        return [(t, float(w)) for (t, _), w in zip(found, weights, strict=True) if w > 0], score

    def output(self, objective: Objective, number: int) -> np.ndarray | None:
        if number in objective.models:
            return objective.models[number].valid_output
        folder = self.outputs
        if folder is not None and (folder / f"{number}.npy").is_file():
            return np.asarray(np.load(folder / f"{number}.npy"))
        return None

    def members(
        self,
        chosen: list[tuple[Any, float]],
        complete: list[Any],
        objective: Objective,
        data: Prepared,
        started: float,
    ) -> list[Member]:
        """The chosen trials as final models, within what is left of the budget; a trial of
        another process that cannot be refit in time is left out (weights renormalised)."""
        members = []
        for trial, weight in chosen:
            left = self.budget_s - (time.monotonic() - started)
            member = self.member(trial, weight, objective, data, left)
            if member is not None:
                members.append(member)
        if not members:  # nothing fits the time left: this process's best, or refit the best
            trial = next((t for t in complete if t.number in objective.models), complete[0])
            left = 0.0 if trial.number in objective.models else float("inf")
            member = self.member(trial, 1.0, objective, data, left)
            assert member is not None
            members = [member]
        total = sum(m.weight for m in members)
        for member in members:
            member.weight /= total
        return members

    def rescored(
        self, members: list[Member], objective: Objective, data: Prepared, fallback: float
    ) -> float:
        blended: np.ndarray | None = None
        for member in members:
            output = self.output(objective, member.trial)
            if output is None:
                return fallback
            part = member.weight * output
            blended = part if blended is None else blended + part
        return fallback if blended is None else data.metric.score(data.y_valid, blended)

    def member(
        self, trial: Any, weight: float, objective: Objective, data: Prepared, left_s: float
    ) -> Member | None:
        """Refit on training and validation rows when time allows, else keep the trial's
        model (trained on the training rows); ``None`` when neither is possible."""
        params = dict(trial.user_attrs.get("model_params") or {})
        family = trial.user_attrs["family"]
        fit_s = float(trial.user_attrs.get("fit_s", 0.0))
        kept = objective.models.get(trial.number) or saved_model(self.outputs, trial.number)
        seen = max(objective.feature_seconds.values(), default=0.0)
        features_s = objective.feature_seconds.get(kept.options, seen) if kept else seen
        if (fit_s + features_s) * 1.3 + 1 > left_s:
            if kept is None:
                return None
            return Member(trial.number, family, float(weight), params, kept.featurizer, kept.model)
        options = kept.options if kept is not None else feature_options(trial)
        X_all = pd.concat([data.X_train, data.X_valid], ignore_index=True)
        y_all = np.concatenate([data.y_train, data.y_valid])
        groups = None
        if data.groups_train is not None and data.groups_valid is not None:
            groups = np.concatenate([data.groups_train, data.groups_valid])
            order = np.argsort(groups, kind="stable")  # each query's rows together again
            X_all, y_all, groups = (
                X_all.iloc[order].reset_index(drop=True),
                y_all[order],
                groups[order],
            )
        featurizer = Featurizer(data.kinds, options)
        features = featurizer.fit_transform(X_all)
        scale = len(X_all) / max(len(data.X_train), 1)
        if "rounds" in params:
            params["rounds"] = max(1, round(params["rounds"] * scale))
        refit = FitData(
            self.task,
            self.metric,
            features,
            y_all,
            None,
            data.y_valid,
            data.n_classes,
            self.seed,
            data.threads,
            groups_train=groups,
        )
        model = FAMILIES[family].fit(params, refit)
        return Member(trial.number, family, float(weight), params, featurizer, model, refit=True)

    def chosen(
        self,
        study: Any,
        members: list[Member],
        ensemble_score: float,
        best_single: float,
        why: str,
        started: float,
        data: Prepared,
    ) -> dict[str, Any]:
        states = [t.state.name for t in study.trials]
        name = self.metric.name
        return {
            "task": self.task,
            "metric": name,
            "direction": self.metric.direction,
            "members": [
                {
                    "trial": m.trial,
                    "family": m.family,
                    "weight": round(m.weight, 4),
                    "refit": m.refit,
                }
                for m in members
            ],
            "ensemble_score": ensemble_score,
            "best_single_score": best_single,
            "why": why,
            "budget_s": self.budget_s,
            "elapsed_s": round(time.monotonic() - started, 1),
            "trials": len(states),
            "pruned": states.count("PRUNED"),
            "repeats": sum("repeat_of" in t.user_attrs for t in study.trials),
            "failed": states.count("FAIL"),
            "sampler": type(study.sampler).__name__,
            "pruner": self.pruner,
            "rows": len(data.y_train) + len(data.y_valid),
        }


def why(
    metric: str,
    ensemble_size: int,
    chosen: list[tuple[Any, float]],
    best: Any,
    members: list[Member],
    score: float,
    rows: int,
) -> str:
    """Why the final model (validation ``score`` on ``rows`` rows) is what it is, naming chosen
    trials that had to be left out."""
    best_value = trial_score(best)
    best_score = f"{metric} {best_value:.5g}"
    if len(members) > 1:
        why = (
            f"Greedy ensemble selection over the {ensemble_size} best trials and each "
            f"family's best {PER_FAMILY} improved {metric} "
            f"from {best_value:.5g} (best single trial) to {score:.5g} on the {rows:,} "
            f"validation rows, with {len(members)} models."
        )
    elif members[0].trial == best.number:
        why = (
            f"The best trial ({members[0].family}, {best_score} on the {rows:,} validation "
            "rows) alone: no ensemble of the best trials scored better."
        )
    else:
        why = (
            f"Trial {members[0].trial} ({members[0].family}, {metric} {score:.5g} on the "
            f"{rows:,} validation rows) alone, in place of the best trial {best.number} "
            f"({best.user_attrs.get('family')}, {best_score})."
        )
    kept = {m.trial for m in members}
    left_out = [t for t, _ in chosen if t.number not in kept]
    if left_out:
        named = ", ".join(f"{t.number} ({t.user_attrs.get('family')})" for t in left_out)
        why += (
            f" Chosen but left out: trial {named}, trained in another process and too slow to "
            "refit in the time left."
        )
    return why


def _examples(X: pd.DataFrame, count: int = 3) -> list[dict[str, Any]]:
    """A few raw rows as JSON values (missing as null): smoke requests for servers."""
    import json

    rows: list[dict[str, Any]] = json.loads(X.head(count).to_json(orient="records"))
    return rows


def _fingerprint(data: Prepared) -> str:
    from furima.catalog import fingerprint

    X = pd.concat([data.X_train, data.X_valid], ignore_index=True)
    target = pd.Series(np.concatenate([data.y_train, data.y_valid]), name="__target__")
    return fingerprint(pd.concat([X, target], axis=1))
