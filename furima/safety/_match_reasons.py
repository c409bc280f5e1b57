"""Why the matcher thinks two listings are, or are not, the same product, in words.

A reviewer checks a match by the same signals the model uses: model numbers, brand, the
numbers in the titles (sizes, versions), price and wording. :func:`explain_signals` turns a
pair's signal values into sentences that agree or disagree with a match.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from furima.safety._listing_tokens import TitleTokens, edit_similarity

__all__ = ["MatchExplanation", "explain_signals"]

_FAR_PRICES = 1.5  # price ratio above which prices count against a match
_SIMILAR_TITLES = 0.6
_DISSIMILAR_TITLES = 0.25
_CLOSE_CODE = 0.8


@dataclass(frozen=True)
class MatchExplanation:
    """A pair's match probability and the signals behind it.

    Attributes:
        probability: Probability that both listings are the same product.
        threshold: The matcher's decision threshold.
        match: ``probability >= threshold``.
        agree: Signals that say "same product", strongest first.
        disagree: Signals that say "different products", strongest first.
        signals: Every signal's value, by name (NaN: does not apply).
    """

    probability: float
    threshold: float
    match: bool
    agree: tuple[str, ...] = ()
    disagree: tuple[str, ...] = ()
    signals: Mapping[str, float] = field(default_factory=dict)

    @property
    def reasons(self) -> tuple[str, ...]:
        """The sentences for the decision first, then those against it."""
        first, second = (self.agree, self.disagree) if self.match else (self.disagree, self.agree)
        return first + second


def explain_signals(
    signals: Mapping[str, float],
    names: tuple[TitleTokens, TitleTokens],
    brands: tuple[str, str],
    prices: tuple[float, float],
) -> tuple[list[str], list[str]]:
    """Sentences that agree and disagree with a match, from one pair's signals."""
    agree: list[str] = []
    disagree: list[str] = []
    _model_numbers(signals, names, agree, disagree)
    _brands(signals, brands, agree, disagree)
    _numbers(names, agree, disagree)
    _prices(prices, agree, disagree)
    _wording(signals, agree, disagree)
    return agree, disagree


def _model_numbers(
    signals: Mapping[str, float],
    names: tuple[TitleTokens, TitleTokens],
    agree: list[str],
    disagree: list[str],
) -> None:
    codes_a, codes_b = names[0].codes, names[1].codes
    shared = sorted(codes_a & codes_b)
    if shared:
        agree.append(f"same model number on both: {', '.join(code.upper() for code in shared)}")
        return
    if signals.get("code_found_length", 0.0) > 0:
        agree.append("a model number of one listing appears in the other's text")
        return
    if not codes_a or not codes_b:
        return
    first, second, similarity = _closest_codes(codes_a, codes_b)
    if similarity >= _CLOSE_CODE:
        agree.append(
            f"model numbers nearly equal: {first.upper()} vs {second.upper()} "
            f"(edit similarity {similarity:.2f})"
        )
    else:
        disagree.append(f"model numbers differ: {first.upper()} vs {second.upper()}")


def _closest_codes(first: frozenset[str], second: frozenset[str]) -> tuple[str, str, float]:
    scored = [(edit_similarity(a, b), a, b) for a in sorted(first) for b in sorted(second)]
    similarity, code_a, code_b = max(scored)
    return code_a, code_b, similarity


def _brands(
    signals: Mapping[str, float], brands: tuple[str, str], agree: list[str], disagree: list[str]
) -> None:
    match = signals.get("brand_match", math.nan)
    if match == 1.0:
        agree.append(f"brand agrees: {brands[0]}")
    elif signals.get("brand_in_other", math.nan) == 1.0:
        brand = brands[0] or brands[1]
        agree.append(f"brand {brand} is named in the other listing")
    elif match == 0.0:
        disagree.append(f"brands differ: {brands[0]} vs {brands[1]}")
    elif signals.get("first_word_match") == 1.0:
        agree.append("titles start with the same word (often the brand)")


def _numbers(names: tuple[TitleTokens, TitleTokens], agree: list[str], disagree: list[str]) -> None:
    numbers_a, numbers_b = names[0].numbers, names[1].numbers
    shared = sorted(numbers_a & numbers_b)
    if shared:
        agree.append(f"same numbers in the titles (sizes, versions): {', '.join(shared)}")
    elif numbers_a and numbers_b:
        disagree.append(
            "numbers in the titles differ (sizes, versions): "
            f"{', '.join(sorted(numbers_a))} vs {', '.join(sorted(numbers_b))}"
        )


def _prices(prices: tuple[float, float], agree: list[str], disagree: list[str]) -> None:
    first, second = prices
    if not (first > 0 and second > 0):
        return
    ratio = max(first, second) / min(first, second)
    text = f"price ratio {ratio:.1f} ({first:g} vs {second:g})"
    (disagree if ratio >= _FAR_PRICES else agree).append(text)


def _wording(signals: Mapping[str, float], agree: list[str], disagree: list[str]) -> None:
    cosine = signals.get("tfidf_name_word", math.nan)
    if cosine >= _SIMILAR_TITLES:
        agree.append(f"titles share most of their wording (TF-IDF cosine {cosine:.2f})")
    elif cosine <= _DISSIMILAR_TITLES:
        disagree.append(f"titles share little wording (TF-IDF cosine {cosine:.2f})")
    embedding = signals.get("embedding_name_cosine", math.nan)
    if not math.isnan(embedding):
        target = agree if embedding >= _SIMILAR_TITLES else disagree
        target.append(
            f"title meaning {'close' if target is agree else 'apart'} "
            f"(sentence-embedding cosine {embedding:.2f})"
        )
