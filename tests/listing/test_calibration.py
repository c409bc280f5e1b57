"""Temperature scaling, expected calibration error and fill thresholds on known numbers."""

from __future__ import annotations

import numpy as np
import pytest

from furima.listing._calibration import (
    expected_calibration_error,
    fill_threshold,
    fit_temperature,
    softmax,
)


def _sampled(temperature: float, rows: int = 20000, seed: int = 0) -> tuple[np.ndarray, ...]:
    """Logits, and labels drawn from softmax(logits / temperature)."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 3, size=(rows, 5))
    p = softmax(logits, temperature)
    labels = np.array([rng.choice(5, p=row) for row in p])
    return logits, labels


@pytest.mark.parametrize("true_temperature", [0.5, 1.0, 2.5])
def test_fit_temperature_recovers_the_temperature_labels_were_drawn_with(
    true_temperature: float,
) -> None:
    logits, labels = _sampled(true_temperature)
    assert fit_temperature(logits, labels) == pytest.approx(true_temperature, rel=0.08)


def test_fit_temperature_ignores_unknown_labels_and_defaults_to_one() -> None:
    logits, labels = _sampled(2.0)
    labels[::2] = -1
    assert fit_temperature(logits, labels) == pytest.approx(2.0, rel=0.1)
    assert fit_temperature(logits, np.full(len(labels), -1)) == 1.0


def test_temperature_scaling_lowers_the_calibration_error_of_overconfident_logits() -> None:
    logits, labels = _sampled(3.0)
    raw = softmax(logits)
    fitted = softmax(logits, fit_temperature(logits, labels))
    correct_raw = (raw.argmax(1) == labels).astype(float)
    correct_fitted = (fitted.argmax(1) == labels).astype(float)
    before = expected_calibration_error(raw.max(1), correct_raw)
    after = expected_calibration_error(fitted.max(1), correct_fitted)
    assert before > 0.15
    assert after < 0.03


def test_expected_calibration_error_on_hand_made_bins() -> None:
    confidence = np.array([0.9, 0.9, 0.9, 0.9, 0.6, 0.6])
    correct = np.array([1, 1, 1, 0, 0, 0], dtype=float)
    # bin 0.9: accuracy 0.75 (gap 0.15, weight 4/6); bin 0.6: accuracy 0 (gap 0.6, weight 2/6)
    assert expected_calibration_error(confidence, correct) == pytest.approx(0.3)
    assert np.isnan(expected_calibration_error(np.array([]), np.array([])))


def test_fill_threshold_keeps_the_most_confident_rows_meeting_the_precision() -> None:
    confidence = np.linspace(1.0, 0.01, 100)
    correct = np.ones(100)
    correct[50:] = 0  # the 50 most confident are right, the rest wrong
    threshold = fill_threshold(confidence, correct, target_precision=0.9, z=0.0)
    kept = confidence >= threshold
    assert correct[kept].mean() >= 0.9
    assert kept.sum() == 55  # 50 right + 5 wrong is the most at 90% precision
    # with a margin of 1.645 standard errors the bound must hold too: fewer rows qualify
    cautious = confidence >= fill_threshold(confidence, correct, target_precision=0.9)
    assert 50 <= cautious.sum() < 55


def test_fill_threshold_edges() -> None:
    assert fill_threshold(np.array([0.9, 0.8]), np.array([1.0, 1.0]), 0.95) == 0.0
    assert fill_threshold(np.full(30, 0.9), np.zeros(30), 0.95) == 1.0
    assert fill_threshold(np.array([]), np.array([]), 0.95) == 1.0
