"""ALS: implicit-feedback matrix factorisation (Hu, Koren & Volinsky 2008) by ``implicit``.

Users and items get latent factors whose dot product predicts who interacts with what, each
observed pair weighted by a confidence ``alpha * weight`` (an unobserved pair: 1). The item
factors are learned; a history is folded in (its user factors solved by least squares against
the fixed item factors, ``implicit``'s ``recalculate_user``), so users the model never saw are
answered without refitting.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, Self

import numpy as np

from furima.catalog._interactions import Interactions
from furima.recommend._base import CandidateGenerator, Histories
from furima.recommend._histories import check_decay, check_histories, history_matrix

if TYPE_CHECKING:
    from implicit.cpu.als import AlternatingLeastSquares

__all__ = ["ALS"]


class ALS(CandidateGenerator):
    """Alternating least squares through ``implicit.cpu.als.AlternatingLeastSquares``.

    A history's scores are the dot products of its folded-in user factors with every item's
    factors. An empty history folds in to zero factors and scores every item 0 (pair it with
    :class:`Popularity` for users with nothing yet).

    Args:
        factors: Latent dimensions.
        regularization: L2 penalty on the factors.
        alpha: Confidence scaling: an observed pair weighs ``alpha * weight`` against 1 for
            an unobserved one (``implicit``'s convention).
        iterations: ALS sweeps.
        decay: Recency weighting of the history folded in, in (0, 1] (1: every item alike):
            an item's confidence is ``alpha * decay ** (steps from the end)``.
        binary: Count each user-item pair once; ``False`` uses the summed event weights.
        seed: Seed of the factors' random start.
        num_threads: ``implicit``'s threads (BLAS is held at one thread meanwhile, as
            ``implicit`` advises).
    """

    name = "als"

    def __init__(
        self,
        factors: int = 128,
        regularization: float = 0.01,
        alpha: float = 40.0,
        iterations: int = 15,
        decay: float = 0.7,
        binary: bool = True,
        seed: int = 0,
        num_threads: int = 1,
    ) -> None:
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.decay = decay
        self.binary = binary
        self.seed = seed
        self.num_threads = num_threads

    def _check_params(self) -> None:
        if self.factors < 1 or self.iterations < 1 or self.num_threads < 1:
            raise ValueError(
                "ALS: `factors`, `iterations` and `num_threads` must be >= 1, but got "
                f"factors={self.factors}, iterations={self.iterations}, "
                f"num_threads={self.num_threads}."
            )
        if self.regularization < 0 or self.alpha <= 0:
            raise ValueError(
                "ALS: `regularization` must be >= 0 and `alpha` > 0, but got "
                f"regularization={self.regularization}, alpha={self.alpha}."
            )
        check_decay(self.decay, "ALS")

    def fit(self, interactions: Interactions) -> Self:
        self._check_params()
        users_items = interactions.matrix().astype(np.float32)
        if self.binary:
            users_items.data[:] = 1.0
        with _one_blas_thread():
            model = self._implicit_model()
            model.fit(users_items, show_progress=False)
        self.item_factors_ = np.ascontiguousarray(model.item_factors, dtype=np.float32)
        self._model = model
        self.n_items_ = interactions.n_items
        return self

    def _implicit_model(self) -> AlternatingLeastSquares:
        from implicit.cpu.als import AlternatingLeastSquares

        return AlternatingLeastSquares(
            factors=self.factors,
            regularization=self.regularization,
            alpha=self.alpha,
            iterations=self.iterations,
            random_state=self.seed,
            num_threads=self.num_threads,
        )

    def score(self, histories: Histories) -> np.ndarray:
        self._check_fitted()
        checked = check_histories(histories, self.n_items_, "ALS")
        return np.asarray(self._fold_in(checked) @ self.item_factors_.T, dtype=np.float32)

    def user_factors(self, histories: Histories) -> np.ndarray:
        """Folded-in user factors, float32 ``[len(histories), factors]``."""
        self._check_fitted()
        return self._fold_in(check_histories(histories, self.n_items_, "ALS"))

    def _fold_in(self, checked: list[np.ndarray]) -> np.ndarray:
        if not checked:
            return np.zeros((0, self.factors), dtype=np.float32)
        weights = history_matrix(checked, self.n_items_, self.decay)
        with _one_blas_thread():
            folded = self._model.recalculate_user(np.arange(len(checked)), weights)
        return np.asarray(folded, dtype=np.float32)

    def get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        self._check_fitted()
        params = {
            "factors": self.factors,
            "regularization": self.regularization,
            "alpha": self.alpha,
            "iterations": self.iterations,
            "decay": self.decay,
            "binary": self.binary,
            "seed": self.seed,
            "num_threads": self.num_threads,
        }
        return params, {"item_factors": self.item_factors_}

    @classmethod
    def from_state(cls, params: dict[str, Any], arrays: dict[str, np.ndarray]) -> Self:
        model = cls(**params)
        model.item_factors_ = np.ascontiguousarray(arrays["item_factors"], dtype=np.float32)
        with _one_blas_thread():
            model._model = model._implicit_model()
        model._model.item_factors = model.item_factors_
        model.n_items_ = len(model.item_factors_)
        return model


def _one_blas_thread() -> Any:
    """BLAS held at one thread, as ``implicit`` advises (its own threads do the work).

    The loaded libraries are scanned once (:func:`_blas_controller`), not on every scoring
    call: a scan costs milliseconds on the serving path.
    """
    return _blas_controller().limit(limits=1, user_api="blas")


@functools.cache
def _blas_controller() -> Any:
    """The process's thread pools, found once ``implicit`` is imported (a BLAS library it
    loads after the scan would escape the limit, and ``implicit`` would warn)."""
    import implicit.cpu.als  # noqa: F401
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()
