"""Off-policy estimates on values: a hand-computed log, synthetic logs with a known truth, and
a real Open Bandit Dataset cut (tests/fixtures/obd_logs_4000.parquet, see PROVENANCE.md)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from furima.exceptions import ExperimentDataError
from furima.experiments._ope import SWITCH_TAUS, LoggedBandit, estimate
from furima.experiments._open_bandit import open_bandit_log, thompson_sampling_action_probs
from furima.experiments._reward_model import REGULARIZATION_GRID, RewardModel

FIXTURES = Path(__file__).parents[1] / "fixtures"


def _hand_log() -> LoggedBandit:
    return LoggedBandit(
        actions=[0, 1, 0, 1], rewards=[1, 0, 0, 1], propensities=[0.5, 0.5, 0.25, 0.25]
    )


def _synthetic(n: int, rng: np.random.Generator) -> tuple[LoggedBandit, np.ndarray, np.ndarray]:
    """A contextual log: 4 actions, click rates depending on a context; returns the log, the
    target policy's probabilities and the true click rates (rounds x actions)."""
    context = rng.normal(size=(n, 2))
    base = np.array([-1.0, -0.5, 0.0, 0.5])
    scores = base + context[:, :1] * [1.0, -1.0, 0.5, 0.0] + context[:, 1:] * [0.0, 0.5, -0.5, 1.0]
    clicks = 1 / (1 + np.exp(-scores))
    logging = _softmax(context[:, :1] * [[0.5, 0.0, -0.5, 1.0]])
    target = _softmax(context[:, 1:] * [[-1.0, 0.3, 1.0, 0.2]])
    actions = (rng.random((n, 1)) > np.cumsum(logging, axis=1)).sum(axis=1).clip(max=3)
    rewards = (rng.random(n) < clicks[np.arange(n), actions]).astype(float)
    propensities = logging[np.arange(n), actions]
    logged = LoggedBandit(actions, rewards, propensities, contexts=context)
    return logged, target, clicks


def _softmax(scores: np.ndarray) -> np.ndarray:
    exp = np.exp(scores - scores.max(axis=1, keepdims=True))
    return np.asarray(exp / exp.sum(axis=1, keepdims=True))


def test_hand_computed_values() -> None:
    # w = [1.6, 0.4, 3.2, 0.8]; q = 0.5 everywhere.
    found = estimate(
        _hand_log(),
        np.tile([0.8, 0.2], (4, 1)),
        reward_model=np.full((4, 2), 0.5),
        switch_tau=1.0,
    )
    assert found["ips"].value == pytest.approx(0.6)
    assert found["snips"].value == pytest.approx(2.4 / 6.0)
    assert found["dm"].value == pytest.approx(0.5)
    assert found["dr"].value == pytest.approx(0.35)
    assert found["switch_dr"].value == pytest.approx(0.55)
    # IPS contributions [1.6, 0, 0, 0.8]: sample variance 1.76 / 3 over 4 rounds.
    error = math.sqrt(1.76 / 3 / 4)
    assert found["ips"].standard_error == pytest.approx(error)
    assert found["ips"].ci_low == pytest.approx(0.6 - 1.959963984540054 * error)
    assert found["ips"].ci_high == pytest.approx(0.6 + 1.959963984540054 * error)
    assert found["dm"].standard_error == 0.0


def test_ips_is_unbiased_and_its_interval_covers_the_truth() -> None:
    rng = np.random.default_rng(0)
    values, covered = [], 0
    for _ in range(300):
        logged, target, clicks = _synthetic(1000, rng)
        truth = float(np.mean(np.sum(target * clicks, axis=1)))
        ips = estimate(logged, target, estimators=("ips",))["ips"]
        values.append(ips.value - truth)
        covered += ips.ci_low <= truth <= ips.ci_high
    assert abs(np.mean(values)) < 3 * np.std(values) / math.sqrt(len(values))
    assert 0.91 <= covered / 300 <= 0.98


