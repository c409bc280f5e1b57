"""What a statistical test answers: one effect of treatment against control."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

__all__ = ["Difference", "Effect"]

Difference = Literal["absolute", "relative"]


@dataclass(frozen=True)
class Effect:
    """The effect of one treatment on one metric, as a test estimated it.

    Attributes:
        method: The test that produced it (``"welch"``, ``"cuped"``, ``"sequential"``,
            ``"bayesian"``, ...).
        difference: ``"absolute"`` (treatment mean minus control mean) or ``"relative"``
            (that difference over the control mean, a lift).
        estimate: The point estimate of the difference.
        ci_low: Lower end of the interval (confidence, confidence-sequence or credible).
        ci_high: Upper end of the interval.
        standard_error: Standard error of ``estimate`` (delta method for relative lifts).
        alpha: The interval is a ``1 - alpha`` interval.
        control_mean: Mean of the metric in control (after any covariate adjustment, the
            unadjusted mean).
        treatment_mean: Same in treatment.
        control_n: Units in control.
        treatment_n: Units in treatment.
        p_value: Frequentist p-value; ``None`` for Bayesian tests.
        chance_to_win: Bayesian posterior probability that treatment beats control.
        risk: Bayesian expected loss of choosing control, and of choosing treatment.
        metric: Name of the metric, filled in by ``analyze``.
    """

    method: str
    difference: Difference
    estimate: float
    ci_low: float
    ci_high: float
    standard_error: float
    alpha: float
    control_mean: float
    treatment_mean: float
    control_n: int
    treatment_n: int
    p_value: float | None = None
    chance_to_win: float | None = None
    risk: tuple[float, float] | None = None
    metric: str = ""

    @property
    def significant(self) -> bool:
        """Whether the interval excludes zero (no effect)."""
        return self.ci_low > 0 or self.ci_high < 0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["significant"] = self.significant
        if self.risk is not None:
            data["risk"] = list(self.risk)
        return data
