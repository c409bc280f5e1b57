"""Experiments benchmark: A/A false-positive rates, power, CUPED and CUPAC, off-policy
estimates and interleaving, each beside the reference the issue names, computed in the same run.

One JSON line per case and metric::

    {"benchmark": "experiments", "case": "aa_taobao", "metric": "fpr_fixed", "furima": ...,
     "reference": 0.05, "data": "interactions/taobao_userbehavior_sample.parquet", "rows": ...,
     "seconds": ..., "seed": 0}

Cases (``--cases`` picks some):

- ``aa``: real users split at random 1,000 times (Taobao with a pre-period covariate, Amazon
  Beauty and Sports without): the false-positive rate of the fixed-horizon Welch test, of the
  sequential test and of a naive t-test both peeked after every 5% of users, and CUPED's
  variance reduction (``benchmarks/_experiments_aa.py``, cases ``aa_<data>``);
- ``power``: the same splits with a known 2% effect injected into treated users: the power of
  each test at equal sample size (``_experiments_aa.py``, cases ``power_<data>``);
- ``ope``: Open Bandit Dataset; the click rate of the Thompson-sampling policy estimated from
  the uniform-random log and the other way round, by DM, IPS, SNIPS, DR and switch-DR, against
  the on-policy truth and the Open Bandit Pipeline's published errors (``_experiments_ope.py``);
- ``interleaving``: users an A/B test needs over users interleaving needs to pick the better of
  two real recommenders at 95% confidence, simulated from held-out events
  (``_experiments_interleaving.py``);
- ``cai2015``: a real randomised field experiment; the treatment effect without covariates,
  with CUPED and with CUPAC, against statsmodels OLS with the same covariates
  (``_experiments_cai.py``);
- ``cupac``: Taobao users; the variance CUPAC's learned covariate removes beside CUPED's
  single pre-period count (``_experiments_cupac.py``, case ``cupac_taobao``).

    python benchmarks/experiments.py --data ../shared/data
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _cases import Runner, run_cases

CASES = ("aa", "power", "ope", "interleaving", "cai2015", "cupac")


def main(argv: list[str] | None = None) -> None:
    run_cases("experiments", __doc__, CASES, _runners, argv)


def _runners() -> dict[str, Runner]:
    def aa(data: Path, seed: int) -> list[dict[str, Any]]:
        from _experiments_aa import run_aa

        return run_aa(data, seed)

    def power(data: Path, seed: int) -> list[dict[str, Any]]:
        from _experiments_aa import run_power

        return run_power(data, seed)

    def ope(data: Path, seed: int) -> list[dict[str, Any]]:
        from _experiments_ope import run_ope

        return run_ope(data, seed)

    def interleaving(data: Path, seed: int) -> list[dict[str, Any]]:
        from _experiments_interleaving import run_interleaving

        return run_interleaving(data, seed)

    def cai2015(data: Path, seed: int) -> list[dict[str, Any]]:
        from _experiments_cai import run_cai2015

        return run_cai2015(data, seed)

    def cupac(data: Path, seed: int) -> list[dict[str, Any]]:
        from _experiments_cupac import run_cupac

        return run_cupac(data, seed)

    return {
        "cupac": cupac,
        "aa": aa,
        "power": power,
        "ope": ope,
        "interleaving": interleaving,
        "cai2015": cai2015,
    }


if __name__ == "__main__":
    main()
