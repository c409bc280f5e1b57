"""What an analysis found (``MetricResult``, ``ExperimentAnalysis``) and what it means.

The decision sentence says ship, don't ship, keep running, or can't trust (SRM), and never
more than the data support: a failed sample-ratio check overrides every effect; a harmed
guardrail or a worse primary metric blocks shipping; "ship" needs a primary metric that is
better after the multiple-testing correction; and no significant difference is reported as
"no detectable effect yet", never as "no effect".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from furima.experiments._paths import SequentialPoint
    from furima.experiments._results import Difference, Effect
    from furima.experiments._srm import SrmCheck

__all__ = [
    "Correction",
    "ExperimentAnalysis",
    "Method",
    "MetricResult",
    "Verdict",
    "decide",
    "describe_effect",
]

Method = Literal["welch", "sequential", "bayesian"]
Correction = Literal["holm", "bh", "none"]
Verdict = Literal["better", "worse", "inconclusive", "unsupported"]


@dataclass(frozen=True)
class MetricResult:
    """One metric, one treatment variant against control (overall or in one segment).

    ``effect`` is ``None`` exactly when ``unsupported`` says why the data cannot support a
    result. ``adjusted_p_value`` is the multiple-testing-corrected p-value of a primary
    metric (``None`` for guardrails, segments and Bayesian results).
    """

    metric: str
    variant: str
    effect: Effect | None = None
    adjusted_p_value: float | None = None
    unsupported: str | None = None
    segment: str | None = None
    guardrail: bool = False
    higher_is_better: bool = True

    @property
    def significant(self) -> bool:
        """The corrected p-value is below alpha (the interval excludes 0 when uncorrected)."""
        if self.effect is None:
            return False
        if self.adjusted_p_value is not None:
            return self.adjusted_p_value < self.effect.alpha and self.effect.significant
        return self.effect.significant

    @property
    def verdict(self) -> Verdict:
        """Better or worse for the business (``higher_is_better`` aware), if significant."""
        if self.effect is None:
            return "unsupported"
        if not self.significant:
            return "inconclusive"
        return "better" if (self.effect.estimate > 0) == self.higher_is_better else "worse"

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "variant": self.variant,
            "segment": self.segment,
            "guardrail": self.guardrail,
            "higher_is_better": self.higher_is_better,
            "effect": None if self.effect is None else self.effect.to_dict(),
            "adjusted_p_value": self.adjusted_p_value,
            "unsupported": self.unsupported,
            "verdict": self.verdict,
        }


@dataclass(frozen=True)
class ExperimentAnalysis:
    """Everything ``analyze`` found, SRM check first; ``decision`` is one plain sentence."""

    control: str
    variants: list[str]
    method: Method
    difference: Difference
    alpha: float
    correction: Correction
    srm: SrmCheck
    results: list[MetricResult]
    sequential_paths: list[SequentialPoint] = field(default_factory=list)
    decision: str = ""

    @property
    def overall(self) -> list[MetricResult]:
        """The results over all units (no segment)."""
        return [result for result in self.results if result.segment is None]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able: plain numbers, strings, lists and dicts."""
        return {
            "srm": self.srm.to_dict(),
            "decision": self.decision,
            "control": self.control,
            "variants": list(self.variants),
            "method": self.method,
            "difference": self.difference,
            "alpha": self.alpha,
            "correction": self.correction,
            "results": [result.to_dict() for result in self.results],
            "sequential_paths": [point.to_dict() for point in self.sequential_paths],
        }


_CORRECTION_NAMES = {"holm": "Holm", "bh": "Benjamini-Hochberg", "none": "uncorrected"}


def decide(analysis: ExperimentAnalysis) -> str:
    """One or more plain sentences, one per treatment variant."""
    srm = analysis.srm
    if not srm.ok:
        return (
            "Can't trust these results: the sample-ratio check failed "
            f"(units per variant {srm.observed}, expected about "
            f"{[round(value) for value in srm.expected]}; p = {srm.p_value:.3g}). The split "
            "differs from the design, so assignment or exposure logging is broken; find and "
            "fix the cause before reading any effect below."
        )
    overall = analysis.overall
    sentences = [
        _variant_decision(analysis, variant, [r for r in overall if r.variant == variant])
        for variant in analysis.variants[1:]
    ]
    return " ".join(sentences)