def test_snips_equals_ips_when_weights_average_one() -> None:
    # Half the rounds took action 0: weights 1.5 and 0.5 average exactly 1.
    logged = LoggedBandit(
        actions=[0, 0, 1, 1, 0, 1], rewards=[1, 0, 1, 1, 0, 0], propensities=[0.5] * 6
    )
    found = estimate(logged, np.tile([0.75, 0.25], (6, 1)), estimators=("ips", "snips"))
    assert found["snips"].value == pytest.approx(found["ips"].value)
    assert found["ips"].value == pytest.approx((1.5 + 0.5 + 0.5) / 6)


def test_dr_equals_dm_when_residuals_carry_no_weight() -> None:
    rng = np.random.default_rng(1)
    logged, _, clicks = _synthetic(500, rng)
    # The target never takes a logged action: every importance weight is 0.
    target = np.full((500, 4), 1 / 3)
    target[np.arange(500), logged.actions] = 0.0
    found = estimate(logged, target, reward_model=clicks, estimators=("dm", "dr"))
    assert found["dr"].value == pytest.approx(found["dm"].value, abs=1e-15)
    # A model that predicts each logged reward exactly leaves no residual either.
    exact = clicks.copy()
    exact[np.arange(500), logged.actions] = logged.rewards
    found = estimate(logged, np.full((500, 4), 0.25), reward_model=exact, estimators=("dm", "dr"))
    assert found["dr"].value == pytest.approx(found["dm"].value, abs=1e-15)


def test_switch_dr_spans_dm_to_dr() -> None:
    logged, target, clicks = _synthetic(800, np.random.default_rng(2))
    noisy = np.clip(clicks + 0.1, 0, 1)
    every = estimate(logged, target, reward_model=noisy, switch_tau=math.inf)
    assert every["switch_dr"].value == every["dr"].value
    none = estimate(logged, target, reward_model=noisy, switch_tau=0.0)
    assert none["switch_dr"].value == none["dm"].value
    assert none["dm"].value != pytest.approx(none["dr"].value)


def test_dm_with_the_true_model_is_the_truth() -> None:
    logged, target, clicks = _synthetic(400, np.random.default_rng(3))
    found = estimate(logged, target, reward_model=clicks, estimators=("dm",))
    assert found["dm"].value == pytest.approx(float(np.mean(np.sum(target * clicks, axis=1))))


def test_cross_fitted_model_recovers_the_value() -> None:
    logged, target, clicks = _synthetic(4000, np.random.default_rng(4))
    truth = float(np.mean(np.sum(target * clicks, axis=1)))
    model = RewardModel(action_indicators=True, folds=3, seed=0)
    expected = model.fit_predict(logged, n_actions=4)
    assert expected.shape == (4000, 4)
    assert np.all((expected > 0) & (expected < 1))
    found = estimate(logged, target, reward_model=model, estimators=("dm", "dr"))
    assert abs(found["dm"].value - truth) < 0.03
    assert found["dr"].ci_low <= truth <= found["dr"].ci_high


def test_bootstrap_interval_is_seeded_and_close_to_normal() -> None:
    logged, target, clicks = _synthetic(2000, np.random.default_rng(5))
    run = {"reward_model": clicks, "estimators": ("ips", "snips", "dr"), "seed": 7}
    first = estimate(logged, target, interval="bootstrap", n_bootstrap=500, **run)  # type: ignore[arg-type]
    again = estimate(logged, target, interval="bootstrap", n_bootstrap=500, **run)  # type: ignore[arg-type]
    normal = estimate(logged, target, **run)  # type: ignore[arg-type]
    for name in ("ips", "snips", "dr"):
        assert first[name] == again[name]
        assert first[name].ci_low < first[name].value < first[name].ci_high
        width, normal_width = (
            first[name].ci_high - first[name].ci_low,
            normal[name].ci_high - normal[name].ci_low,
        )
        assert width == pytest.approx(normal_width, rel=0.15)


