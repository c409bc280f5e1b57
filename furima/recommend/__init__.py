"""Recommendations from interaction logs: "for you" feeds and "more like this".

Candidate generators (:class:`CandidateGenerator`) score every listing for a history of
listings, batch-first, with the history filtered out as ``implicit`` does.
"""

from __future__ import annotations

from furima.recommend._als import ALS
from furima.recommend._answers import Recommendations, RecommendedItem
from furima.recommend._base import CandidateGenerator, Histories, top_k
from furima.recommend._blend import Blend
from furima.recommend._content import ContentSimilarity
from furima.recommend._ease import EASE
from furima.recommend._evaluation import evaluate_scores, target_ranks
from furima.recommend._item_knn import ItemKNN
from furima.recommend._items import ItemColumns
from furima.recommend._popularity import Popularity
from furima.recommend._recommender import (
    GENERATORS,
    Recommender,
    generator_class,
    make_generator,
)
from furima.recommend._sequential import SequentialRecommender, attribute_matrix

__all__ = [
    "ALS",
    "EASE",
    "GENERATORS",
    "Blend",
    "CandidateGenerator",
    "ContentSimilarity",
    "Histories",
    "ItemColumns",
    "ItemKNN",
    "Popularity",
    "Recommendations",
    "RecommendedItem",
    "Recommender",
    "SequentialRecommender",
    "attribute_matrix",
    "evaluate_scores",
    "generator_class",
    "make_generator",
    "target_ranks",
    "top_k",
]