def _variant_decision(
    analysis: ExperimentAnalysis, variant: str, results: list[MetricResult]
) -> str:
    guardrails = [result for result in results if result.guardrail]
    primaries = [result for result in results if not result.guardrail]
    harmed = [result for result in guardrails if result.verdict == "worse"]
    if harmed:
        return f"Don't ship {variant}: it harms guardrail {_listed(harmed)}."
    judged = primaries or guardrails
    if not any(result.effect is not None for result in judged):
        reason = judged[0].unsupported if judged else "no metrics"
        return f"No decision for {variant}: no primary metric could be analysed ({reason})."
    worse = [result for result in primaries if result.verdict == "worse"]
    better = [result for result in primaries if result.verdict == "better"]
    unchecked = _unchecked(results)
    if worse and better:
        return (
            f"Don't ship {variant} as it is: {_listed(better)} improved but {_listed(worse)} got "
            "worse; weigh the trade-off."
        )
    if worse:
        return f"Don't ship {variant}: {_listed(worse)} got worse."
    if better:
        return f"Ship {variant}: {_listed(better)} improved{_evidence(analysis)}.{unchecked}"
    return _no_difference(analysis, variant) + unchecked


def _evidence(analysis: ExperimentAnalysis) -> str:
    if analysis.method == "bayesian":
        return " (credible interval excludes zero)"
    if analysis.method == "sequential":
        return f" (confidence sequence, {_CORRECTION_NAMES[analysis.correction]} p-values)"
    return f" ({_CORRECTION_NAMES[analysis.correction]}-corrected p-values)"


def _unchecked(results: list[MetricResult]) -> str:
    """What the sentence cannot vouch for: guardrails and metrics without a result."""
    guardrails = [r.metric for r in results if r.effect is None and r.guardrail]
    primaries = [r.metric for r in results if r.effect is None and not r.guardrail]
    notes = ""
    if guardrails:
        notes += (
            f" Guardrail {', '.join(guardrails)} could not be checked: check it before shipping."
        )
    if primaries:
        notes += f" {', '.join(primaries)} could not be analysed (the table says why)."
    return notes


def _no_difference(analysis: ExperimentAnalysis, variant: str) -> str:
    if analysis.method == "sequential":
        return (
            f"Keep running {variant}: no metric has left its confidence sequence's zero yet "
            "(looking again later stays valid); stopping now means no detectable effect, not "
            "proof of none."
        )
    if analysis.method == "bayesian":
        return (
            f"No decision for {variant} yet: no metric's credible interval excludes zero; "
            "keep running to narrow it."
        )
    return (
        f"No decision for {variant} yet: no metric differs significantly at this sample size "
        f"({_CORRECTION_NAMES[analysis.correction]}). Keep running to the planned sample size; "
        "stopping now means no detectable effect, not proof of none."
    )


def _listed(results: list[MetricResult]) -> str:
    parts = []
    for result in results:
        assert result.effect is not None
        parts.append(f"{result.metric} ({describe_effect(result.effect)})")
    return ", ".join(parts)


def describe_effect(effect: Effect) -> str:
    """``+3.10%, 95% interval +1.20% to +5.00%``: the estimate with its interval."""
    level = f"{1 - effect.alpha:.0%}"
    if effect.difference == "relative":
        low, high, estimate = (
            f"{effect.ci_low:+.2%}",
            f"{effect.ci_high:+.2%}",
            f"{effect.estimate:+.2%}",
        )
    else:
        low, high, estimate = (
            f"{effect.ci_low:+.4g}",
            f"{effect.ci_high:+.4g}",
            f"{effect.estimate:+.4g}",
        )
    return f"{estimate}, {level} interval {low} to {high}"