def test_slate_target_is_read_at_the_logged_position() -> None:
    # Position 0 prefers action 0, position 1 prefers action 1.
    per_position = np.array([[0.9, 0.2], [0.1, 0.8]])  # (actions, positions)
    target = np.broadcast_to(per_position, (4, 2, 2))
    logged = LoggedBandit(
        actions=[0, 1, 1, 0], rewards=[1, 1, 0, 1], propensities=[0.5] * 4, positions=[0, 1, 0, 1]
    )
    ips = estimate(logged, target, estimators=("ips",))["ips"].value
    assert ips == pytest.approx((0.9 / 0.5 + 0.8 / 0.5 + 0 + 0.2 / 0.5) / 4)


def test_thompson_sampling_action_probs() -> None:
    probs = thompson_sampling_action_probs(
        [1, 1, 100_000, 1], [1, 1, 1, 1], n_positions=2, draws=20_000
    )
    assert probs.shape == (4, 2)
    assert np.allclose(probs.sum(axis=0), 1.0)
    assert probs[2, 0] > 0.999
    assert probs[[0, 1, 3], 1] == pytest.approx([1 / 3] * 3, abs=0.02)
    again = thompson_sampling_action_probs([1, 1, 100_000, 1], [1] * 4, n_positions=2, draws=20_000)
    assert np.array_equal(probs, again)


@pytest.fixture(scope="module")
def obd() -> tuple[pd.DataFrame, pd.DataFrame]:
    return (
        pd.read_parquet(FIXTURES / "obd_logs_4000.parquet"),
        pd.read_parquet(FIXTURES / "obd_items_160.parquet"),
    )


def _policy(
    frames: tuple[pd.DataFrame, pd.DataFrame], policy: str
) -> tuple[LoggedBandit, np.ndarray]:
    logs, items = frames
    log = logs[logs["policy"] == policy].drop(columns="policy").reset_index(drop=True)
    return open_bandit_log(log, items[items["policy"] == policy].drop(columns="policy"))


