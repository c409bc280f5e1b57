"""What a product title says in tokens: words, model numbers, numbers, and a brand guess.

Two listings of the same product often share little wording but the same model number
("LDS4821WW", "lds-4821ww") and the same sizes and versions ("4.0 cu. ft.", "2007"). This
module reads those out of a text once, so pair features compare sets rather than strings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

__all__ = ["TitleTokens", "edit_similarity", "read_tokens", "squash"]

_TOKEN = re.compile(r"[a-z0-9]+(?:[-/.][a-z0-9]+)*")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_MEASURE = re.compile(r"(\d+(?:\.\d+)?)-?([a-z]{1,5})")
_VERSION = re.compile(r"[a-z]{1,3}(\d{1,2})")  # v10, cs3, x3: a version or size in a code
_JOINERS = re.compile(r"[-/.]")
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
_UNITS = frozenset(
    [
        "gb",
        "mb",
        "tb",
        "kb",
        "ghz",
        "mhz",
        "hz",
        "khz",
        "mm",
        "cm",
        "m",
        "in",
        "inch",
        "ft",
        "lb",
        "lbs",
        "oz",
        "kg",
        "g",
        "w",
        "kw",
        "v",
        "mah",
        "mp",
        "x",
        "ms",
        "pc",
        "pcs",
        "pk",
        "pack",
        "ct",
        "th",
        "nd",
        "rd",
        "st",
        "bit",
        "mbps",
        "gbps",
        "rpm",
        "db",
        "cu",
        "qt",
        "gal",
        "l",
        "ml",
        "hr",
        "hrs",
        "min",
        "yr",
        "yrs",
        "p",
        "i",
        "k",
        "d",
    ]
)
_MIN_CODE = 3
_MIN_DIGIT_CODE = 5


@dataclass(frozen=True)
class TitleTokens:
    """A text read once: its words, model-number-like codes, numbers and squashed form.

    Attributes:
        words: Lower-case word tokens (``"lds4821ww"``, ``"white"``, ``"4.0"``).
        codes: Model-number-like tokens, squashed (letters and digits mixed, or 5+ digits;
            hyphens, slashes and dots removed): ``"lds4821ww"``, ``"nn4tsblk"``.
        numbers: Numeric values, also those inside measures (``"4"`` from ``"4.0"``,
            ``"320"`` from ``"320gb"``), written without trailing zeros.
        squashed: The whole text with everything but letters and digits removed, so a code
            split differently (``"lm-af30u3"``, ``"lm af30u3"``) is still found in it.
    """

    words: tuple[str, ...]
    codes: frozenset[str]
    numbers: frozenset[str]
    squashed: str


@lru_cache(maxsize=65_536)
def read_tokens(text: str) -> TitleTokens:
    """Tokens of ``text`` (cached: catalogs repeat the same titles across many pairs)."""
    lowered = text.lower()
    words = tuple(_TOKEN.findall(lowered))
    codes: set[str] = set()
    numbers: set[str] = set()
    for word in words:
        _classify(word, codes, numbers)
    return TitleTokens(words, frozenset(codes), frozenset(numbers), _NOT_ALNUM.sub("", lowered))


def _classify(word: str, codes: set[str], numbers: set[str]) -> None:
    if _NUMBER.fullmatch(word):
        if len(word) >= _MIN_DIGIT_CODE and "." not in word:
            codes.add(word)  # a part or catalog number, not a size
        else:
            numbers.add(_plain_number(word))
        return
    measure = _MEASURE.fullmatch(word)
    if measure and measure.group(2) in _UNITS:
        numbers.add(_plain_number(measure.group(1)))
        return
    code = squash(word)
    version = _VERSION.fullmatch(code)
    if version:
        numbers.add(_plain_number(version.group(1)))
    has_digit = any(char.isdigit() for char in code)
    if (
        has_digit
        and len(code) >= _MIN_CODE
        and (not code.isdigit() or len(code) >= _MIN_DIGIT_CODE)
    ):
        codes.add(code)


def _plain_number(text: str) -> str:
    return text.rstrip("0").rstrip(".") if "." in text else text.lstrip("0") or "0"


def squash(word: str) -> str:
    """``word`` with hyphens, slashes and dots removed: ``"nn4-ts-blk"`` -> ``"nn4tsblk"``."""
    return _JOINERS.sub("", word)


def edit_similarity(first: str, second: str) -> float:
    """1 - Levenshtein distance / longer length, in [0, 1] (1: equal)."""
    if first == second:
        return 1.0
    if not first or not second:
        return 0.0
    previous = list(range(len(second) + 1))
    for row, char in enumerate(first, start=1):
        current = [row]
        for column, other in enumerate(second, start=1):
            cost = 0 if char == other else 1
            current.append(min(previous[column] + 1, current[-1] + 1, previous[column - 1] + cost))
        previous = current
    return 1.0 - previous[-1] / max(len(first), len(second))
