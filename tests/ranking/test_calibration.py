"""Calibration of per-event probabilities: the expected calibration error, Platt scaling and
isotonic regression on data whose true probabilities are known."""

from __future__ import annotations

import numpy as np
import pytest

from furima.exceptions import DataError
from furima.ranking._calibration import Calibrator, expected_calibration_error


@pytest.fixture(scope="module")
def overconfident() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Raw probabilities sigmoid(2z) for events that happen with probability sigmoid(z)."""
    rng = np.random.default_rng(0)
    z = rng.normal(0, 1.5, 20_000)
    truth = 1 / (1 + np.exp(-z))
    labels = (rng.random(len(z)) < truth).astype(np.float32)
    return 1 / (1 + np.exp(-2 * z)), labels, truth


def test_ece_of_known_cases() -> None:
    assert expected_calibration_error(np.full(5, 0.2), np.array([1, 0, 0, 0, 0])) == 0.0
    assert expected_calibration_error(np.full(4, 0.9), np.zeros(4)) == pytest.approx(0.9)
    # two bins, each off by 0.25, each half the rows
    p, y = np.array([0.25, 0.25, 0.75, 0.75]), np.array([0, 0, 1, 1])
    assert expected_calibration_error(p, y, bins=2) == pytest.approx(0.25)


def test_ece_rejects_bad_input() -> None:
    with pytest.raises(DataError, match="3 probabilities but 2 labels"):
        expected_calibration_error(np.zeros(3), np.zeros(2))
    with pytest.raises(DataError, match="at least one row"):
        expected_calibration_error(np.zeros(0), np.zeros(0))
    with pytest.raises(ValueError, match="`bins` must be at least 1, but got 0"):
        expected_calibration_error(np.zeros(2), np.zeros(2), bins=0)


def test_platt_recovers_the_true_slope(overconfident: tuple[np.ndarray, ...]) -> None:
    raw, labels, truth = overconfident
    calibrator = Calibrator.fit(raw, labels, "platt")
    slope, intercept = calibrator.parameters
    assert slope == pytest.approx(0.5, abs=0.05)
    assert intercept == pytest.approx(0.0, abs=0.05)
    before = expected_calibration_error(raw, labels)
    after = expected_calibration_error(calibrator(raw), labels)
    assert before > 0.08 and after < 0.02
    assert np.abs(calibrator(raw) - truth).max() < 0.05


def test_platt_keeps_every_ranking(overconfident: tuple[np.ndarray, ...]) -> None:
    raw, labels, _ = overconfident
    calibrated = Calibrator.fit(raw, labels, "platt")(raw)
    order = np.argsort(raw, kind="stable")
    assert (np.diff(calibrated[order]) >= 0).all()
    assert calibrated.dtype == np.float32


def test_isotonic_is_monotone_and_calibrated(overconfident: tuple[np.ndarray, ...]) -> None:
    raw, labels, _ = overconfident
    calibrator = Calibrator.fit(raw, labels, "isotonic")
    grid = np.linspace(0, 1, 101)
    assert (np.diff(calibrator(grid)) >= 0).all()
    assert calibrator(np.array([-1.0, 2.0])).tolist() == pytest.approx(
        [calibrator.parameters[1, 0], calibrator.parameters[1, -1]]
    )
    assert expected_calibration_error(calibrator(raw), labels) < 0.01


def test_one_class_or_none_is_the_identity() -> None:
    raw = np.array([0.1, 0.4, 0.8])
    assert Calibrator.fit(raw, np.zeros(3), "platt").method == "none"
    identity = Calibrator.fit(raw, np.array([0, 1, 1]), "none")
    assert identity(raw) == pytest.approx(raw)


def test_bad_method_and_lengths() -> None:
    with pytest.raises(ValueError, match=r"`calibration` must be one of .* got 'beta'"):
        Calibrator.fit(np.zeros(2), np.zeros(2), "beta")
    with pytest.raises(DataError, match="2 probabilities but 3 labels to calibrate on"):
        Calibrator.fit(np.zeros(2), np.zeros(3), "platt")


def test_platt_never_reverses_scores_that_do_not_rank() -> None:
    rng = np.random.default_rng(1)
    raw = rng.uniform(0.4, 0.6, 2000)
    labels = (rng.random(2000) < 0.9 - raw).astype(float)  # higher raw, fewer events
    calibrator = Calibrator.fit(raw, labels, "platt")
    assert calibrator.parameters[0] == 1.0
    assert calibrator(raw).mean() == pytest.approx(labels.mean(), abs=0.01)
    order = np.argsort(raw)
    assert (np.diff(calibrator(raw)[order]) >= 0).all()
