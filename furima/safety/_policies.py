"""Policies as data: the marketplace's rules, each with a description, examples, rules, an
action and a threshold."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from furima.safety._results import Action

__all__ = ["Policy", "PolicyKind"]


class PolicyKind(StrEnum):
    """Which check scores a policy."""

    TEXT = "text"  # rules, a classifier on labelled listings, zero-shot similarity
    NSFW_PHOTO = "nsfw_photo"  # open_nsfw on the listing's photo
    PRODUCT_PHOTO = "product_photo"  # the photo is not like any product photo in the catalog
    DUPLICATE = "duplicate"  # the same photo, text or product as another listing
    PRICE = "price"  # price far outside the price model's interval


@dataclass(frozen=True)
class Policy:
    """One rule of the marketplace.

    Attributes:
        name: Short id (``[a-z][a-z0-9_]*``), used in results, the queue and labels.
        description: What breaks the policy, in plain words (any language).
        kind: Which check scores it.
        examples: Listings texts that break it (zero-shot evidence before labels exist).
        keywords: Words or phrases that match case-insensitively as whole words.
        patterns: Regular expressions (Python syntax, case-insensitive).
        action: What happens to a listing whose score reaches ``threshold``.
        threshold: Score in (0, 1) at which the action applies.
        line: The line of the policy file where the policy starts (for messages).
    """

    name: str
    description: str
    kind: PolicyKind = PolicyKind.TEXT
    examples: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    action: Action = Action.REVIEW
    threshold: float = 0.5
    line: int | None = None
