"""A policy's keyword and pattern rules, compiled once and matched against listing texts.

Keywords match case-insensitively as whole words; a keyword written in Japanese, Chinese or
Korean script matches anywhere (those scripts put no spaces between words), and a Latin word
next to such script still counts as whole ("LINEで連絡"). Text and keywords are compared after
Unicode NFKC normalisation, so full-width letters and digits match too; spans always point
into the text as given. A rule match is certain: it scores 1.0.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from furima.safety._policies import Policy
from furima.safety._results import Evidence

__all__ = ["RuleMatch", "RuleMatcher"]

# Hiragana, katakana, CJK ideographs (and extension A, compatibility), half-width katakana,
# Hangul syllables: scripts written without spaces between words.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f\uac00-\ud7af"
_CJK_CHAR = re.compile(f"[{_CJK}]")
_WORD_NOT_CJK = rf"[^\W{_CJK}]"  # a letter, digit or '_' of a space-separated script


@dataclass(frozen=True)
class RuleMatch:
    """One rule of one policy found in one text.

    Attributes:
        policy: The policy's name.
        rule: ``keyword`` or ``pattern``.
        source: The keyword or pattern as the policy file writes it.
        text: What matched, as the listing writes it.
        span: ``(start, end)`` of the match in the listing text.
    """

    policy: str
    rule: str
    source: str
    text: str
    span: tuple[int, int]

    @property
    def reason(self) -> str:
        """The match in words a seller understands."""
        return f'contains "{self.text}" (rule of policy {self.policy})'

    def evidence(self) -> Evidence:
        """The match as evidence a reviewer can check."""
        return Evidence(kind="rule", detail=f'{self.rule} "{self.source}" matched "{self.text}"')


class RuleMatcher:
    """The keyword and pattern rules of one policy, compiled (all keywords in one regex).

    Args:
        policy: The policy whose ``keywords`` and ``patterns`` to match.
    """

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self._keywords = _keyword_regex(policy.keywords)
        self._patterns = [
            (pattern, re.compile(pattern, re.IGNORECASE)) for pattern in policy.patterns
        ]

    @property
    def empty(self) -> bool:
        """True when the policy has no rules at all."""
        return self._keywords is None and not self._patterns

    def matches(self, text: str) -> list[RuleMatch]:
        """Every keyword and pattern match in ``text``, in reading order."""
        if self.empty or not text:
            return []
        normal, origin = _normalise(text)
        found: list[RuleMatch] = []
        if self._keywords is not None:
            for match in self._keywords.finditer(normal):
                keyword = self.policy.keywords[int(str(match.lastgroup)[1:])]
                found.append(self._match("keyword", keyword, text, origin, match.span()))
        for pattern, compiled in self._patterns:
            for match in compiled.finditer(normal):
                if match.end() > match.start():
                    found.append(self._match("pattern", pattern, text, origin, match.span()))
        return sorted(found, key=lambda item: item.span)

    def score(self, text: str) -> float:
        """1.0 when any rule matches ``text``, else 0.0."""
        return 1.0 if self.matches(text) else 0.0

    def _match(
        self, rule: str, source: str, text: str, origin: Sequence[int], span: tuple[int, int]
    ) -> RuleMatch:
        start, end = origin[span[0]], origin[span[1] - 1] + 1
        return RuleMatch(self.policy.name, rule, source, text[start:end], (start, end))


def _keyword_regex(keywords: Sequence[str]) -> re.Pattern[str] | None:
    if not keywords:
        return None
    order = sorted(range(len(keywords)), key=lambda i: -len(keywords[i]))  # longest first
    parts = [f"(?P<k{i}>{_keyword_pattern(keywords[i])})" for i in order]
    return re.compile("|".join(parts), re.IGNORECASE)


def _keyword_pattern(keyword: str) -> str:
    words = unicodedata.normalize("NFKC", keyword).split()
    body = r"\s+".join(re.escape(word) for word in words)
    first, last = words[0][0], words[-1][-1]
    before = rf"(?<!{_WORD_NOT_CJK})" if _bounded(first) else ""
    after = rf"(?!{_WORD_NOT_CJK})" if _bounded(last) else ""
    return f"{before}{body}{after}"


def _bounded(char: str) -> bool:
    """Whether a keyword edge needs a word boundary: a word character outside CJK scripts."""
    return bool(re.match(r"\w", char)) and not _CJK_CHAR.match(char)


def _normalise(text: str) -> tuple[str, Sequence[int]]:
    """NFKC-normalised text and, per character of it, the index of its source character."""
    if text.isascii() or unicodedata.is_normalized("NFKC", text):
        return text, range(len(text))
    pieces: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        normal = unicodedata.normalize("NFKC", char)
        pieces.append(normal)
        origin.extend([index] * len(normal))
    return "".join(pieces), origin
