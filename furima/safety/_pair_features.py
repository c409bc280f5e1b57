"""Signals that two listings are, or are not, the same product: one number per pair each.

Lexical signals need no fitting: word overlap, model-number agreement (exact, one inside the
other's text, edit distance, shared prefix), numbers (sizes, capacities, versions), brand
agreement, price ratio and length differences. :class:`PairSide` is one side of a batch of
pairs, already cleaned; both sides play the same role, so every signal is symmetric.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from furima.safety._listing_tokens import TitleTokens, edit_similarity, read_tokens

__all__ = ["LEXICAL_FEATURES", "PairSide", "lexical_features"]

_MIN_FOUND_CODE = 4  # shorter codes are found inside unrelated text by chance
_CLOSE_CODE = 0.8  # edit similarity above which two codes count as the same model


@dataclass(frozen=True)
class PairSide:
    """One side of a batch of pairs, as plain lists (row ``i`` pairs with the other's ``i``).

    Attributes:
        names: Titles.
        texts: Title and description joined.
        brands: Brands, ``""`` where unknown.
        prices: Prices, NaN where unknown.
    """

    names: list[str]
    texts: list[str]
    brands: list[str]
    prices: np.ndarray

    def __len__(self) -> int:
        return len(self.names)


@dataclass(frozen=True)
class _Listing:
    name: TitleTokens
    text: TitleTokens
    brand: str
    price: float


def _listings(side: PairSide) -> list[_Listing]:
    return [
        _Listing(read_tokens(name), read_tokens(text), brand, float(price))
        for name, text, brand, price in zip(
            side.names, side.texts, side.brands, side.prices, strict=True
        )
    ]


def _jaccard(first: frozenset[str] | set[str], second: frozenset[str] | set[str]) -> float:
    union = len(first | second)
    return len(first & second) / union if union else math.nan


def _containment(first: set[str], second: set[str]) -> float:
    smaller = min(len(first), len(second))
    return len(first & second) / smaller if smaller else math.nan


def _word_overlap(a: _Listing, b: _Listing) -> dict[str, float]:
    name_a, name_b = set(a.name.words), set(b.name.words)
    missing_a = len(name_a - set(b.text.words))
    missing_b = len(name_b - set(a.text.words))
    return {
        "name_missing_min": float(min(missing_a, missing_b)),
        "name_missing_max": float(max(missing_a, missing_b)),
        "name_jaccard": _jaccard(name_a, name_b),
        "name_containment": _containment(name_a, name_b),
        "text_jaccard": _jaccard(set(a.text.words), set(b.text.words)),
        "first_word_match": float(a.name.words[:1] == b.name.words[:1] and bool(a.name.words)),
    }


def _found_length(codes: frozenset[str], squashed: str) -> int:
    """Length of the longest code that appears inside the other listing's squashed text."""
    found = [len(code) for code in codes if len(code) >= _MIN_FOUND_CODE and code in squashed]
    return max(found, default=0)


def _best_code_pair(first: frozenset[str], second: frozenset[str]) -> tuple[float, float]:
    """Best edit similarity and shared-prefix share over all pairs of codes."""
    best_similarity, best_prefix = 0.0, 0.0
    for code in first:
        for other in second:
            best_similarity = max(best_similarity, edit_similarity(code, other))
            prefix = len(_common_prefix(code, other)) / max(len(code), len(other))
            best_prefix = max(best_prefix, prefix)
    return best_similarity, best_prefix


def _common_prefix(first: str, second: str) -> str:
    for position, (char, other) in enumerate(zip(first, second, strict=False)):
        if char != other:
            return first[:position]
    return first[: min(len(first), len(second))]


def _model_numbers(a: _Listing, b: _Listing) -> dict[str, float]:
    codes_a, codes_b = a.name.codes, b.name.codes
    found = max(_found_length(codes_a, b.text.squashed), _found_length(codes_b, a.text.squashed))
    similarity, prefix = _best_code_pair(codes_a, codes_b)
    both = bool(codes_a) and bool(codes_b)
    agree = bool(codes_a & codes_b) or found > 0 or similarity >= _CLOSE_CODE
    return {
        "code_count_min": float(min(len(codes_a), len(codes_b))),
        "code_count_max": float(max(len(codes_a), len(codes_b))),
        "code_exact": float(len(codes_a & codes_b)),
        "code_jaccard": _jaccard(codes_a, codes_b),
        "code_found_length": float(found),
        "code_text_jaccard": _jaccard(a.text.codes, b.text.codes),
        "code_similarity": similarity if both else math.nan,
        "code_prefix": prefix if both else math.nan,
        "code_conflict": float(both and not agree),
    }


def _numbers(a: _Listing, b: _Listing) -> dict[str, float]:
    numbers_a, numbers_b = a.name.numbers, b.name.numbers
    both = bool(numbers_a) and bool(numbers_b)
    in_text = numbers_a & b.text.numbers | numbers_b & a.text.numbers
    return {
        "number_jaccard": _jaccard(numbers_a, numbers_b),
        "number_shared": float(len(numbers_a & numbers_b)),
        "number_in_text": float(len(in_text)),
        "number_conflict": float(both and not numbers_a & numbers_b),
    }


def _brand_in(brand: str, listing: _Listing) -> bool:
    words = brand.split()
    return bool(words) and (" ".join(words) in " ".join(listing.text.words))


def _brands(a: _Listing, b: _Listing) -> dict[str, float]:
    brand_a, brand_b = a.brand, b.brand
    match = float(brand_a == brand_b) if brand_a and brand_b else math.nan
    if not brand_a and not brand_b:
        found = math.nan
    else:
        found = float(_brand_in(brand_a, b) or _brand_in(brand_b, a))
    return {"brand_match": match, "brand_in_other": found}


def _price_and_length(a: _Listing, b: _Listing) -> dict[str, float]:
    prices_known = a.price > 0 and b.price > 0  # NaN compares false
    ratio = abs(math.log(a.price / b.price)) if prices_known else math.nan
    words_a, words_b = len(a.name.words), len(b.name.words)
    texts_a, texts_b = len(a.text.words), len(b.text.words)
    return {
        "price_log_ratio": ratio,
        "name_length_difference": float(abs(words_a - words_b)),
        "name_length_ratio": min(words_a, words_b) / max(words_a, words_b, 1),
        "text_length_ratio": min(texts_a, texts_b) / max(texts_a, texts_b, 1),
    }


_GROUPS: tuple[Callable[[_Listing, _Listing], dict[str, float]], ...] = (
    _word_overlap,
    _model_numbers,
    _numbers,
    _brands,
    _price_and_length,
)
_EMPTY = _Listing(read_tokens("a1b2"), read_tokens("a1b2"), "a", 1.0)
LEXICAL_FEATURES: tuple[str, ...] = tuple(
    name for group in _GROUPS for name in group(_EMPTY, _EMPTY)
)
"""Names of the lexical signals, in column order."""


def lexical_features(left: PairSide, right: PairSide) -> np.ndarray:
    """``[n_pairs, len(LEXICAL_FEATURES)]`` float64 signals (NaN: does not apply)."""
    rows = []
    for a, b in zip(_listings(left), _listings(right), strict=True):
        row: dict[str, float] = {}
        for group in _GROUPS:
            row.update(group(a, b))
        rows.append([row[name] for name in LEXICAL_FEATURES])
    return np.asarray(rows, dtype=np.float64).reshape(len(rows), len(LEXICAL_FEATURES))
