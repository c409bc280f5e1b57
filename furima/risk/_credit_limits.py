"""A credit limit policy from the probability of default: how much deferred payment to allow.

The policy caps each applicant's expected loss: with probability of default ``PD`` and loss
given default ``LGD``, a limit ``L`` loses ``PD * LGD * L`` on average, so the limit is the
largest multiple of ``step`` at most ``max_expected_loss / (PD * LGD)`` and at most
``ceiling``. Applicants above ``max_pd``, or whose limit would round down to nothing, are
declined. The limit falls as the PD rises, so a lower PD never gets a lower limit.

    credit_limits(scored["probability_of_default"], max_pd=0.3, max_expected_loss=50.0,
                  ceiling=5000.0, step=100.0)  # decision, limit, expected_loss
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from furima.exceptions import DataError

if TYPE_CHECKING:
    import pandas as pd
    from numpy.typing import ArrayLike

__all__ = ["credit_limits"]


def credit_limits(
    probability_of_default: ArrayLike,
    *,
    max_pd: float,
    loss_given_default: float = 0.45,
    max_expected_loss: float,
    ceiling: float,
    step: float = 1.0,
) -> pd.DataFrame:
    """Decision, limit and expected loss per applicant.

    Args:
        probability_of_default: One PD per applicant, in [0, 1] (a Series keeps its index).
        max_pd: Applicants with a higher PD are declined.
        loss_given_default: The share of the limit lost when an applicant defaults.
        max_expected_loss: The most expected loss one applicant's limit may carry.
        ceiling: The highest limit anyone gets.
        step: Limits are whole multiples of it (rounded down).

    Returns:
        A frame with ``decision`` (``"approve"`` or ``"decline"``), ``limit`` (0 when
        declined) and ``expected_loss`` (``PD * LGD * limit``).
    """
    import pandas as pd

    _check_policy(max_pd, loss_given_default, max_expected_loss, ceiling, step)
    index = probability_of_default.index if isinstance(probability_of_default, pd.Series) else None
    pd_ = _checked_probabilities(probability_of_default)
    unit_loss = pd_ * loss_given_default
    with np.errstate(divide="ignore"):
        affordable = np.where(unit_loss > 0, max_expected_loss / unit_loss, np.inf)
    limit = np.floor(np.minimum(affordable, ceiling) / step) * step
    approved = (pd_ <= max_pd) & (limit >= step)
    limit = np.where(approved, limit, 0.0)
    return pd.DataFrame(
        {
            "decision": np.where(approved, "approve", "decline"),
            "limit": limit,
            "expected_loss": unit_loss * limit,
        },
        index=index,
    )


def _check_policy(
    max_pd: float, loss_given_default: float, max_expected_loss: float, ceiling: float, step: float
) -> None:
    if not 0 < max_pd <= 1:
        raise DataError(f"`max_pd` must be in (0, 1], but got {max_pd}.")
    if not 0 < loss_given_default <= 1:
        raise DataError(f"`loss_given_default` must be in (0, 1], but got {loss_given_default}.")
    if not max_expected_loss > 0:
        raise DataError(f"`max_expected_loss` must be positive, but got {max_expected_loss}.")
    if not (step > 0 and ceiling >= step):
        raise DataError(
            f"`0 < step <= ceiling` must hold, but got (step={step}, ceiling={ceiling})."
        )


def _checked_probabilities(values: ArrayLike) -> np.ndarray:
    try:
        pd_ = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as error:
        raise DataError(f"probabilities of default must be numbers ({error}).") from error
    if pd_.ndim != 1:
        raise DataError(f"pass one probability of default per applicant, got shape {pd_.shape}.")
    bad = ~((pd_ >= 0) & (pd_ <= 1))
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"{int(bad.sum())} probability(ies) of default are missing or outside [0, 1] "
            f"(first at position {first}: {pd_[first]}); score the applicants first."
        )
    return pd_
