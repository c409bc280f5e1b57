"""Assignment: stable hashing, the split by weights and traffic, layers, holdouts, bad plans.

Proportions are checked over 20,000 units against a binomial tolerance of 4 standard
deviations (a false alarm about once in 16,000 runs; the hash is deterministic, so a pass is
a pass for good).
"""

from __future__ import annotations

import math
import subprocess
import sys
from collections import Counter

import pytest

from furima.exceptions import ExperimentConfigError
from furima.experiments._assignment import Experiment, ExperimentPlan, Layer, unit_position

UNITS = [f"user-{i}" for i in range(20_000)]


def within_binomial(count: int, n: int, p: float, sigmas: float = 4.0) -> bool:
    return abs(count - n * p) <= sigmas * math.sqrt(n * p * (1 - p))


def test_a_unit_position_is_a_fixed_function_of_salt_and_id() -> None:
    assert unit_position("checkout", "user-1") == pytest.approx(0.16570486396628972, abs=1e-15)
    assert unit_position("checkout", "user-1") != unit_position("checkout-2", "user-1")
    assert all(0.0 <= unit_position("s", unit) < 1.0 for unit in UNITS[:1000])


def test_known_units_meet_known_variants_for_a_fixed_salt() -> None:
    experiment = Experiment("checkout", variants=("control", "a", "b"), weights=(2, 1, 1))
    assigned = {unit: experiment.assign(unit) for unit in UNITS[1:7]}
    assert assigned == {
        "user-1": "control",
        "user-2": "control",
        "user-3": "b",
        "user-4": "control",
        "user-5": "control",
        "user-6": "a",
    }
    assert [experiment.assign("user-3") for _ in range(5)] == ["b"] * 5


def test_assignment_is_the_same_in_another_process() -> None:
    code = (
        "from furima.experiments._assignment import Experiment;"
        "e = Experiment('checkout', variants=('control', 'a', 'b'), weights=(2, 1, 1));"
        "print(','.join(str(e.assign(f'user-{i}')) for i in range(200)))"
    )
    other = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    experiment = Experiment("checkout", variants=("control", "a", "b"), weights=(2, 1, 1))
    assert other.split(",") == [experiment.assign(f"user-{i}") for i in range(200)]


def test_weights_and_traffic_split_units_in_proportion() -> None:
    experiment = Experiment("badge", weights=(1, 3), traffic=0.5)
    counts = Counter(experiment.assign(unit) for unit in UNITS)
    inside = counts["control"] + counts["treatment"]
    assert within_binomial(inside, len(UNITS), 0.5)
    assert within_binomial(counts["treatment"], inside, 0.75)
    assert set(counts) == {None, "control", "treatment"}


def test_ramping_traffic_up_only_adds_units_and_never_moves_one() -> None:
    small = Experiment("ramp", traffic=0.1)
    large = Experiment("ramp", traffic=0.6)
    before = {unit: small.assign(unit) for unit in UNITS[:5000]}
    after = {unit: large.assign(unit) for unit in UNITS[:5000]}
    kept = [unit for unit, variant in before.items() if variant is not None]
    assert len(kept) > 400
    assert all(after[unit] == before[unit] for unit in kept)


def test_a_new_salt_reshuffles_units() -> None:
    old = Experiment("reshuffle")
    new = Experiment("reshuffle", salt="reshuffle-after-bug")
    same = sum(old.assign(unit) == new.assign(unit) for unit in UNITS)
    assert within_binomial(same, len(UNITS), 0.5)


def test_experiments_in_a_layer_never_share_a_unit_and_the_holdout_is_out_of_all() -> None:
    layer = Layer(
        "ranking",
        [Experiment("a", traffic=0.3), Experiment("b", traffic=0.3), Experiment("c", traffic=0.2)],
        holdout=0.1,
    )
    assigned = [layer.assign(unit) for unit in UNITS]
    assert max(len(found) for found in assigned) == 1
    counts = Counter(next(iter(found), "none") for found in assigned)
    for name, share in [("a", 0.3), ("b", 0.3), ("c", 0.2), ("none", 0.2)]:
        assert within_binomial(counts[name], len(UNITS), share), (name, counts)
    held_out = [unit for unit in UNITS if unit_position(layer.salt, unit) < 0.1]
    assert all(layer.assign(unit) == {} for unit in held_out)
    ranges = layer.ranges()
    expected = {"a": (0.1, 0.4), "b": (0.4, 0.7), "c": (0.7, 0.9)}
    assert {name: pytest.approx(edges) for name, edges in expected.items()} == ranges


