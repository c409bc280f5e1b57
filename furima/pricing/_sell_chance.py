"""The chance that a listing sells within N days, as a function of its asking price::

    model = SellChanceModel().fit(frame, price="asking_price", reference="reference_price",
                                  sold="sold", days="days", features=["category"])
    model.chance(frame, within_days=7)            # one probability per listing
    model.best_price(listing, within_days=7)      # (price, chance) maximising price * chance
    model.explain(listing, price=1200)            # "priced at 1,200, likely (72%) to sell ..."

A discrete-time survival model. Each listing is cut into the days it was up: a listing that
sold on day ``t`` contributes days ``1..t`` (a sale on day ``t``); one still unsold after being
watched for ``d`` days contributes days ``1..d``, all without a sale, and nothing after. So
an unsold listing watched for 3 days says nothing about days 4 to 7, and censoring is handled
without dropping or mislabelling anything. A LightGBM classifier learns the daily chance of a
sale from the day number, the log ratio of the asking price to the reference price, and any
features; the chance to sell within ``N`` days is ``1 - prod_{t <= N} (1 - daily_t)``.

The daily chance is constrained to never rise with the price ratio (a LightGBM monotone
constraint), so neither does the chance within N days: a higher price never reads as more
likely to sell. Trees do not extrapolate: beyond the price ratios seen in training the chance
stays flat, so :meth:`SellChanceModel.best_price` searches inside that range by default, and
:meth:`SellChanceModel.curve` marks prices outside it as ``extrapolated``.

Days are counted from when the listing was put up: a sale at ``days`` = 2.5 is a sale on day
3, a sale at ``days`` = 0 on day 1; an unsold listing watched for 2.5 days survived days 1 and
2. Listings watched longer than ``max_days`` count as unsold after ``max_days``.

The reference price can be any column; furima's own suggestion is the natural one::

    frame["reference_price"] = [s.price for s in PriceSuggester.load(path).suggest(frame)]

Features must not be derived from the asking price (a price bucket, say): the constraint holds
only for the price ratio, so such a feature could make a higher price look likelier to sell.
No real data with sale outcomes was available to build this on; it is tested against the
simulation in :mod:`furima.pricing._sell_simulation`, which makes no claim about real markets.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import numpy as np

from furima._artifacts import ArtifactKind, check_files, library_versions, save_atomically, stamp
from furima._artifacts import read_manifest as read_artifact_manifest
from furima.exceptions import (
    DataError,
    ModelFormatError,
    NotFittedError,
)
from furima.pricing import _sell_data as sell_data

if TYPE_CHECKING:
    import lightgbm
    import pandas as pd

__all__ = ["SellChanceModel"]

FORMAT = "furima.sell_chance_model"
FORMAT_VERSION = 1
_BOOSTER = "daily_chance.txt"
SELL_CHANCE_MODEL = ArtifactKind(
    format=FORMAT,
    version=FORMAT_VERSION,
    noun="furima chance-to-sell model",
    written_by="SellChanceModel.save()",
    too_new="in format {saved}; this furima reads format {supported} and older. Upgrade furima, "
    "or refit the model with this version.",
    damaged="the model is corrupt or was modified. Restore it or refit.",
)
_PARAMS = (
    "max_days",
    "n_estimators",
    "learning_rate",
    "num_leaves",
    "min_child_samples",
    "n_threads",
    "random_state",
)
_ROLES = ("price", "reference", "sold", "days")
_BLOCK = 50_000  # listings predicted at once, so memory stays bounded on big frames


class SellChanceModel:
    """Chance that a listing sells within N days at a given asking price (see module doc).

    Args:
        max_days: The longest horizon the model answers for; days after it are not learned
            (nor days after the longest any listing was watched).
        n_estimators: Boosting rounds of the daily-chance classifier.
        learning_rate: LightGBM learning rate.
        num_leaves: LightGBM leaves per tree.
        min_child_samples: LightGBM minimum listing-days per leaf.
        n_threads: Threads for LightGBM.
        random_state: Seed for LightGBM.
    """

    def __init__(
        self,
        *,
        max_days: int = 30,
        n_estimators: int = 200,
        learning_rate: float = 0.05,
        num_leaves: int = 15,
        min_child_samples: int = 100,
        n_threads: int = 1,
        random_state: int = 0,
    ) -> None:
        self.max_days = max_days
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.n_threads = n_threads
        self.random_state = random_state

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        frame: pd.DataFrame,
        *,
        price: str = "price",
        reference: str = "reference_price",
        sold: str = "sold",
        days: str = "days",
        features: Sequence[str] = (),
    ) -> Self:
        """Learn from listings with an asking price, a reference price, and an outcome.

        Args:
            frame: One row per listing.
            price: Column of asking prices (finite, above 0).
            reference: Column of reference prices, e.g. furima's price suggestion (same rule).
            sold: Column of 0/1 (or bool): did the listing sell while watched.
            days: Column of days to the sale, or, if unsold, days watched (not negative).
            features: Further columns: numbers, or text / categories (missing values allowed).
        """
        if (
            isinstance(self.max_days, bool)
            or not isinstance(self.max_days, int)
            or self.max_days < 1
        ):
            raise DataError(
                f"`max_days` must be a whole number above 0, but got {self.max_days!r}."
            )
        columns = dict(zip(_ROLES, (price, reference, sold, days), strict=True))
        features = sell_data.check_columns(frame, columns, list(features))
        log_ratio = sell_data.log_ratio(frame, price, reference, frame[price])
        outcome = sell_data.outcome(frame, sold, days)
        self.columns_ = columns
        self.features_ = [
            sell_data.feature_schema(frame[name]) | {"name": name} for name in features
        ]
        listing_rows, day, event = sell_data.listing_days(*outcome, self.max_days)
        if event.all() or not event.any():
            raise DataError(
                "The listings need both sales and listing-days without a sale to learn from, "
                f"but {'every' if event.all() else 'no'} watched day ends in a sale."
            )
        design = self._design(frame, log_ratio)[listing_rows]
        design[:, 1] = day
        self.booster_ = self._train(design, event)
        self.horizon_ = int(day.max())
        self.ratio_range_ = (
            float(np.quantile(log_ratio, 0.01)),
            float(np.quantile(log_ratio, 0.99)),
        )
        self.metrics_ = {
            "listings": len(frame),
            "sold": int(outcome[0].sum()),
            "unsold": int(len(frame) - outcome[0].sum()),
            "listing_days": len(event),
        }
        return self

    def _train(self, design: np.ndarray, event: np.ndarray) -> lightgbm.Booster:
        import lightgbm

        params = {
            "objective": "binary",
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_child_samples": self.min_child_samples,
            "monotone_constraints": [-1] + [0] * (design.shape[1] - 1),
            "num_threads": self.n_threads,
            "seed": self.random_state,
            "deterministic": True,
            "force_row_wise": True,
            "verbosity": -1,
        }
        categorical = [2 + i for i, f in enumerate(self.features_) if f["kind"] == "category"]
        data = lightgbm.Dataset(
            design,
            label=event,
            feature_name=self._feature_names(),
            categorical_feature=categorical or "auto",
            free_raw_data=True,
        )
        return lightgbm.train(params, data, num_boost_round=int(self.n_estimators))

    def _feature_names(self) -> list[str]:
        return ["log_price_ratio", "day"] + [f"f{i}" for i in range(len(self.features_))]

    def _design(self, frame: pd.DataFrame, log_ratio: np.ndarray) -> np.ndarray:
        """Rows of [log price ratio, day (filled in later), features...] per listing."""
        design = np.zeros((len(frame), 2 + len(self.features_)))
        design[:, 0] = log_ratio
        for i, feature in enumerate(self.features_):
            design[:, 2 + i] = sell_data.encode(frame[feature["name"]], feature)
        return design

    # ------------------------------------------------------------------ predict
    def chance(
        self,
        frame: pd.DataFrame,
        prices: float | Sequence[float] | np.ndarray | None = None,
        *,
        within_days: int = 7,
    ) -> np.ndarray:
        """The chance each listing sells within ``within_days`` days at its asking price.

        Args:
            frame: Listings with the reference column and the features the model learned.
            prices: Asking prices, one per row (or one for all); the price column when None.
            within_days: The horizon, 1 to ``max_days``.
        """
        self._check_fitted()
        within = self._check_horizon(within_days)
        reference = self.columns_["reference"]
        needed = [reference] + [f["name"] for f in self.features_]
        if prices is None:
            needed.append(self.columns_["price"])
        sell_data.require(frame, needed)
        asking = (
            frame[self.columns_["price"]]
            if prices is None
            else sell_data.prices(prices, len(frame))
        )
        log_ratio = sell_data.log_ratio(
            frame, "prices" if prices is not None else self.columns_["price"], reference, asking
        )
        listings = self._design(frame, log_ratio)
        blocks = [
            self._chance_within(listings[start : start + _BLOCK], within)
            for start in range(0, len(listings), _BLOCK)
        ]
        return np.concatenate(blocks) if blocks else np.zeros(0)

    def _chance_within(self, listings: np.ndarray, within: int) -> np.ndarray:
        """``1 - prod(1 - daily chance)`` over days 1..``within`` for each design row."""
        design = np.repeat(listings, within, axis=0)
        design[:, 1] = np.tile(np.arange(1, within + 1), len(listings))
        daily = np.asarray(self.booster_.predict(design)).reshape(len(listings), within)
        chance: np.ndarray = 1.0 - np.prod(1.0 - daily, axis=1)
        return chance

    def curve(
        self, listing: Any, prices: Sequence[float] | np.ndarray, *, within_days: int = 7
    ) -> pd.DataFrame:
        """The chance and expected proceeds (``price * chance``) of one listing at each price.

        Returns:
            Columns ``price``, ``chance``, ``expected_proceeds`` and ``extrapolated`` (the price
            ratio lies outside the middle 98% seen in training, where the chance is flat).
        """
        import pandas as pd

        row = sell_data.one_row(listing)
        asking = sell_data.prices(prices, None)
        chance = self.chance(
            row.loc[row.index.repeat(len(asking))], asking, within_days=within_days
        )
        ratio = np.log(asking / float(row[self.columns_["reference"]].iloc[0]))
        low, high = self.ratio_range_
        return pd.DataFrame(
            {
                "price": asking,
                "chance": chance,
                "expected_proceeds": asking * chance,
                "extrapolated": (ratio < low) | (ratio > high),
            }
        )

    def best_price(
        self,
        listing: Any,
        within_days: int = 7,
        candidates: Sequence[float] | np.ndarray | None = None,
    ) -> tuple[float, float]:
        """The price maximising expected proceeds ``price * chance`` within ``within_days``
        days, and its chance. ``candidates`` defaults to 81 prices evenly spaced in log over
        the price ratios seen in training (trees cannot judge prices outside them)."""
        self._check_fitted()
        if candidates is None:
            reference = float(sell_data.one_row(listing)[self.columns_["reference"]].iloc[0])
            candidates = reference * np.exp(np.linspace(*self.ratio_range_, 81))
        table = self.curve(listing, candidates, within_days=within_days)
        best = int(np.argmax(table["expected_proceeds"].to_numpy()))
        return float(table["price"].iloc[best]), float(table["chance"].iloc[best])

    def explain(self, listing: Any, price: float | None = None, *, within_days: int = 7) -> str:
        """One line for a seller, e.g. ``"priced at 1,200, likely (72%) to sell within a week"``;
        ``price`` defaults to the listing's asking price."""
        self._check_fitted()
        row = sell_data.one_row(listing)
        if price is None:
            sell_data.require(row, [self.columns_["price"]])
        asking = float(row[self.columns_["price"]].iloc[0]) if price is None else float(price)
        chance = float(self.chance(row, [asking], within_days=within_days)[0])
        word = "likely" if chance >= 0.65 else "unlikely" if chance < 0.35 else "as likely as not"
        span = sell_data.span(within_days)
        return f"priced at {asking:,.0f}, {word} ({chance:.0%}) to sell within {span}"

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """Write the model to folder ``path`` (manifest JSON + LightGBM text), atomically."""
        self._check_fitted()
        return save_atomically(Path(path), self._write)

    def _write(self, folder: Path) -> None:
        self.booster_.save_model(str(folder / _BOOSTER))
        stamp(
            folder,
            {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "versions": library_versions(("numpy", "lightgbm", "pandas")),
                "params": {name: getattr(self, name) for name in _PARAMS},
                "columns": self.columns_,
                "features": self.features_,
                "ratio_range": list(self.ratio_range_),
                "horizon": self.horizon_,
                "metrics": self.metrics_,
            },
        )

    @classmethod
    def load(cls, path: str | Path) -> SellChanceModel:
        """Rebuild a model written by :meth:`save`."""
        import lightgbm

        path = Path(path)
        manifest = read_artifact_manifest(path, SELL_CHANCE_MODEL)
        check_files(path, manifest, SELL_CHANCE_MODEL)
        try:
            model = cls(**manifest["params"])
            model.columns_ = {role: str(manifest["columns"][role]) for role in _ROLES}
            model.features_ = list(manifest["features"])
            low, high = manifest["ratio_range"]
            model.ratio_range_ = (float(low), float(high))
            model.metrics_ = dict(manifest["metrics"])
            model.horizon_ = int(manifest["horizon"])
            model.booster_ = lightgbm.Booster(model_file=str(path / _BOOSTER))
        except (KeyError, TypeError, ValueError, lightgbm.basic.LightGBMError) as error:
            raise ModelFormatError(
                f"{str(path)!r} is not a complete chance-to-sell model ({error!r}); save it again."
            ) from error
        return model

    # ------------------------------------------------------------------ checks
    def _fitted(self) -> bool:
        return hasattr(self, "booster_")

    def _check_fitted(self) -> None:
        if not self._fitted():
            raise NotFittedError(
                "This SellChanceModel is not fitted yet: call fit() on listings with outcomes, "
                "or SellChanceModel.load() a saved one."
            )

    def _check_horizon(self, within_days: object) -> int:
        longest = self.horizon_
        if isinstance(within_days, bool) or not isinstance(within_days, (int, np.integer)):
            raise DataError(
                f"`within_days` must be a whole number of days, but got {within_days!r}."
            )
        if not 1 <= within_days <= longest:
            raise DataError(
                f"`within_days` must be between 1 and {longest} (the longest the model learned: "
                f"max_days={self.max_days}, or the longest any listing was watched), but got "
                f"{within_days}. For longer horizons, refit with a larger max_days on listings "
                "watched that long."
            )
        return int(within_days)
