"""Ranking benchmark: multi-task feed ranking, learning-to-rank sanity, position bias, buyer
search and serving latency, each against the baseline the issue names, fitted in the same run.

One JSON line per case and metric::

    {"benchmark": "ranking", "case": "multitask_buy", "metric": "ndcg@10", "furima": ...,
     "baseline": ..., "data": "interactions/taobao_userbehavior_sample.parquet", "rows": ...,
     "seconds": ..., "seed": 0}

Cases (``--cases`` picks some):

- ``multitask``: Taobao logs (view, cart, like, buy); each user's last day ranked among
  candidates; the multi-task ranker against one LightGBM per event type and a views-only model
  (``benchmarks/_ranking_multitask.py``), one ``multitask_<event>`` case per event type;
- ``ltr_sanity``: LightGBM's learning-to-rank sample; furima's LightGBM ranker (through AutoML)
  against LightGBM LambdaRank defaults (``_ranking_taobao.py``);
- ``position_bias``: Open Bandit Dataset; item click rates and click models learned from the
  Thompson-sampling log with and without position-propensity weighting, against the
  uniform-random log, and the same on simulated clicks with known propensities
  (``_ranking_position.py``, ``_ranking_position_sim.py``);
- ``search``: Myntra 44k, queries from held-out listings' attributes; BM25, vectors, fusion
  and the learned ranker (``_ranking_search.py``);
- ``latency``: ``POST /v1/rank`` with 200 candidates and ``POST /v1/search`` on 44k listings,
  p50/p99 at the registry server (``_ranking_latency.py``).

    python benchmarks/ranking.py --data ../shared/data
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _cases import Runner, run_cases

CASES = ("multitask", "ltr_sanity", "position_bias", "search", "latency")


def main(argv: list[str] | None = None) -> None:
    run_cases("ranking", __doc__, CASES, _runners, argv)


def _runners() -> dict[str, Runner]:
    def multitask(data: Path, seed: int) -> list[dict[str, Any]]:
        from _ranking_multitask import run_multitask

        return run_multitask(data, seed)

    def ltr_sanity(data: Path, seed: int) -> list[dict[str, Any]]:
        from _ranking_taobao import run_ltr_sanity

        return run_ltr_sanity(data, seed)

    def position_bias(data: Path, seed: int) -> list[dict[str, Any]]:
        from _ranking_position import run_position_bias, run_position_bias_training
        from _ranking_position_sim import run_position_bias_simulated

        return [
            *run_position_bias(data, seed),
            *run_position_bias_simulated(data, seed),
            *run_position_bias_training(data, seed),
        ]

    def search(data: Path, seed: int) -> list[dict[str, Any]]:
        from _ranking_search import run_search

        return run_search(data, seed)

    def latency(data: Path, seed: int) -> list[dict[str, Any]]:
        from _ranking_latency import run_latency

        return run_latency(data, seed)

    return {
        "multitask": multitask,
        "ltr_sanity": ltr_sanity,
        "position_bias": position_bias,
        "search": search,
        "latency": latency,
    }


if __name__ == "__main__":
    main()
