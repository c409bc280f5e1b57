"""Automatic model creation: model families, hyperparameters, architectures and feature
options searched on Optuna within a time budget, then a greedy ensemble, refit::

from furima.automl import AutoML

result = AutoML(task="binary", metric="auprc", budget_s=300).fit(X_train, y_train)
result.predict_proba(X_test)      # P(positive) from the chosen (ensembled) model
result.leaderboard                # completed trials, best first
result.report("automl.html")      # history, importances, leaderboard, Pareto front, choice

Samplers: TPE (default), GP, CMA-ES, NSGA-II (two objectives: score and latency) and random;
pruning by Hyperband (default), ASHA or median on learning curves. Studies on a ``.journal``
file or a database resume after a killed run; ``n_jobs`` processes search in parallel.
"""

from __future__ import annotations

from furima.automl._automl import AutoML
from furima.automl._metrics import METRICS, Metric
from furima.automl._result import AutoMLResult, Member

__all__ = ["METRICS", "AutoML", "AutoMLResult", "Member", "Metric"]
