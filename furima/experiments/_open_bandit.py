"""The Open Bandit Dataset (ZOZOTOWN, Saito et al. 2021) as a ``LoggedBandit``, and the
action distributions of its two logging policies.

A log has one row per impression: ``item_id``, ``position`` (1, 2 or 3), ``click``,
``propensity_score``, four hashed ``user_feature_*`` columns and one
``user-item_affinity_<item>`` column per item; the items table has ``item_feature_0``
(numeric) and three hashed categorical features. Categorical features become indicator
columns; positions are numbered from 0.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from furima.exceptions import ExperimentDataError
from furima.experiments._ope import LoggedBandit

if TYPE_CHECKING:
    import pandas as pd
    from numpy.typing import ArrayLike

__all__ = ["open_bandit_log", "thompson_sampling_action_probs"]

_REQUIRED = ("item_id", "position", "click", "propensity_score")


def open_bandit_log(log: pd.DataFrame, items: pd.DataFrame) -> tuple[LoggedBandit, np.ndarray]:
    """The log as a ``LoggedBandit`` (contexts = user features, action contexts = each
    user's affinity to each item) and the item feature matrix, rows in ``item_id`` order."""
    import pandas as pd

    missing = [column for column in _REQUIRED if column not in log.columns]
    if missing:
        raise ExperimentDataError(
            f"the Open Bandit log lacks columns {missing}; pass a file such as "
            "obd_random_all.parquet."
        )
    n_items = len(items)
    if sorted(items["item_id"]) != list(range(n_items)):
        raise ExperimentDataError("the items table must hold item_id 0..n-1 once each.")
    users = log.filter(like="user_feature").astype(str)
    contexts = pd.get_dummies(users, drop_first=True).to_numpy(dtype=float)
    affinity = [f"user-item_affinity_{item}" for item in range(n_items)]
    action_contexts = log[affinity].to_numpy(dtype=float) if set(affinity) <= set(log) else None
    positions = log["position"].to_numpy()
    logged = LoggedBandit(
        actions=log["item_id"].to_numpy(),
        rewards=log["click"].to_numpy(),
        propensities=log["propensity_score"].to_numpy(),
        positions=positions - positions.min(),
        contexts=contexts,
        action_contexts=action_contexts,
    )
    return logged, _item_features(items.sort_values("item_id"))


def _item_features(items: pd.DataFrame) -> np.ndarray:
    import pandas as pd

    numeric = items.select_dtypes("number").drop(columns="item_id")
    categorical = items.drop(columns=[*numeric.columns, "item_id"]).astype(str)
    dummies = pd.get_dummies(categorical, drop_first=True)
    return np.concatenate([numeric.to_numpy(float), dummies.to_numpy(float)], axis=1)


def thompson_sampling_action_probs(
    alpha: ArrayLike, beta: ArrayLike, *, n_positions: int, draws: int = 100_000, seed: int = 0
) -> np.ndarray:
    """The action distribution of a context-free Bernoulli Thompson Sampling slate policy
    with ``Beta(alpha, beta)`` beliefs, by Monte Carlo: each draw samples every item's click
    rate and fills positions in descending order. Shape ``(actions, n_positions)``; each
    column sums to 1."""
    a = np.asarray(alpha, dtype=float)
    b = np.asarray(beta, dtype=float)
    if a.shape != b.shape or a.ndim != 1 or np.any(a <= 0) or np.any(b <= 0):
        raise ExperimentDataError("alpha and beta must be positive, one of each per action.")
    if not 1 <= n_positions <= a.size:
        raise ExperimentDataError(f"n_positions must be in 1..{a.size}, got {n_positions}.")
    rng = np.random.default_rng(seed)
    counts = np.zeros((a.size, n_positions))
    for start in range(0, draws, 10_000):
        size = min(10_000, draws - start)
        ranked = np.argsort(-rng.beta(a, b, size=(size, a.size)), axis=1)[:, :n_positions]
        for position in range(n_positions):
            counts[:, position] += np.bincount(ranked[:, position], minlength=a.size)
    return counts / draws
