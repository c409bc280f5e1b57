"""Safe trading: every listing checked against the marketplace's own policies.

Policies are data (a TOML or YAML file). Each listing gets, per policy, a score, a decision
(allow, review, block) and the reasons a reviewer can check; flagged listings go to a review
queue where people decide, and their decisions retrain the models.
"""

from __future__ import annotations

from furima.safety._policies import Policy, PolicyKind
from furima.safety._results import Action, Evidence, Finding, ListingCheck, PolicyVerdict

__all__ = [
    "Action",
    "Evidence",
    "Finding",
    "ListingCheck",
    "Policy",
    "PolicyKind",
    "PolicyVerdict",
]
