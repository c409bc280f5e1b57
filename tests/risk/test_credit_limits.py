"""Credit limit policy: limits from the probability of default, monotone, declines, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from furima.exceptions import DataError
from furima.risk._credit_limits import credit_limits

POLICY = {"max_pd": 0.3, "loss_given_default": 0.5, "max_expected_loss": 50.0, "ceiling": 5000.0}


def test_limits_cap_the_expected_loss_and_round_down_to_the_step() -> None:
    pd_ = pd.Series([0.0, 0.01, 0.04, 0.3, 0.31], index=list("abcde"))
    out = credit_limits(pd_, step=100.0, **POLICY)
    assert out.index.tolist() == list("abcde")
    # 50 / (0.01 * 0.5) = 10,000 -> the ceiling; 50 / (0.04 * 0.5) = 2,500; 50 / 0.15 = 333.3
    assert out["limit"].tolist() == [5000.0, 5000.0, 2500.0, 300.0, 0.0]
    assert out["decision"].tolist() == ["approve"] * 4 + ["decline"]
    np.testing.assert_allclose(out["expected_loss"], [0.0, 25.0, 50.0, 45.0, 0.0])
    assert (out["expected_loss"] <= POLICY["max_expected_loss"] + 1e-9).all()


def test_a_limit_below_one_step_is_a_decline() -> None:
    out = credit_limits([0.25], step=1000.0, **POLICY)  # affordable 400 < one step
    assert out["decision"].tolist() == ["decline"] and out["limit"].tolist() == [0.0]


def test_lower_probability_never_gets_a_lower_limit() -> None:
    pd_ = np.random.default_rng(0).random(500)
    out = credit_limits(pd_, step=50.0, **POLICY)
    limits = out["limit"].to_numpy()[np.argsort(pd_)]
    assert (np.diff(limits) <= 0).all()
    assert set(out["decision"]) == {"approve", "decline"}


@pytest.mark.parametrize(
    ("values", "settings", "message"),
    [
        ([0.1, np.nan], {}, "1 probability(ies) of default are missing or outside [0, 1]"),
        ([1.2], {}, "first at position 0: 1.2"),
        ([0.1], {"max_pd": 0.0}, "`max_pd` must be in (0, 1]"),
        ([0.1], {"loss_given_default": 1.5}, "`loss_given_default` must be in (0, 1]"),
        ([0.1], {"max_expected_loss": 0.0}, "`max_expected_loss` must be positive"),
        ([0.1], {"step": 10_000.0}, "`0 < step <= ceiling` must hold"),
        ([[0.1, 0.2]], {}, "one probability of default per applicant"),
    ],
)
def test_bad_input_is_refused(values: object, settings: dict[str, float], message: str) -> None:
    with pytest.raises(DataError) as caught:
        credit_limits(values, **{**POLICY, **settings})  # type: ignore[arg-type]
    assert message in str(caught.value)
