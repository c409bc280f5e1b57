"""Titles in the catalog's own style, composed from suggested fields and similar titles.

:class:`TitleStyle` reads the catalog's titles once and learns:

- which fields a title names (brand, gender, colour, ...) and in what order, from where their
  values sit in real titles (``"Puma Men Black Sports Shoes"``: brand, gender, colour, noun);
- how each value is written (``Men``, ``T-shirt`` for ``Tshirts``): the commonest words;
- the noun that ends a title of each product type (its commonest last one or two words).

:meth:`TitleStyle.compose` puts the filled fields in that order and adds the descriptive words
("Sports", "Printed", "Slim Fit") that most of the similar listings' titles share.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["TitleStyle", "title_tokens", "token_f1"]

_TOKEN = re.compile(r"[\w'&.+-]+", re.UNICODE)
NOUN, DESCRIPTORS = "_noun", "_descriptors"
_MIN_SLOT_SHARE = 0.25  # a field is part of the style when this share of titles names it
_DESCRIPTOR_SHARE = 0.34  # a word joins the title when this share of neighbours (weighted) use it
_MAX_DESCRIPTORS = 3


def title_tokens(text: str) -> list[str]:
    """Words of a title, as written."""
    return _TOKEN.findall(text)


def token_f1(predicted: str, truth: str) -> float:
    """Token-level F1 (case-insensitive bag of words), the usual title overlap score."""
    guess = Counter(t.lower() for t in title_tokens(predicted))
    real = Counter(t.lower() for t in title_tokens(truth))
    common = sum((guess & real).values())
    if common == 0:
        return 0.0
    precision, recall = common / sum(guess.values()), common / sum(real.values())
    return 2 * precision * recall / (precision + recall)


class TitleStyle:
    """The title pattern of a catalog; fit once, then compose titles for new listings."""

    _vocabulary: set[str] | None = None

    def fit(
        self, titles: Sequence[str], fields: Mapping[str, Sequence[Any]], noun_field: str
    ) -> TitleStyle:
        """Learn from ``titles`` and each row's field values; ``noun_field`` is the product
        type whose noun ends a title (e.g. ``article_type``)."""
        tokens = [title_tokens(str(t)) for t in titles]
        self.noun_field_ = noun_field
        self.nouns_ = _nouns(tokens, fields[noun_field])
        self.spellings_: dict[str, dict[str, str]] = {}
        positions: dict[str, list[float]] = defaultdict(list)
        for name, values in fields.items():
            if name == noun_field:
                continue
            spelling, found = _spellings(tokens, values)
            if len(found) >= _MIN_SLOT_SHARE * len(tokens):
                self.spellings_[name] = spelling
                positions[name] = found
        positions[NOUN] = [1.0]
        positions[DESCRIPTORS] = self._descriptor_positions(tokens, fields)
        self.order_ = sorted(positions, key=lambda name: float(np.mean(positions[name])))
        return self

    def _descriptor_positions(
        self, tokens: list[list[str]], fields: Mapping[str, Sequence[Any]]
    ) -> list[float]:
        """Relative positions of the words that name no field: where descriptors go."""
        found: list[float] = []
        vocabulary = self._slot_words()
        for row, words in enumerate(tokens[:5000]):
            own = self._value_words({n: fields[n][row] for n in fields})
            free = [
                i
                for i, w in enumerate(words[:-1])
                if w.lower() not in vocabulary and w.lower() not in own
            ]
            found.extend(i / max(len(words) - 1, 1) for i in free[1:])  # skip the brand-ish head
        return found or [0.5]

    def compose(
        self,
        values: Mapping[str, str | None],
        neighbour_titles: Sequence[str] = (),
        neighbour_weights: Sequence[float] | None = None,
    ) -> str:
        """A title from the filled ``values`` (field -> value or ``None``) and the titles of
        similar listings (most similar first)."""
        parts: list[str] = []
        known = self._slot_words() | self._value_words(values)
        for slot in self.order_:
            if slot == NOUN:
                noun = _given(values.get(self.noun_field_))
                parts.append(self.nouns_.get(noun, noun) if noun else "")
            elif slot == DESCRIPTORS:
                parts.extend(_descriptors(neighbour_titles, neighbour_weights, known))
            else:
                value = _given(values.get(slot))
                parts.append(self.spellings_[slot].get(value, value) if value else "")
        return " ".join(part for part in parts if part)

    def _value_words(self, values: Mapping[str, Any]) -> set[str]:
        """Lower-cased words of the given field values, as named and as spelled in titles."""
        words: set[str] = set()
        for name, raw in values.items():
            value = _given(raw)
            if value is None:
                continue
            spelled = self.spellings_.get(name, {}).get(value) or self.nouns_.get(value)
            for text in (value, spelled or ""):
                words.update(t.lower() for t in title_tokens(text))
        return words

    def _slot_words(self) -> set[str]:
        """Lower-cased words of every value a title slot can hold (any gender, colour, brand,
        noun): such words in similar titles describe *those* listings, not descriptors."""
        if self._vocabulary is not None:
            return self._vocabulary
        texts = [*self.nouns_.values()]
        for spellings in self.spellings_.values():
            texts.extend(spellings)
            texts.extend(spellings.values())
        self._vocabulary = vocabulary = {t.lower() for text in texts for t in title_tokens(text)}
        return vocabulary

    def get_state(self) -> dict[str, Any]:
        """JSON-ready learned style."""
        return {
            "noun_field": self.noun_field_,
            "nouns": self.nouns_,
            "spellings": self.spellings_,
            "order": self.order_,
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> TitleStyle:
        style = cls()
        style.noun_field_ = state["noun_field"]
        style.nouns_ = dict(state["nouns"])
        style.spellings_ = {name: dict(s) for name, s in state["spellings"].items()}
        style.order_ = list(state["order"])
        return style


def _given(value: Any) -> str | None:
    """``value`` as text, or ``None`` for missing values (None, NaN, NA, blank)."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


