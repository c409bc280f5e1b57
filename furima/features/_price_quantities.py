"""Quantities stated in listing names: volume, weight, memory, power, length, karat, pack size.

TF-IDF sees "33 cm" and "120 ml" as tokens but not as magnitudes; the price blend can use the
magnitude (a bigger showpiece, a larger bottle, a pack of 3 cost more). Each quantity is
converted to one unit per family and given as ``log1p(value)`` (NaN where the name states
none), plus how many numbers the name holds and the largest of them.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from furima.features._listing_text import as_text

__all__ = ["QUANTITY_NAMES", "name_quantities"]

# unit -> (family, factor to the family's unit)
_UNITS: dict[str, tuple[str, float]] = {
    "ml": ("volume", 1.0),
    "l": ("volume", 1000.0),
    "ltr": ("volume", 1000.0),
    "litre": ("volume", 1000.0),
    "liter": ("volume", 1000.0),
    "oz": ("volume", 29.6),
    "mg": ("mass", 0.001),
    "g": ("mass", 1.0),
    "gm": ("mass", 1.0),
    "gms": ("mass", 1.0),
    "kg": ("mass", 1000.0),
    "mb": ("memory", 0.001),
    "gb": ("memory", 1.0),
    "tb": ("memory", 1000.0),
    "mah": ("battery", 1.0),
    "w": ("power", 1.0),
    "watt": ("power", 1.0),
    "mm": ("length", 0.1),
    "cm": ("length", 1.0),
    "m": ("length", 100.0),
    "inch": ("length", 2.54),
    "inches": ("length", 2.54),
    "ft": ("length", 30.48),
    "k": ("karat", 1.0),
    "kt": ("karat", 1.0),
    "ct": ("karat", 1.0),
    "pc": ("count", 1.0),
    "pcs": ("count", 1.0),
    "piece": ("count", 1.0),
    "pieces": ("count", 1.0),
}
_FAMILIES = ("volume", "mass", "memory", "battery", "power", "length", "karat", "count", "pack")
_AMOUNT = re.compile(
    r"(\d+(?:\.\d+)?)\s*-?\s*(" + "|".join(sorted(_UNITS, key=len, reverse=True)) + r")\b"
)
_PACK = re.compile(r"\b(?:pack|set|combo|box)\s+of\s+(\d+|two|three|four|five|six|ten|twelve)\b")
_NUMBER_WORDS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "ten": 10, "twelve": 12}
_NUMBER = re.compile(r"\d+(?:\.\d+)?")

QUANTITY_NAMES = [*(f"qty:{family}" for family in _FAMILIES), "qty:numbers", "qty:largest"]


def name_quantities(names: pd.Series) -> np.ndarray:
    """``(n, len(QUANTITY_NAMES))`` float array of the quantities in each name."""
    texts = as_text(names)
    out = np.full((len(texts), len(QUANTITY_NAMES)), np.nan)
    for i, text in enumerate(texts):
        text = text.lower()
        for value, unit in _AMOUNT.findall(text):
            family, factor = _UNITS[unit]
            j = _FAMILIES.index(family)
            amount = np.log1p(float(value) * factor)
            out[i, j] = amount if np.isnan(out[i, j]) else max(out[i, j], amount)
        packs = [int(_NUMBER_WORDS.get(p, p)) for p in _PACK.findall(text)]
        if packs:
            out[i, _FAMILIES.index("pack")] = np.log1p(max(packs))
        numbers = [float(n) for n in _NUMBER.findall(text)]
        out[i, -2] = len(numbers)
        if numbers:
            out[i, -1] = np.log1p(max(numbers))
    return out
