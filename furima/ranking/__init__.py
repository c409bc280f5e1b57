"""Ranking: learning from logged feedback which candidates a buyer should see first.

Ranking examples come from interaction logs, point-in-time correct; rankers (LightGBM
LambdaRank, a multi-task neural ranker) score a request's candidates; position-bias estimators
and inverse-propensity weights correct what logged clicks say about where items were shown.
"""

from __future__ import annotations

from furima.ranking._base import (
    LABEL_PREFIX,
    REQUEST_COLUMNS,
    Ranker,
    RankingExamples,
    label_column,
)

__all__ = ["LABEL_PREFIX", "REQUEST_COLUMNS", "Ranker", "RankingExamples", "label_column"]