def test_open_bandit_log_reads_the_fixture(obd: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    logged, item_features = _policy(obd, "random")
    assert logged.n_rounds == 2000
    assert set(np.unique(logged.positions)) == {0, 1, 2}  # type: ignore[arg-type]
    assert np.all(logged.propensities == 0.0125)
    assert logged.action_contexts is not None and logged.action_contexts.shape == (2000, 80)
    assert logged.contexts is not None and set(np.unique(logged.contexts)) == {0.0, 1.0}
    assert item_features.shape[0] == 80


@pytest.mark.parametrize("classifier", ["logistic", "lightgbm"])
def test_open_bandit_estimates_are_click_rates(
    obd: tuple[pd.DataFrame, pd.DataFrame], classifier: str
) -> None:
    for logger in ("random", "bts"):
        logged, item_features = _policy(obd, logger)
        popular = np.linspace(1.0, 2.0, 80)[:, None] * np.ones((1, 3))
        target = np.broadcast_to(popular / popular.sum(axis=0), (logged.n_rounds, 80, 3))
        model = RewardModel(classifier=classifier, action_features=item_features, seed=0)
        for name, value in estimate(logged, target, reward_model=model).items():
            assert np.isfinite([value.value, value.ci_low, value.ci_high]).all(), name
            assert 0.0 <= value.value <= 1.0, name
            assert value.ci_low <= value.value <= value.ci_high, name


def _bad(message: str, **changes: object) -> None:
    log: dict[str, Any] = {"actions": [0, 1, 0], "rewards": [1, 0, 1], "propensities": [0.5] * 3}
    log.update(changes)
    with pytest.raises(ExperimentDataError, match=message):
        LoggedBandit(**log)


def test_bad_logs_are_refused() -> None:
    _bad(
        r"propensities must be in \(0, 1\], but 1 are not \(round 1: 0\)", propensities=[0.5, 0, 1]
    )
    _bad(r"round 0: -0.1", propensities=[-0.1, 0.5, 0.5])
    _bad(r"round 2: 1.5", propensities=[0.5, 0.5, 1.5])
    _bad("the log is empty", actions=[], rewards=[], propensities=[])
    _bad("actions has 2 rows but rewards has 3: mismatched lengths", actions=[0, 1])
    _bad("propensities has 4 rows but rewards has 3", propensities=[0.5] * 4)
    _bad("positions has 1 rows but rewards has 3", positions=[0])
    _bad("contexts has 2 rows but rewards has 3", contexts=[[1.0], [2.0]])
    _bad("rewards has 1 missing or infinite values", rewards=[1, float("nan"), 0])
    _bad("actions must be whole numbers from 0", actions=[0, -1, 1])


def test_bad_targets_are_refused() -> None:
    logged = _hand_log()
    with pytest.raises(
        ExperimentDataError,
        match=r"must sum to 1 over actions in every round, but at round 0 they sum to 1\.1;",
    ):
        estimate(logged, np.tile([0.8, 0.3], (4, 1)), estimators=("ips",))
    slate = LoggedBandit([0, 1, 0, 1], [1, 0, 0, 1], [0.5] * 4, positions=[0, 1, 0, 1])
    uneven = np.broadcast_to(np.array([[0.5, 0.6], [0.5, 0.5]]), (4, 2, 2))
    with pytest.raises(
        ExperimentDataError,
        match=r"every round and position, but at round 0, position 1 they sum to 1\.1;",
    ):
        estimate(slate, uneven, estimators=("ips",))
    with pytest.raises(ExperimentDataError, match="negative probabilities"):
        estimate(logged, np.tile([1.2, -0.2], (4, 1)), estimators=("ips",))
    with pytest.raises(ExperimentDataError, match="has shape \\(3, 2\\) but the log has 4 rounds"):
        estimate(logged, np.tile([0.5, 0.5], (3, 1)), estimators=("ips",))
    with pytest.raises(ExperimentDataError, match="log has action 1 but target_action_probs"):
        estimate(logged, np.ones((4, 1)), estimators=("ips",))
    with pytest.raises(ExperimentDataError, match="has a positions axis but the log has no"):
        estimate(logged, np.full((4, 2, 2), 0.5), estimators=("ips",))
    with pytest.raises(ExperimentDataError, match=r"log has position 1 but .* only 1 positions"):
        estimate(slate, np.full((4, 2, 1), 0.5), estimators=("ips",))
    with pytest.raises(ExperimentDataError, match="unknown estimators \\['ipw'\\]"):
        estimate(logged, np.full((4, 2), 0.5), estimators=("ipw",))  # type: ignore[arg-type]


def test_bad_reward_models_are_refused() -> None:
    logged = _hand_log()
    target = np.full((4, 2), 0.5)
    with pytest.raises(ExperimentDataError, match="reward_model has shape \\(4, 3\\)"):
        estimate(logged, target, reward_model=np.zeros((4, 3)))
    counts = LoggedBandit([0, 1, 0, 1], [2, 0, 1, 0], [0.5] * 4)
    with pytest.raises(ExperimentDataError, match=r"rewards must be 0 or 1, but .*\(e\.g\. 2\)"):
        estimate(counts, target, estimators=("dr",))
    # IPS needs no model, so counts are fine there.
    assert estimate(counts, target, estimators=("ips",))["ips"].value == pytest.approx(0.75)
    with pytest.raises(ExperimentDataError, match="folds must be between 2 and the number"):
        estimate(logged, target, reward_model=RewardModel(folds=5))
    with pytest.raises(ExperimentDataError, match="action_features has shape \\(3, 1\\)"):
        estimate(logged, target, reward_model=RewardModel(action_features=np.ones((3, 1))))


def test_switch_tau_auto_picks_from_the_grid() -> None:
    logged, target, clicks = _synthetic(800, np.random.default_rng(6))
    exact = clicks.copy()
    exact[np.arange(800), logged.actions] = logged.rewards
    # No residual anywhere: every threshold agrees, so SLOPE walks to the smallest.
    found = estimate(logged, target, reward_model=exact, estimators=("switch_dr",))
    assert found["switch_dr"].switch_tau == SWITCH_TAUS[-1]
    noisy = estimate(logged, target, reward_model=np.clip(clicks + 0.3, 0, 1))["switch_dr"]
    assert noisy.switch_tau in SWITCH_TAUS
    given = estimate(logged, target, reward_model=clicks, switch_tau=3.0)["switch_dr"]
    assert given.switch_tau == 3.0
    with pytest.raises(ExperimentDataError, match="switch_tau must be 'auto' or a number >= 0"):
        estimate(logged, target, reward_model=clicks, switch_tau=-1.0)


def test_regularization_auto_follows_the_signal() -> None:
    rng = np.random.default_rng(7)
    context = rng.normal(size=(3000, 1))
    actions = rng.integers(0, 2, 3000)
    noise = LoggedBandit(actions, rng.random(3000) < 0.1, np.full(3000, 0.5), contexts=context)
    assert RewardModel().tuned(noise, 2).regularization == REGULARIZATION_GRID[0]
    signal = (rng.random(3000) < 1 / (1 + np.exp(-4 * context[:, 0]))).astype(float)
    strong = LoggedBandit(actions, signal, np.full(3000, 0.5), contexts=context)
    assert RewardModel().tuned(strong, 2).regularization in REGULARIZATION_GRID[3:]
    assert RewardModel(regularization=0.5).tuned(strong, 2).regularization == 0.5


def test_on_policy_identity_on_the_random_log(obd: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    # Evaluating the uniform-random logger on its own log: every weight is 1, so IPS and
    # SNIPS are the log's click rate exactly.
    logged, _ = _policy(obd, "random")
    uniform = np.full((logged.n_rounds, 80, 3), 1 / 80)
    found = estimate(logged, uniform, estimators=("ips", "snips"))
    assert found["ips"].value == pytest.approx(logged.rewards.mean(), abs=1e-15)
    assert found["snips"].value == pytest.approx(logged.rewards.mean(), abs=1e-15)
    assert found["ips"].value == 5 / 2000


def test_refit_bootstrap_widens_the_model_based_intervals() -> None:
    logged, target, _ = _synthetic(1500, np.random.default_rng(8))
    model = RewardModel(regularization=1.0, folds=2, seed=0)
    run = {"reward_model": model, "n_bootstrap": 40, "seed": 3}
    fixed = estimate(logged, target, interval="bootstrap", **run)  # type: ignore[arg-type]
    refit = estimate(logged, target, interval="refit_bootstrap", **run)  # type: ignore[arg-type]
    for name in ("dm", "ips", "dr"):
        assert refit[name].value == fixed[name].value
    assert refit["ips"] == fixed["ips"]  # no model: the plain bootstrap
    assert refit["dm"].interval == "refit_bootstrap"
    assert (refit["dm"].ci_high - refit["dm"].ci_low) > 1.5 * (
        fixed["dm"].ci_high - fixed["dm"].ci_low
    )
    assert refit["dm"].ci_low < refit["dm"].value < refit["dm"].ci_high
    again = estimate(logged, target, interval="refit_bootstrap", **run)  # type: ignore[arg-type]
    assert again == refit
    sample = logged.take([0, 0, 5])
    assert sample.n_rounds == 3 and sample.actions[1] == logged.actions[0]


def test_bad_open_bandit_inputs_are_refused(obd: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    logs, items = obd
    random_items = items[items["policy"] == "random"].drop(columns="policy")
    with pytest.raises(ExperimentDataError, match=r"lacks columns \['propensity_score'\]"):
        open_bandit_log(logs.drop(columns="propensity_score"), random_items)
    with pytest.raises(ExperimentDataError, match=r"must hold item_id 0\.\.n-1 once each"):
        open_bandit_log(logs, items)
    with pytest.raises(ExperimentDataError, match="alpha and beta must be positive"):
        thompson_sampling_action_probs([1, 0], [1, 1], n_positions=1)
    with pytest.raises(ExperimentDataError, match=r"n_positions must be in 1\.\.2, got 3"):
        thompson_sampling_action_probs([1, 1], [1, 1], n_positions=3)
