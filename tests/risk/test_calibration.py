"""Platt calibration on out-of-fold log-odds, its points rescaling, and the calibration error."""

from __future__ import annotations

import math

import numpy as np
import pytest

from furima.exceptions import DataError
from furima.risk._calibration import (
    PlattScaling,
    cross_fitted_log_odds,
    expected_calibration_error,
    fit_platt,
    logit,
)
from furima.risk._reasons import default_probability


def test_platt_recovers_an_overconfident_scale() -> None:
    rng = np.random.default_rng(0)
    true_log_odds = rng.normal(-1.0, 1.0, 20_000)
    bad = (rng.random(20_000) < 1 / (1 + np.exp(-true_log_odds))).astype(int)
    platt = fit_platt(2.0 * true_log_odds + 0.5, bad)  # twice too confident, shifted
    assert platt.slope == pytest.approx(0.5, abs=0.03)
    assert platt.intercept == pytest.approx(-0.25, abs=0.05)


def test_rescaled_points_give_the_calibrated_probability() -> None:
    platt = PlattScaling(slope=0.8, intercept=-0.3)
    scaling = {"pdo": 20.0, "base_score": 600.0, "base_odds": 50.0}
    points = np.array([[120.0, 200.0, 180.0], [90.0, 150.0, 210.0]])
    new_points, new_intercept = platt.rescale_points(points, 10.0, **scaling)
    old_score, new_score = points.sum(axis=1) + 10.0, new_points.sum(axis=1) + new_intercept
    old_log_odds = logit(default_probability(old_score, **scaling))
    np.testing.assert_allclose(
        default_probability(new_score, **scaling), platt.probability(old_log_odds)
    )
    assert PlattScaling().rescale_points(points, 10.0, **scaling)[1] == pytest.approx(10.0)


def test_expected_calibration_error_on_known_values() -> None:
    probability = np.array([0.1, 0.1, 0.9, 0.9])
    assert expected_calibration_error(probability, np.array([0, 0, 1, 1]), bins=2) == (
        pytest.approx(0.1)
    )
    assert expected_calibration_error(probability, np.array([1, 1, 0, 0]), bins=2) == (
        pytest.approx(0.9)
    )
    with pytest.raises(DataError, match="at least 10 rows"):
        expected_calibration_error(probability, np.array([0, 0, 1, 1]))


def test_cross_fitted_log_odds_never_see_their_own_row() -> None:
    bad = np.array([0, 1] * 10)
    seen: list[set[int]] = []

    def fit_log_odds(train: np.ndarray, _: np.ndarray, held_out: np.ndarray) -> np.ndarray:
        seen.append(set(train.tolist()))
        assert not set(train.tolist()) & set(held_out.tolist())
        return np.full(len(held_out), math.pi)

    out = cross_fitted_log_odds(fit_log_odds, bad, folds=5, seed=0)
    assert len(seen) == 5 and (out == math.pi).all()


def test_calibration_refuses_a_single_class_or_no_ranking() -> None:
    with pytest.raises(DataError, match="both good and bad"):
        fit_platt(np.array([0.1, 0.2]), np.array([1, 1]))
    with pytest.raises(DataError, match="do not rank defaults"):
        fit_platt(np.array([2.0, 1.0, -1.0, -2.0]), np.array([0, 0, 1, 1]))
    with pytest.raises(DataError, match="two good and two bad"):
        cross_fitted_log_odds(lambda a, b, c: c * 0.0, np.array([0, 0, 0, 1]), folds=5, seed=0)
