"""Safe trading: every listing checked against the marketplace's own policies.

Policies are data (a TOML or YAML file, :func:`load_policies`). A :class:`SafetyChecker`
learns from the catalog (and labelled listings when there are any) and gives each listing,
per policy, a score, a decision (allow, review, block) and the reasons a reviewer can check:

- text policies: keyword and pattern rules, a classifier on labelled listings, or zero-shot
  similarity to the policy's words in the multilingual sentence space (:class:`TextChecker`);
- photo policies: Yahoo open_nsfw, and photos unlike the catalog's product photos;
- duplicates: the same photo (perceptual hashes, photo vectors) or near-same text (MinHash),
  and the same product in other words (:class:`ProductMatcher`);
- prices far outside the price model's range.

Flagged listings go to a :class:`ReviewQueue` where people decide; their decisions are the
labels the next fit learns from.
"""

from __future__ import annotations

from furima.safety._checker import SafetyChecker
from furima.safety._duplicates import DuplicateFinder
from furima.safety._match_reasons import MatchExplanation
from furima.safety._matching import ProductMatcher
from furima.safety._photo_checks import NSFWScorer, ProductPhotoCheck
from furima.safety._policies import (
    Policy,
    PolicyKind,
    PolicySet,
    default_policies,
    load_policies,
    parse_policies,
)
from furima.safety._queue import ReviewQueue
from furima.safety._queue_records import Decision, QueueItem
from furima.safety._results import Action, Evidence, Finding, ListingCheck, PolicyVerdict
from furima.safety._rules import RuleMatch, RuleMatcher
from furima.safety._text_checks import TextChecker

__all__ = [
    "Action",
    "Decision",
    "DuplicateFinder",
    "Evidence",
    "Finding",
    "ListingCheck",
    "MatchExplanation",
    "NSFWScorer",
    "Policy",
    "PolicyKind",
    "PolicySet",
    "PolicyVerdict",
    "ProductMatcher",
    "ProductPhotoCheck",
    "QueueItem",
    "ReviewQueue",
    "RuleMatch",
    "RuleMatcher",
    "SafetyChecker",
    "TextChecker",
    "default_policies",
    "load_policies",
    "parse_policies",
]
