"""Pruners that compare like with like: a trial only against trials of its own model family.

A learning curve's step means something different in each family (25 boosting rounds, 25 more
trees, one epoch), so Optuna's pruners, which compare every trial at the same step, would judge
an MLP's epoch 6 against LightGBM's 150th round. Here each family is pruned on its own:

- :class:`FamilyHyperband`: Hyperband (Li et al., 2018): successive halving in several brackets,
  from aggressive (first judged at ``min_resource`` steps) to patient (first judged at
  ``min_resource * reduction_factor ** (brackets - 1)``), a trial's bracket fixed by its number.
  A slow starter (a low learning rate) that aggressive halving would kill survives in the
  patient brackets.
- :class:`FamilyPruner`: any other Optuna pruner (successive halving, median) run per family.

The one comparison across families is :class:`CannotCatchUp`, on scores rather than steps: every
furima family reports the study's own metric, so a curve's value can be set against the best
finished trial of any family.

Imported only when a study is made (it needs Optuna).
"""

from __future__ import annotations

import binascii
import math
from collections.abc import Callable, Container
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

__all__ = ["AnyOf", "CannotCatchUp", "FamilyHyperband", "FamilyPruner"]


class _TrialsOf:
    """The part of a study Optuna's pruners read (its trials, direction and storage), with only
    the trials ``keep`` accepts."""

    def __init__(self, study: optuna.Study, keep: Callable[[FrozenTrial], bool]) -> None:
        self._study = study
        self._keep = keep
        self._storage = study._storage  # successive halving records rung values there
        self.study_name = study.study_name
        self.direction = study.direction

    def get_trials(
        self, deepcopy: bool = True, states: Container[TrialState] | None = None
    ) -> list[FrozenTrial]:
        trials = self._study.get_trials(deepcopy=deepcopy, states=states)
        return [t for t in trials if self._keep(t)]


def _family(trial: FrozenTrial) -> Any:
    return trial.params.get("family")


class FamilyPruner(optuna.pruners.BasePruner):  # type: ignore[misc]  # optuna is untyped here
    """One pruner per model family (made by ``make``), each seeing only its family's trials."""

    def __init__(self, make: Callable[[], optuna.pruners.BasePruner]) -> None:
        self._make = make
        self._pruners: dict[Any, optuna.pruners.BasePruner] = {}

    def prune(self, study: optuna.Study, trial: FrozenTrial) -> bool:
        family = _family(trial)
        if family not in self._pruners:
            self._pruners[family] = self._make()
        view = _TrialsOf(study, lambda other: _family(other) == family)
        return bool(self._pruners[family].prune(view, trial))


class FamilyHyperband(optuna.pruners.BasePruner):  # type: ignore[misc]  # optuna is untyped here
    """Hyperband per model family: successive halving in ``brackets`` brackets, trials spread
    over them as in the paper (more trials in the aggressive brackets)."""

    def __init__(self, min_resource: int = 2, reduction_factor: int = 3, brackets: int = 3):
        if min_resource < 1 or reduction_factor < 2 or brackets < 1:
            raise ValueError("min_resource >= 1, reduction_factor >= 2 and brackets >= 1 needed")
        self._halving = [
            optuna.pruners.SuccessiveHalvingPruner(
                min_resource=min_resource,
                reduction_factor=reduction_factor,
                min_early_stopping_rate=bracket,
            )
            for bracket in range(brackets)
        ]
        # Hyperband's n_i = ceil(B / R * eta^s / (s + 1)), as shares of all trials
        self._shares = [
            math.ceil(brackets * reduction_factor ** (brackets - 1 - b) / (brackets - b))
            for b in range(brackets)
        ]

    def bracket(self, study_name: str, trial: FrozenTrial) -> int:
        """The trial's bracket: fixed by its number, the same in every process."""
        n = binascii.crc32(f"{study_name}_{trial.number}".encode()) % sum(self._shares)
        for bracket, share in enumerate(self._shares):
            n -= share
            if n < 0:
                return bracket
        raise AssertionError("unreachable: n < sum(shares)")

    def prune(self, study: optuna.Study, trial: FrozenTrial) -> bool:
        family, bracket = _family(trial), self.bracket(study.study_name, trial)
        view = _TrialsOf(
            study,
            lambda other: (
                _family(other) == family and self.bracket(study.study_name, other) == bracket
            ),
        )
        return bool(self._halving[bracket].prune(view, trial))


class CannotCatchUp(optuna.pruners.BasePruner):  # type: ignore[misc]  # optuna is untyped here
    """Prunes a trial that cannot catch up with the best finished trial of any family.

    Its optimistic future: its score now plus the largest gain that any finished trial of its
    own family made from this step to its end, or its best score so far if that is higher
    (networks and LightGBM end at their best iteration). If even that ends behind the study's
    best, the trial stops. This needs every family to report the study's own metric, as
    furima's do, and at least ``min_finished`` finished trials of the family that ran past
    this step.
    """

    def __init__(self, min_finished: int = 1) -> None:
        self._min_finished = min_finished

    def prune(self, study: optuna.Study, trial: FrozenTrial) -> bool:
        step = trial.last_step
        if step is None:
            return False
        finished = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if not finished:
            return False
        sign = 1.0 if study.direction == optuna.study.StudyDirection.MAXIMIZE else -1.0
        best = max(sign * t.values[0] for t in finished)
        family = _family(trial)
        gains = [
            sign * (t.values[0] - t.intermediate_values[step])
            for t in finished
            if _family(t) == family and step in t.intermediate_values
        ]
        if len(gains) < self._min_finished:
            return False
        so_far = max(sign * value for value in trial.intermediate_values.values())
        return bool(max(so_far, sign * trial.intermediate_values[step] + max(gains)) < best)


class AnyOf(optuna.pruners.BasePruner):  # type: ignore[misc]  # optuna is untyped here
    """Prunes when any of its pruners would (each is asked, so each keeps its own records)."""

    def __init__(self, *pruners: optuna.pruners.BasePruner) -> None:
        self._pruners = pruners

    def prune(self, study: optuna.Study, trial: FrozenTrial) -> bool:
        return any([pruner.prune(study, trial) for pruner in self._pruners])
