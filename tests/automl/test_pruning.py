"""Pruning compares a trial only with trials of its own model family."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import optuna
import pytest

from furima.automl._pruning import AnyOf, CannotCatchUp, FamilyHyperband, FamilyPruner
from furima.automl._study import make_pruner

optuna.logging.set_verbosity(optuna.logging.WARNING)


def run_curve(study: optuna.Study, family: str, curve: Sequence[float]) -> int | None:
    """Reports ``curve`` step by step (steps 1, 2, ...); the step it was pruned at, or None."""
    trial = study.ask({"family": optuna.distributions.CategoricalDistribution(["a", "b"])})
    assert trial.params["family"] == family
    for step, value in enumerate(curve, start=1):
        trial.report(value, step)
        if trial.should_prune():
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            return step
    study.tell(trial, curve[-1])
    return None


def fixed_family_study(
    pruner: Any, families: Sequence[str], direction: str = "maximize"
) -> optuna.Study:
    """A study whose trials' families come in the given order (enqueued)."""
    study = optuna.create_study(direction=direction, pruner=pruner)
    for family in families:
        study.enqueue_trial({"family": family})
    return study


def halving() -> FamilyPruner:
    return FamilyPruner(lambda: optuna.pruners.SuccessiveHalvingPruner(min_resource=1))


def test_a_family_is_not_judged_by_another_familys_scale() -> None:
    # family "a" reports values near 10, family "b" near 1 (say LightGBM's own metric against
    # the study's): "b" trials must be compared with "b" trials only
    study = fixed_family_study(halving(), ["a", "a", "b", "b"])
    assert run_curve(study, "a", [10.0, 10.5, 11.0]) is None
    assert run_curve(study, "a", [9.0, 9.5, 9.8]) == 1  # behind the first "a" at step 1
    assert run_curve(study, "b", [1.0, 1.1, 1.2]) is None  # the first "b": nothing to lose to
    assert run_curve(study, "b", [1.5, 1.6, 1.7]) is None  # ahead of the first "b"


def test_optunas_own_halving_would_prune_the_second_family() -> None:
    """The defect the family pruners fix, shown on the same curves."""
    plain = optuna.pruners.SuccessiveHalvingPruner(min_resource=1)
    study = fixed_family_study(plain, ["a", "b"])
    assert run_curve(study, "a", [10.0, 10.5, 11.0]) is None
    assert run_curve(study, "b", [1.5, 1.6, 1.7]) == 1


def test_hyperband_spreads_trials_over_brackets_as_in_the_paper() -> None:
    hyperband = FamilyHyperband(min_resource=2, reduction_factor=3, brackets=3)
    trials = [SimpleNamespace(number=n) for n in range(3400)]
    counts = Counter(hyperband.bracket("spread", t) for t in trials)
    # shares ceil(3 * 9 / 3) = 9, ceil(3 * 3 / 2) = 5, ceil(3 * 1 / 1) = 3 out of 17
    shares = [counts[b] / len(trials) for b in range(3)]
    assert shares == pytest.approx([9 / 17, 5 / 17, 3 / 17], abs=0.03)


def test_hyperband_judges_the_patient_bracket_later() -> None:
    hyperband = FamilyHyperband(min_resource=1, reduction_factor=3, brackets=2)
    study = optuna.create_study(direction="maximize", pruner=hyperband, study_name="late")
    pruned_at: dict[int, int | None] = {}
    for number in range(12):
        study.enqueue_trial({"family": "a"})
        # every later trial is worse than every earlier one, at every step
        pruned_at[number] = run_curve(study, "a", [10.0 - number + 0.1 * s for s in range(5)])
    brackets = {n: hyperband.bracket("late", study.trials[n]) for n in pruned_at}
    aggressive = [pruned_at[n] for n in pruned_at if brackets[n] == 0][1:]
    patient = [pruned_at[n] for n in pruned_at if brackets[n] == 1][1:]
    assert aggressive and patient
    assert set(aggressive) == {1}  # judged (and behind) at step 1
    assert set(patient) == {3}  # first judged at step 1 * 3


@pytest.mark.parametrize("name", ["hyperband", "asha", "median"])
def test_every_named_pruner_keeps_families_apart(name: str) -> None:
    study = fixed_family_study(make_pruner(name), ["a"] * 6 + ["b"])
    for _ in range(6):
        run_curve(study, "a", [100.0 + s for s in range(60)])
    assert run_curve(study, "b", [1.0 + s for s in range(60)]) is None


def test_hyperband_refuses_a_meaningless_schedule() -> None:
    with pytest.raises(ValueError, match="reduction_factor >= 2"):
        FamilyHyperband(reduction_factor=1)


def test_a_trial_that_cannot_catch_up_with_another_family_stops() -> None:
    study = fixed_family_study(CannotCatchUp(), ["a", "a", "b", "a", "a", "a"])
    run_curve(study, "a", [0.5, 0.6, 0.7])  # gained 0.2 after step 1
    run_curve(study, "a", [0.4, 0.5, 0.55])  # gained 0.15
    run_curve(study, "b", [0.85, 0.9, 0.9])  # the best: 0.9
    assert run_curve(study, "a", [0.6, 0.65, 0.7]) == 1  # 0.6 + 0.2 < 0.9
    assert run_curve(study, "a", [0.75, 0.78, 0.8]) == 2  # 0.75 + 0.2 >= 0.9, 0.78 + 0.1 < 0.9
    assert run_curve(study, "a", [0.75, 0.82, 0.9]) is None


def test_catching_up_needs_finished_trials_of_the_family_and_minimises_too() -> None:
    study = fixed_family_study(CannotCatchUp(min_finished=2), ["a", "b", "a"], "minimize")
    run_curve(study, "a", [2.0, 1.5, 1.4])
    run_curve(study, "b", [0.5, 0.4, 0.3])
    assert run_curve(study, "a", [5.0, 4.0, 3.0]) is None  # one finished "a" says too little
    study = fixed_family_study(CannotCatchUp(min_finished=1), ["a", "b", "a"], "minimize")
    run_curve(study, "a", [2.0, 1.5, 1.4])
    run_curve(study, "b", [0.5, 0.4, 0.3])
    assert run_curve(study, "a", [5.0, 4.0, 3.0]) == 1  # 5.0 - 0.6 > 0.3


def test_a_trial_that_was_ahead_is_not_stopped_for_a_dip() -> None:
    # networks and LightGBM end at their best iteration, so a dip now does not lose the peak
    study = fixed_family_study(CannotCatchUp(), ["a", "b", "a", "a"])
    run_curve(study, "a", [0.5, 0.6, 0.7])  # gained 0.1 after step 2
    run_curve(study, "b", [0.8, 0.85, 0.85])  # the best: 0.85
    assert run_curve(study, "a", [0.9, 0.6, 0.6]) is None  # 0.6 + 0.1 < 0.85, but it had 0.9
    assert run_curve(study, "a", [0.7, 0.6, 0.6]) == 2  # neither its 0.7 nor 0.6 + 0.1 will do


def test_any_of_asks_every_pruner() -> None:
    halving = optuna.pruners.SuccessiveHalvingPruner(min_resource=1)
    study = fixed_family_study(AnyOf(CannotCatchUp(), halving), ["a", "a"])
    run_curve(study, "a", [1.0, 2.0])
    assert run_curve(study, "a", [0.5, 3.0]) == 1  # halving prunes; catching up cannot judge
    rungs = [k for k in study.trials[1].system_attrs if k.startswith("completed_rung")]
    assert rungs == ["completed_rung_0"]
