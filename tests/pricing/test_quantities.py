"""Quantities parsed from listing names, as magnitudes in one unit per family."""

from __future__ import annotations

import numpy as np
import pandas as pd

from furima.features._price_quantities import QUANTITY_NAMES, name_quantities


def test_units_packs_and_numbers() -> None:
    names = pd.Series(
        [
            "Envy Men Perfume Deodorant Spray - 120 ml",
            "Bisleri Water 1 L",
            "SanDisk 64GB Pen Drive",
            "Marwal Crystal Tortoise Showpiece  -  4 cm",
            "Roadster Women Pack of Two T-shirts",
            "Alina decor Set of 3 Cushion Covers",
            "Puma Men Black Running Shoes",
            None,
        ]
    )
    q = pd.DataFrame(name_quantities(names), columns=QUANTITY_NAMES)
    assert q.shape == (8, len(QUANTITY_NAMES))
    assert q.loc[0, "qty:volume"] == np.log1p(120)
    assert q.loc[1, "qty:volume"] == np.log1p(1000)  # litres become ml
    assert q.loc[2, "qty:memory"] == np.log1p(64)
    assert q.loc[3, "qty:length"] == np.log1p(4)
    assert q.loc[4, "qty:pack"] == np.log1p(2)
    assert q.loc[5, "qty:pack"] == np.log1p(3)
    assert q.loc[6].drop("qty:numbers").isna().all() and q.loc[6, "qty:numbers"] == 0
    assert q.loc[7, "qty:numbers"] == 0
    assert q.loc[2, "qty:largest"] == np.log1p(64)
