"""Ranking: learning from logged feedback which candidates a buyer should see first.

Ranking examples come from interaction logs, point-in-time correct (:func:`build_examples`
with a :class:`FeatureBuilder`); rankers score a request's candidates behind one interface
(:class:`Ranker`): :class:`LightGBMRanker` (LambdaRank, the strong default) and
:class:`MultiTaskRanker` (one calibrated head per event type, a business-weighted final
score). :class:`FeedRanker` is what the server loads for ``POST /v1/rank``. Position-bias
estimators and inverse-propensity weights correct what logged clicks say about where items
were shown::

    ranker = FeedRanker().fit(events)             # events: furima.catalog.Interactions
    ranker.rank([{"user": "42", "candidates": ["17", "9", "311"]}])[0].ids
"""

from __future__ import annotations

from furima.ranking._base import (
    LABEL_PREFIX,
    REQUEST_COLUMNS,
    Ranker,
    RankingExamples,
    label_column,
)
from furima.ranking._calibration import Calibrator, expected_calibration_error
from furima.ranking._click_logs import CLICK_LOG_COLUMNS, ClickLog
from furima.ranking._click_training import (
    CLICK_EVENT,
    click_examples,
    click_weights,
    fit_click_ranker,
)
from furima.ranking._examples import (
    CandidateSettings,
    build_examples,
    daily_requests,
    item_categories,
    last_day_requests,
)
from furima.ranking._features import FeatureBuilder
from furima.ranking._lightgbm import DEFAULT_GAINS, LightGBMRanker
from furima.ranking._multitask import MultiTaskRanker, ndcg_at_10
from furima.ranking._pipeline import MAX_CANDIDATES, FeedRanker, RankedFeed, RankedItem, RankRequest
from furima.ranking._position_bias import (
    PositionPropensities,
    estimate_by_intervention_harvesting,
    estimate_from_randomized,
    ipw_weights,
    item_click_rates,
)
from furima.ranking._position_em import estimate_by_regression_em

__all__ = [
    "CLICK_EVENT",
    "CLICK_LOG_COLUMNS",
    "DEFAULT_GAINS",
    "LABEL_PREFIX",
    "MAX_CANDIDATES",
    "REQUEST_COLUMNS",
    "Calibrator",
    "CandidateSettings",
    "ClickLog",
    "FeatureBuilder",
    "FeedRanker",
    "LightGBMRanker",
    "MultiTaskRanker",
    "PositionPropensities",
    "RankRequest",
    "RankedFeed",
    "RankedItem",
    "Ranker",
    "RankingExamples",
    "build_examples",
    "click_examples",
    "click_weights",
    "daily_requests",
    "estimate_by_intervention_harvesting",
    "estimate_by_regression_em",
    "estimate_from_randomized",
    "expected_calibration_error",
    "fit_click_ranker",
    "ipw_weights",
    "item_categories",
    "item_click_rates",
    "label_column",
    "last_day_requests",
    "ndcg_at_10",
]