def _nouns(tokens: list[list[str]], types: Sequence[Any]) -> dict[str, str]:
    """Each product type's commonest title ending (one word, or two when usually two)."""
    last: dict[str, Counter[str]] = defaultdict(Counter)
    pair: dict[str, Counter[str]] = defaultdict(Counter)
    for words, given in zip(tokens, types, strict=True):
        kind = _given(given)
        if not words or kind is None:
            continue
        last[str(kind)][words[-1]] += 1
        if len(words) >= 2:
            pair[str(kind)][" ".join(words[-2:])] += 1
    nouns: dict[str, str] = {}
    for kind, counts in last.items():
        word, count = counts.most_common(1)[0]
        two, two_count = pair[kind].most_common(1)[0] if pair[kind] else ("", 0)
        nouns[kind] = two if two.endswith(word) and two_count >= 0.6 * count else word
    return nouns


def _spellings(
    tokens: list[list[str]], values: Sequence[Any]
) -> tuple[dict[str, str], list[float]]:
    """How each value is written in titles, and the relative positions where it was found."""
    written: dict[str, Counter[str]] = defaultdict(Counter)
    positions: list[float] = []
    for words, given in zip(tokens, values, strict=True):
        value = _given(given)
        if value is None or not words:
            continue
        match = _find(words, value)
        if match is not None:
            start, text = match
            written[value][text] += 1
            positions.append(start / max(len(words) - 1, 1))
    return {value: counts.most_common(1)[0][0] for value, counts in written.items()}, positions


def _find(words: list[str], value: str) -> tuple[int, str] | None:
    """Where ``value`` (one or more words) starts in ``words``, matching word prefixes
    case-insensitively (``Men`` matches ``Men's``), and the words as written."""
    wanted = [w.lower() for w in title_tokens(value)]
    if not wanted:
        return None
    width = len(wanted)
    for start in range(len(words) - width + 1):
        window = words[start : start + width]
        if all(w.lower().startswith(x) for w, x in zip(window, wanted, strict=True)):
            return start, " ".join(window)
    return None


def _descriptors(
    titles: Sequence[str], weights: Sequence[float] | None, known: set[str]
) -> list[str]:
    """Words most similar titles share that name no field, in their usual order."""
    if not titles:
        return []
    weight = np.ones(len(titles)) if weights is None else np.clip(np.asarray(weights), 1e-6, None)
    weight = weight / weight.sum()
    share: dict[str, float] = defaultdict(float)
    where: dict[str, list[float]] = defaultdict(list)
    spelled: dict[str, str] = {}
    for title, w in zip(titles, weight, strict=True):
        words = title_tokens(title)
        seen: set[str] = set()
        for i, word in enumerate(words[1:-1], start=1):  # first word is usually the brand
            key = word.lower().removesuffix("'s")  # "Men's", "Girl's" name a gender too
            if key in known or f"{key}s" in known or key in seen or key.isdigit():
                continue
            seen.add(key)
            share[key] += float(w)
            where[key].append(i / max(len(words) - 1, 1))
            spelled.setdefault(key, word)
    ranked = sorted(share, key=lambda key: -share[key])[:_MAX_DESCRIPTORS]
    chosen = [key for key in ranked if share[key] >= _DESCRIPTOR_SHARE]
    chosen.sort(key=lambda key: float(np.mean(where[key])))
    return [spelled[key] for key in chosen]
