"""Findings with reasons a seller understands and evidence a reviewer can check.

A finding's score is the higher of its rule score (1.0 on any match) and its model score.
Matched rules are always reported; the model's side (its top words, the nearest listing known
to break the policy, the nearest example of the policy) only once the model score reaches half
the policy's threshold, so clean listings carry no noise.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from furima.safety._policies import Policy
from furima.safety._results import Evidence, Finding
from furima.safety._rules import RuleMatch

if TYPE_CHECKING:
    from furima.safety._text_models import SupervisedModel, TextFeatures

__all__ = ["NO_TEXT", "Explainer"]

NO_TEXT = "no text to check"
SIMILAR_EVIDENCE = 0.5  # sentence cosine from which a known violation is shown
SIMILAR_REASON = 0.8  # ... and from which it is a reason of its own
_SHORT = 120


class Explainer:
    """Builds findings from scores and what backs them.

    Args:
        examples: Per policy, sentence vectors of its examples (zero-shot policies).
        known: Per policy, sentence vectors and ids of listings known to break it.
        supervised: Per policy, its fitted classifier.
        features: The classifiers' text features (for their words).
    """

    def __init__(
        self,
        examples: dict[str, np.ndarray],
        known: dict[str, tuple[np.ndarray, list[str]]],
        supervised: dict[str, SupervisedModel],
        features: TextFeatures | None,
    ) -> None:
        self.examples = examples
        self.known = known
        self.supervised = supervised
        self.features = features
        self._terms: list[str] | None = None

    def findings(
        self,
        policy: Policy,
        model: np.ndarray,
        matches: Sequence[list[RuleMatch]],
        empty: np.ndarray,
        vectors: np.ndarray | None,
        features: Any,
    ) -> list[Finding]:
        """One finding per text for ``policy``."""
        explain = np.flatnonzero((model >= policy.threshold / 2) & ~empty)
        words = self._words(policy.name, features, explain)
        known = _nearest(vectors, explain, *self._known(policy.name))
        example = _nearest(vectors, explain, self.examples.get(policy.name), list(policy.examples))
        out = []
        for row, rules in enumerate(matches):
            if empty[row]:
                out.append(Finding(score=0.0, reasons=(NO_TEXT,)))
                continue
            reasons = [match.reason for match in rules]
            evidence = [match.evidence() for match in rules]
            if row in words or row in known or row in example:
                self._add_model_side(
                    policy, words.get(row), known.get(row), example.get(row), reasons, evidence
                )
            score = max(float(model[row]), 1.0 if rules else 0.0)
            out.append(Finding(score=score, reasons=tuple(reasons), evidence=tuple(evidence)))
        return out

    def _add_model_side(
        self,
        policy: Policy,
        words: list[str] | None,
        known: tuple[str, float] | None,
        example: tuple[str, float] | None,
        reasons: list[str],
        evidence: list[Evidence],
    ) -> None:
        if known is not None and known[1] >= SIMILAR_REASON:
            reasons.append(f"very similar to listing {known[0]}, which broke policy {policy.name}")
        if words:
            quoted = ", ".join(f'"{word}"' for word in words)
            reasons.append(
                f"its wording is typical of listings that break policy {policy.name}: {quoted}"
            )
            evidence.append(Evidence(kind="words", detail=quoted))
        elif policy.name not in self.supervised:
            reasons.append(
                f"it reads like what policy {policy.name} forbids ({_gist(policy.description)})"
            )
        if known is not None and known[1] >= SIMILAR_EVIDENCE:
            evidence.append(
                Evidence(
                    kind="similar_listing",
                    detail=f"a listing known to break policy {policy.name}",
                    listing_id=known[0],
                    similarity=round(known[1], 3),
                )
            )
        if example is not None:
            evidence.append(
                Evidence(kind="example", detail=example[0], similarity=round(example[1], 3))
            )

    def _words(self, name: str, features: Any, rows: np.ndarray) -> dict[int, list[str]]:
        model = self.supervised.get(name)
        if model is None or self.features is None or not len(rows):
            return {}
        if self._terms is None:
            self._terms = self.features.word_terms()
        tops = model.top_words(features[rows], self._terms, self.features.n_words)
        return {int(row): top for row, top in zip(rows, tops, strict=True)}

    def _known(self, name: str) -> tuple[np.ndarray | None, list[str]]:
        vectors, ids = self.known.get(name, (None, []))
        return vectors, ids


def _nearest(
    vectors: np.ndarray | None, rows: np.ndarray, candidates: np.ndarray | None, labels: list[str]
) -> dict[int, tuple[str, float]]:
    """Per row, the closest candidate's label and cosine similarity."""
    if vectors is None or candidates is None or not len(candidates) or not len(rows):
        return {}
    similarity = vectors[rows] @ candidates.T
    best = similarity.argmax(axis=1)
    return {
        int(row): (labels[int(b)], float(similarity[i, b]))
        for i, (row, b) in enumerate(zip(rows, best, strict=True))
    }


def _gist(description: str) -> str:
    """The description's first clause: "Weapons and their parts: firearms, ..." -> "Weapons
    and their parts"."""
    clause = re.split(r"[:;.\u3002\uff1a]", description, maxsplit=1)[0].strip()
    return _short(clause or description)


def _short(text: str) -> str:
    return text if len(text) <= _SHORT else text[: _SHORT - 1].rstrip() + "…"
