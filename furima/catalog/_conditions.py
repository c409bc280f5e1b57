"""Condition words: a marketplace's table from the words sellers write to the levels 1..5.

Level 1 is the best condition and 5 the worst, as in Mercari's ``item_condition_id``. A
listing's condition may be the level itself (``3``, ``"3"``) or a word in the table; words
are matched case-insensitively, with surrounding whitespace trimmed, runs of spaces, ``-``
and ``_`` read as one space (``"Like-New"`` is ``"like new"``).

:data:`MERCARI_CONDITIONS`, the default, holds Mercari's five levels and their common
variants. The choices among the variants follow Mercari's own definitions:

=====  ============  ================================================================
level  name          variants
=====  ============  ================================================================
1      New           new with tags, NWT, brand new, new in box, NIB, new with box
2      Like new      new without tags, NWOT (Mercari: "new without tags, unused"),
                     open box, mint, excellent
3      Good          used, gently used, pre-owned, very good (a plain "used" says no
                     flaw, so it is Mercari's "gently used")
4      Fair          acceptable, well used
5      Poor          damaged, for parts, for parts or not working
=====  ============  ================================================================

:data:`MERCARI_JP_CONDITIONS` holds Mercari Japan's six labels; its last two (傷や汚れあり,
全体的に状態が悪い) both map to 5. A mapping may give its own table in any language
(``{"conditions": {"新品": 1, "目立った傷や汚れなし": 2}}``), which replaces the default
words; numbers 1..5 are always accepted.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from furima.exceptions import SchemaError

__all__ = [
    "CONDITION_LEVELS",
    "CONDITION_SCALES",
    "MERCARI_CONDITIONS",
    "MERCARI_JP_CONDITIONS",
    "ConditionScale",
    "condition_scale",
]

CONDITION_LEVELS: tuple[int, int] = (1, 5)
_SEPARATORS = re.compile(r"[\s\-_]+")
_SHOWN_WORDS = 6


def normalised_word(word: str) -> str:
    """``word`` as tables compare it: case-folded, trimmed, ``-``/``_``/spaces as one space."""
    return _SEPARATORS.sub(" ", word.casefold()).strip()


@dataclass(frozen=True)
class ConditionScale:
    """A marketplace's condition words, each mapped to a level 1 (best) .. 5 (worst).

    Args:
        entries: ``(word, level)`` pairs; the first word given for a level names it in
            messages. Words are compared after :func:`normalised_word`.
        name: What the table is called in messages (``"mercari"``, ``"mapping"``).

    Raises:
        SchemaError: A level outside 1..5, an empty word, or a word given two levels.
    """

    entries: tuple[tuple[str, int], ...]
    name: str = "custom"

    def __post_init__(self) -> None:
        low, high = CONDITION_LEVELS
        seen: dict[str, int] = {}
        for word, level in self.entries:
            key = normalised_word(word) if isinstance(word, str) else ""
            if not key:
                raise SchemaError(f"condition words must be non-empty text, got {word!r}.")
            if isinstance(level, bool) or not isinstance(level, int) or not low <= level <= high:
                raise SchemaError(
                    f"condition word {word!r} must map to an integer level {low}..{high} "
                    f"(1 best, {high} worst), got {level!r}."
                )
            if seen.setdefault(key, level) != level:
                raise SchemaError(
                    f"condition word {word!r} is given two levels ({seen[key]} and {level})."
                )

    @classmethod
    def from_dict(cls, words: Mapping[str, object], *, name: str = "mapping") -> ConditionScale:
        """A table from ``{"word": level, ...}`` (a mapping file's ``conditions``)."""
        entries = tuple((str(word), level) for word, level in words.items())
        return cls(entries, name=name)  # type: ignore[arg-type]  # levels checked on init

    def to_dict(self) -> dict[str, int]:
        """The table as ``{"word": level}``, as :meth:`from_dict` reads it."""
        return dict(self.entries)

    @cached_property
    def _levels(self) -> dict[str, int]:
        return {normalised_word(word): level for word, level in self.entries}

    def level(self, word: str) -> int | None:
        """The level of ``word``, or ``None`` when the table does not know it."""
        return self._levels.get(normalised_word(word))

    def levels(self, words: pd.Series) -> np.ndarray:
        """Levels of a text column as floats: NaN where a word is missing or unknown."""
        keys = words.astype("string").str.casefold().str.replace(_SEPARATORS, " ", regex=True)
        found = keys.str.strip().map(self._levels, na_action="ignore")
        return np.asarray(pd.to_numeric(found, errors="coerce"), dtype=float)

    def known_words(self) -> str:
        """The words for messages: each level's name first, then the other words."""
        named: dict[int, str] = {}
        for word, level in self.entries:
            named.setdefault(level, word)
        first = [f"{level} {named[level]!r}" for level in sorted(named)]
        others = [repr(word) for word, level in self.entries if named[level] != word]
        shown = others[:_SHOWN_WORDS]
        more = f" and {len(others) - len(shown)} more" if len(others) > len(shown) else ""
        variants = f"; also {', '.join(shown)}{more}" if shown else ""
        return f"{', '.join(first)}{variants}"


MERCARI_CONDITIONS = ConditionScale(
    (
        ("New", 1),
        ("Like new", 2),
        ("Good", 3),
        ("Fair", 4),
        ("Poor", 5),
        ("new with tags", 1),
        ("NWT", 1),
        ("brand new", 1),
        ("new in box", 1),
        ("NIB", 1),
        ("new with box", 1),
        ("new without tags", 2),
        ("NWOT", 2),
        ("open box", 2),
        ("mint", 2),
        ("excellent", 2),
        ("used", 3),
        ("gently used", 3),
        ("pre-owned", 3),
        ("very good", 3),
        ("acceptable", 4),
        ("well used", 4),
        ("damaged", 5),
        ("for parts", 5),
        ("for parts or not working", 5),
    ),
    name="mercari",
)
MERCARI_JP_CONDITIONS = ConditionScale(
    (
        ("新品、未使用", 1),
        ("新品", 1),
        ("未使用", 1),
        ("未使用に近い", 2),
        ("目立った傷や汚れなし", 3),
        ("やや傷や汚れあり", 4),
        ("傷や汚れあり", 5),
        ("全体的に状態が悪い", 5),
    ),
    name="mercari_jp",
)
CONDITION_SCALES: dict[str, ConditionScale] = {
    "mercari": MERCARI_CONDITIONS,
    "mercari_jp": MERCARI_JP_CONDITIONS,
}


def condition_scale(value: object) -> ConditionScale:
    """A mapping's ``conditions`` entry as a table: a built-in table's name or a word dict.

    Raises:
        SchemaError: An unknown table name, or anything else than a name or a dict.
    """
    if isinstance(value, ConditionScale):
        return value
    if isinstance(value, str):
        key = value.strip().lower()
        if key not in CONDITION_SCALES:
            raise SchemaError(
                f"unknown condition table {value!r}; built-in tables are "
                f'{list(CONDITION_SCALES)}, or give your own as {{"word": level, ...}}.'
            )
        return CONDITION_SCALES[key]
    if isinstance(value, Mapping) and value:
        return ConditionScale.from_dict(value)
    raise SchemaError(
        "mapping key 'conditions' must be a built-in table name "
        f'{list(CONDITION_SCALES)} or a non-empty object {{"word": level, ...}}, got {value!r}.'
    )