def test_experiments_in_different_layers_are_independent() -> None:
    from scipy.stats import chi2_contingency

    plan = ExperimentPlan(
        [
            Layer("ranking", [Experiment("ranker", variants=("old", "new", "newer"))]),
            Layer("pricing", [Experiment("price", traffic=0.8)], holdout=0.05),
        ]
    )
    table = Counter(
        (found["ranker"], found.get("price", "out")) for found in map(plan.assign, UNITS)
    )
    rows, columns = ("old", "new", "newer"), ("control", "treatment", "out")
    observed = [[table[row, column] for column in columns] for row in rows]
    assert chi2_contingency(observed).pvalue > 0.001
    # the check has power: two experiments hashed with one salt are fully dependent
    twin = ExperimentPlan(
        [
            Layer("x", [Experiment("one", salt="same")]),
            Layer("y", [Experiment("two", salt="same")]),
        ]
    )
    pairs = Counter(tuple(twin.assign(unit).values()) for unit in UNITS[:2000])
    assert set(pairs) == {("control", "control"), ("treatment", "treatment")}


def test_a_plan_assigns_every_experiment_of_every_layer() -> None:
    plan = ExperimentPlan(
        [
            Layer(
                "ranking",
                [Experiment("ranker-v2", traffic=0.5), Experiment("ranker-v3", traffic=0.3)],
                holdout=0.1,
            ),
            Experiment("price-badge"),
            Experiment("listing-photo", unit="listing", layer="listings"),
        ]
    )
    assert [layer.name for layer in plan.layers] == ["ranking", "default", "listings"]
    assert plan.assign("user-1", unit="user") == {"ranker-v3": "control", "price-badge": "control"}
    assert plan.assign("user-3", unit="user") == {"price-badge": "control"}
    assert set(plan.assign("user-1", unit="listing")) == {"listing-photo"}
    assert plan.experiments["ranker-v2"].layer == "ranking"


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda: Experiment("x", weights=(1, 2, 3)), "2 variants"),
        (lambda: Experiment("x", weights=(1, 0)), "positive"),
        (lambda: Experiment("x", weights=(1, float("nan"))), "positive"),
        (lambda: Experiment("x", traffic=0.0), "(0, 1]"),
        (lambda: Experiment("x", traffic=1.5), "(0, 1]"),
        (lambda: Experiment("x", variants=("only",)), "at least two variants"),
        (lambda: Experiment("x", variants=("a", "a")), "names a variant twice"),
        (lambda: Experiment(""), "non-empty name"),
        (lambda: Layer("l", holdout=1.0), "[0, 1)"),
        (
            lambda: Layer("l", [Experiment("a", traffic=0.6), Experiment("b", traffic=0.5)]),
            "over 100% of traffic",
        ),
        (
            lambda: Layer("l", [Experiment("a", traffic=0.5)], holdout=0.6),
            "over 100% of traffic",
        ),
        (lambda: Layer("l", [Experiment("a"), Experiment("a", traffic=0.5)]), "called 'a'"),
        (
            lambda: ExperimentPlan([Layer("l", [Experiment("a")]), Experiment("a")]),
            "called 'a'",
        ),
        (lambda: ExperimentPlan([Layer("l"), Layer("l")]), "given twice"),
        (lambda: Layer("l", [Experiment("a", layer="other")]), "names layer 'other'"),
    ],
)
def test_a_plan_that_cannot_work_is_refused_with_the_reason(make: object, words: str) -> None:
    with pytest.raises(ExperimentConfigError) as caught:
        make()  # type: ignore[operator]
    assert words in str(caught.value)
