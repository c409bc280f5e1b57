"""The resale-from-retail price case: Flipkart's selling price with the retail price given.

``flipkart_selling_price`` predicts ``discounted_price`` from the product name, brand and the
preset's categorical attributes, plus ``retail_price``. furima gets the retail price as a
numeric (float) attribute column when the installed catalog accepts ``{"numeric": [...]}`` in
a mapping, and not at all otherwise (or when ``withhold_retail``). Every row says how the
fitted model took it (``retail_price_as``: ``"numeric"``, ``"categorical"`` for a price model
that reads every attribute as a category, or ``"not used"``), so the same script measures
furima before and after it learns to use numbers. The baselines do not depend on that: Ridge
on the classic TF-IDF plus one-hot (:class:`RidgeBaseline`) with ``log1p(retail_price)`` as
one more column, and the same Ridge on the text alone.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from furima.catalog import ColumnMapping

__all__ = [
    "RETAIL_FEATURE",
    "SELLING_FILE",
    "PricedData",
    "covered",
    "load_selling_price",
    "retail_price_as",
    "retail_ridge",
    "score_baselines",
    "selling_price_case",
]

SELLING_FILE = "listings/flipkart_sample.parquet"
RETAIL = "retail_price"
# The column that carries the retail price to the baseline, under a name no file uses.
RETAIL_FEATURE = "__retail_price__"
# The flipkart preset with the selling price as the target and the retail price as a number.
_SELLING_MAPPING: dict[str, object] = {
    "id": "uniq_id",
    "name": "product_name",
    "brand": "brand",
    "price": "discounted_price",
    "attributes": ["is_FK_Advantage_product", "product_rating", "overall_rating"],
}


@dataclass(frozen=True)
class PricedData:
    """One benchmark dataset: what furima sees, what the baselines see, and how.

    ``furima`` and ``baseline`` hold the same rows in the same order; ``retail`` is the
    retail price per row (``None`` where the dataset has none), which only furima's frame may
    carry, as the float attribute column ``retail_price``.
    """

    name: str
    path: Path
    furima: pd.DataFrame
    baseline: pd.DataFrame
    retail: np.ndarray | None = None

    def take(self, rows: np.ndarray) -> PricedData:
        """The same dataset restricted to ``rows`` (positions)."""
        return PricedData(
            name=self.name,
            path=self.path,
            furima=self.furima.iloc[rows].reset_index(drop=True),
            baseline=self.baseline.iloc[rows].reset_index(drop=True),
            retail=None if self.retail is None else self.retail[rows],
        )


def retail_ridge() -> Any:
    """:class:`RidgeBaseline`'s TF-IDF and one-hot plus ``log1p(retail price)`` as a column.

    The baseline the issue names for the resale-from-retail case: the same text features as
    the classic baseline, so a gain of furima over it is not the retail price alone. Fit and
    predict on frames carrying the retail price in :data:`RETAIL_FEATURE`.
    """
    from furima.pricing import RidgeBaseline

    class RetailRidge(RidgeBaseline):
        def _features(self, listings: pd.DataFrame, *, fit: bool = False) -> Any:
            import scipy.sparse as sp

            self.categorical_ = [c for c in self.categorical_ if c != RETAIL_FEATURE]
            retail = listings[RETAIL_FEATURE].to_numpy(np.float64)
            column = sp.csr_matrix(np.log1p(retail).reshape(-1, 1))
            return sp.hstack([super()._features(listings, fit=fit), column], format="csr")

    return RetailRidge()


def _numeric_mapping(withhold_retail: bool) -> ColumnMapping:
    """The selling-price mapping, with the retail price declared numeric when the installed
    catalog knows numeric attributes (and it is not withheld), else without it."""
    from furima.catalog import ColumnMapping
    from furima.exceptions import SchemaError

    if not withhold_retail:
        try:
            return ColumnMapping.from_dict({**_SELLING_MAPPING, "numeric": [RETAIL]})
        except (SchemaError, TypeError):
            pass
    return ColumnMapping.from_dict(_SELLING_MAPPING)


def load_selling_price(data: Path, *, withhold_retail: bool = False) -> PricedData:
    """Flipkart listings with a selling price and a finite positive retail price; furima's
    frame carries the retail price only as a float column, and not when ``withhold_retail``."""
    import pandas as pd

    from furima.catalog import read_listings

    path = data / SELLING_FILE
    mapping = _numeric_mapping(withhold_retail)
    listings = read_listings(path, mapping=mapping, on_error="skip").listings
    raw = pd.read_parquet(path, columns=["uniq_id", RETAIL])
    retail_of = pd.Series(raw[RETAIL].to_numpy(np.float64), index=raw["uniq_id"].astype(str))
    retail = retail_of.reindex(listings["listing_id"].astype(str)).to_numpy(np.float64)
    keep = listings["price"].notna().to_numpy() & np.isfinite(retail) & (retail > 0)
    listings = listings[keep].reset_index(drop=True)
    without = listings.drop(columns=[RETAIL], errors="ignore")
    return PricedData(
        name="flipkart_selling_price",
        path=path,
        furima=listings if _is_float(listings, RETAIL) else without,
        baseline=without,
        retail=retail[keep],
    )


def retail_price_as(model: Any) -> str:
    """How a fitted PriceSuggester took the retail price: as a number, as a category, or not."""
    if RETAIL in getattr(model, "numeric_columns_", ()):
        return "numeric"
    if RETAIL in getattr(model, "attribute_columns_", ()):
        return "categorical"
    return "not used"


def _is_float(listings: pd.DataFrame, column: str) -> bool:
    import pandas as pd

    return column in listings and pd.api.types.is_float_dtype(listings[column])


def score_baselines(train: PricedData, test: PricedData) -> dict[str, float]:
    """RMSLE of the baselines fitted on ``train``, scored on ``test``, and their seconds.

    ``baseline`` is the strongest baseline given the same columns as furima could have:
    Ridge with the retail price where there is one, the classic Ridge otherwise.
    """
    from furima.pricing import RidgeBaseline, rmsle

    truth = test.baseline["price"]
    started = time.perf_counter()
    text_only = rmsle(truth, RidgeBaseline().fit(train.baseline).predict(test.baseline))
    scores = {"baseline_text_only": text_only, "baseline_fit_s": time.perf_counter() - started}
    if train.retail is None or test.retail is None:
        return {"baseline": text_only, **scores}
    started = time.perf_counter()
    model = retail_ridge().fit(train.baseline.assign(**{RETAIL_FEATURE: train.retail}))
    with_retail = rmsle(truth, model.predict(test.baseline.assign(**{RETAIL_FEATURE: test.retail})))
    return {**scores, "baseline": with_retail, "baseline_fit_s": time.perf_counter() - started}


def selling_price_case(data: Path, seed: int, *, withhold_retail: bool = False) -> dict[str, Any]:
    """The holdout row: the existing Flipkart case's random 80/20 split, on these rows."""
    from sklearn.model_selection import train_test_split

    from furima.pricing import PriceSuggester, rmsle

    started_case = time.perf_counter()
    dataset = load_selling_price(data, withhold_retail=withhold_retail)
    train_rows, test_rows = train_test_split(
        np.arange(len(dataset.furima)), test_size=0.2, random_state=seed
    )
    train, test = dataset.take(train_rows), dataset.take(test_rows)
    baselines = score_baselines(train, test)
    started = time.perf_counter()
    model = PriceSuggester(random_state=seed).fit(train.furima)
    fit_s = time.perf_counter() - started
    truth = test.furima["price"].to_numpy(np.float64)
    furima = rmsle(truth, model.predict(test.furima))
    interval = model.predict_interval(test.furima)
    return {
        "benchmark": "price",
        "dataset": dataset.name,
        "metric": "rmsle",
        "target": "discounted_price",
        "retail_price_as": retail_price_as(model),
        "furima": round(furima, 4),
        "baseline": round(baselines["baseline"], 4),
        "baseline_name": "ridge_tfidf_onehot_plus_log_retail_price",
        "baseline_text_only": round(baselines["baseline_text_only"], 4),
        "improvement": round(1 - furima / baselines["baseline"], 4),
        "coverage_80": round(covered(interval, truth), 4),
        "fit_s": round(fit_s, 2),
        "baseline_fit_s": round(baselines["baseline_fit_s"], 2),
        "suggest_ms_p50": round(_suggest_ms(model, test.furima), 2),
        "rows": len(dataset.furima),
        "test_rows": len(test.furima),
        "seconds": round(time.perf_counter() - started_case, 1),
        "data_sha256": _sha256(dataset.path),
        "seed": seed,
    }


def covered(interval: np.ndarray, truth: np.ndarray) -> float:
    """Share of true prices inside their suggested range."""
    return float(np.mean((interval[:, 0] <= truth) & (truth <= interval[:, 1])))


def _suggest_ms(model: Any, listings: pd.DataFrame, n: int = 200) -> float:
    """p50 of single-listing suggest() calls, as benchmarks/price.py measures it."""
    timings = []
    for i in range(min(n, len(listings))):
        started = time.perf_counter()
        model.suggest(listings.iloc[[i]])
        timings.append(time.perf_counter() - started)
    return float(np.median(timings) * 1000)


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]
