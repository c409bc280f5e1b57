"""A real randomised field experiment, with and without pre-treatment covariates.

Cai, de Janvry & Sadoulet (2015): rural Chinese households were invited at random to an
intensive (``intensive = 1``) or a simple information session on weather insurance; the outcome
is whether the household bought the insurance (``takeup_survey``). furima estimates the effect
of the intensive session three ways:

- unadjusted: furima's Welch test on the absolute difference in take-up;
- CUPED: the same with the best single pre-treatment covariate, the village's take-up rate
  before the experiment (``pre_takeup_rate``), theta pooled over both arms;
- CUPAC: the same with a covariate predicted from all pre-treatment covariates by furima's
  cross-fitted LightGBM model (``predicted_covariate``, five folds).

The reference is statsmodels OLS with heteroskedasticity-robust HC2 standard errors: the
outcome on treatment alone (its HC2 standard error is exactly the Welch/Neyman one), and Lin's
(2013) fully interacted regression on the same covariates, centred, for CUPED and CUPAC.
``variance_reduction_*`` is ``1 - se_adjusted**2 / se_unadjusted**2`` for both.

Missing covariates (age 4, agpop 6, ricearea_2010 9, male 3, literacy 21 of 1,410 households)
are imputed with the column mean over all households; the covariates precede treatment, so
the imputation cannot depend on it. Households are analysed as independent units (the paper
clusters by village; this benchmark compares estimators, not the paper's inference).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from furima.experiments._cupac import predicted_covariate
from furima.experiments._frequentist import welch_test
from furima.experiments._results import Effect
from furima.experiments._statistics import AdjustedStats, MeanStats

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["CAI2015", "COVARIATES", "run_cai2015"]

CAI2015 = Path("experiments") / "cai2015_insurance_experiment.parquet"
TREATMENT = "intensive"
OUTCOME = "takeup_survey"
BEST_COVARIATE = "pre_takeup_rate"
CUPAC_FOLDS = 5
"""Cross-fitting folds: with 1,410 households each model learns from 80% of them (two folds
leave it half, and its prediction explains visibly less)."""
COVARIATES = (
    "age",
    "agpop",
    "ricearea_2010",
    "disaster_prob",
    "male",
    "default",
    "risk_averse",
    "literacy",
    "pre_takeup_rate",
)


def load_households(data: Path) -> pd.DataFrame:
    """The experiment's households with missing covariates imputed by the column mean."""
    import pandas as pd

    frame = pd.read_parquet(data / CAI2015, columns=[TREATMENT, OUTCOME, *COVARIATES])
    covariates = frame[list(COVARIATES)].astype(np.float64)
    frame[list(COVARIATES)] = covariates.fillna(covariates.mean())
    return frame.reset_index(drop=True)


def _arms(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    treated = frame[TREATMENT].to_numpy() == 1
    return ~treated, treated


def unadjusted_effect(frame: pd.DataFrame) -> Effect:
    """furima's Welch test on take-up, no covariate."""
    control, treated = _arms(frame)
    outcome = frame[OUTCOME].to_numpy(np.float64)
    return welch_test(
        MeanStats.from_values(outcome[control]),
        MeanStats.from_values(outcome[treated]),
        difference="absolute",
    )


def adjusted_effect(frame: pd.DataFrame, covariate: np.ndarray) -> Effect:
    """furima's CUPED test on take-up with ``covariate`` (one value per household)."""
    control, treated = _arms(frame)
    outcome = frame[OUTCOME].to_numpy(np.float64)
    pair = AdjustedStats.with_pooled_theta(
        AdjustedStats.from_values(outcome[control], covariate[control]),
        AdjustedStats.from_values(outcome[treated], covariate[treated]),
    )
    return welch_test(*pair, difference="absolute")


def ols_effect(frame: pd.DataFrame, covariates: tuple[str, ...]) -> tuple[float, float]:
    """Treatment coefficient and its HC2 standard error from OLS of the outcome on treatment
    and, when given, Lin's interacted centred covariates."""
    import statsmodels.api as sm

    treatment = frame[TREATMENT].to_numpy(np.float64)
    columns = [np.ones_like(treatment), treatment]
    for name in covariates:
        centred = frame[name].to_numpy(np.float64) - frame[name].mean()
        columns += [centred, centred * treatment]
    fit = sm.OLS(frame[OUTCOME].to_numpy(np.float64), np.column_stack(columns)).fit(cov_type="HC2")
    return float(fit.params[1]), float(fit.bse[1])


def _reduction(adjusted_se: float, unadjusted_se: float) -> float:
    return 1 - adjusted_se**2 / unadjusted_se**2


def run_cai2015(data: Path, seed: int) -> list[dict[str, Any]]:
    """Effect, standard error and variance reduction of each estimator against OLS."""
    started = time.perf_counter()
    frame = load_households(data)
    prediction = predicted_covariate(frame, list(COVARIATES), OUTCOME, folds=CUPAC_FOLDS, seed=seed)
    plain = unadjusted_effect(frame)
    cuped = adjusted_effect(frame, frame[BEST_COVARIATE].to_numpy(np.float64))
    cupac = adjusted_effect(frame, np.asarray(prediction, np.float64))
    ols = ols_effect(frame, ())
    lin_best = ols_effect(frame, (BEST_COVARIATE,))
    lin_all = ols_effect(frame, COVARIATES)
    seconds = time.perf_counter() - started
    values = {
        "effect_unadjusted": (plain.estimate, ols[0]),
        "se_unadjusted": (plain.standard_error, ols[1]),
        "effect_cuped": (cuped.estimate, lin_best[0]),
        "se_cuped": (cuped.standard_error, lin_best[1]),
        "effect_cupac": (cupac.estimate, lin_all[0]),
        "se_cupac": (cupac.standard_error, lin_all[1]),
        "variance_reduction_cuped": (
            _reduction(cuped.standard_error, plain.standard_error),
            _reduction(lin_best[1], ols[1]),
        ),
        "variance_reduction_cupac": (
            _reduction(cupac.standard_error, plain.standard_error),
            _reduction(lin_all[1], ols[1]),
        ),
    }
    return [
        {
            "benchmark": "experiments",
            "case": "cai2015",
            "metric": metric,
            "furima": round(float(ours), 6),
            "reference": round(float(reference), 6),
            "data": str(CAI2015),
            "rows": len(frame),
            "seconds": round(seconds, 2),
            "seed": seed,
        }
        for metric, (ours, reference) in values.items()
    ]
