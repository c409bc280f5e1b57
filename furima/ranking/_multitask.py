"""A multi-task neural ranker: one network, one calibrated head per event type, and a final
score that weighs the events by what each is worth to the business.

Views, carts, likes and buys are different answers to one question (does this buyer want
this listing?): a network that learns them together lends the rare events (a buy) what the
common ones (a view) teach about taste. The final score is ``sum_e w_e * P(e)``; the weights
``w_e`` are a business choice, kept as settings and changeable without retraining
(:meth:`MultiTaskRanker.with_score_weights`). Inference runs the exported ONNX graph on
onnxruntime; probabilities are calibrated on the validation examples.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Self

import numpy as np

from furima.exceptions import DataError, NotFittedError
from furima.ranking._base import Ranker, RankingExamples
from furima.ranking._calibration import CALIBRATION_METHODS, Calibrator, expected_calibration_error
from furima.ranking._mtl_features import FeatureTransform

if TYPE_CHECKING:
    from furima.ranking._mtl_networks import MultiTaskNetwork, Scorer
    from furima.ranking._mtl_training import TrainData

__all__ = ["MultiTaskRanker"]

_SETTINGS = (
    "architecture", "events", "score_weights", "head_weights", "conditional_on",
    "listwise_weight", "embedding_dim", "hidden", "experts", "task_experts", "levels", "tower",
    "dropout", "lr", "weight_decay", "epochs", "batch_rows", "patience", "calibration",
    "min_category_count", "ensemble", "seed", "threads",
)  # fmt: skip


class MultiTaskRanker(Ranker):
    """Shared-bottom, MMoE or PLE network with one head per event type (PyTorch to fit,
    ONNX on onnxruntime to score).

    Args:
        architecture: ``"shared_bottom"``, ``"mmoe"`` or ``"ple"``.
        events: The event types to model (``None``: all of the training examples').
        score_weights: Event -> weight of its probability in :meth:`score` (events left out
            weigh 0; ``None``: 1 each). A business setting: change it after fitting with
            :meth:`with_score_weights`.
        head_weights: Event -> weight of its loss (``None``: 1 each).
        conditional_on: An event every other head is conditioned on (ESMM: P(buy) =
            P(view) P(buy | view)); ``None``: independent heads.
        listwise_weight: Weight of a per-request softmax cross-entropy added to the binary
            cross-entropy (0: pointwise only).
        embedding_dim: Width of each categorical feature's embedding.
        hidden: Width of the experts (the shared bottom).
        experts: Experts (MMoE), or shared experts per level (PLE).
        task_experts: PLE: experts of each task per level.
        levels: PLE: extraction levels (1: CGC).
        tower: Width of each head's tower.
        dropout: Dropout after every hidden layer.
        lr: Adam learning rate.
        weight_decay: Adam weight decay.
        epochs: Most passes over the training examples.
        batch_rows: About this many rows per step (whole requests).
        patience: With validation examples, epochs without a better mean NDCG@10 before
            stopping (the best epoch's weights are kept).
        calibration: ``"platt"`` (keeps every ranking), ``"isotonic"`` or ``"none"``; fitted
            on the validation examples.
        min_category_count: Category codes seen fewer times in training share the unknown
            embedding.
        ensemble: Networks fitted from seeds ``seed, seed + 1, ...`` whose probabilities
            are averaged (one ONNX graph).
        seed: Seeds weights, dropout and batch order (fits are deterministic on CPU).
        threads: Torch and onnxruntime threads (``None``: their defaults).
    """

    name: ClassVar[str] = "multitask"
    _session: Any = None
    _net: Scorer | None = None
    """The torch network after :meth:`fit` (not saved: a loaded ranker scores with ONNX)."""

    def __init__(
        self,
        *,
        architecture: str = "mmoe",
        events: tuple[str, ...] | None = None,
        score_weights: Mapping[str, float] | None = None,
        head_weights: Mapping[str, float] | None = None,
        conditional_on: str | None = None,
        listwise_weight: float = 0.0,
        embedding_dim: int = 8,
        hidden: int = 64,
        experts: int = 4,
        task_experts: int = 1,
        levels: int = 1,
        tower: int = 32,
        dropout: float = 0.1,
        lr: float = 3e-3,
        weight_decay: float = 1e-6,
        epochs: int = 30,
        batch_rows: int = 2048,
        patience: int = 4,
        calibration: str = "platt",
        min_category_count: int = 2,
        ensemble: int = 1,
        seed: int = 0,
        threads: int | None = None,
    ) -> None:
        self.architecture = architecture
        self.events = events
        self.score_weights = score_weights
        self.head_weights = head_weights
        self.conditional_on = conditional_on
        self.listwise_weight = listwise_weight
        self.embedding_dim = embedding_dim
        self.hidden = hidden
        self.experts = experts
        self.task_experts = task_experts
        self.levels = levels
        self.tower = tower
        self.dropout = dropout
        self.lr = lr
        self.weight_decay = weight_decay
        self.epochs = epochs
        self.batch_rows = batch_rows
        self.patience = patience
        self.calibration = calibration
        self.min_category_count = min_category_count
        self.ensemble = ensemble
        self.seed = seed
        self.threads = threads

    # ----------------------------------------------------------------------------- fitting
    def fit(self, train: RankingExamples, valid: RankingExamples | None = None) -> Self:
        """Learn the transform, the network (early-stopped on ``valid``'s mean NDCG@10 over
        the heads) and, on ``valid``, the calibration of each head."""
        import furima.ranking._mtl_networks as networks
        import furima.ranking._mtl_training as training

        events = self._check_settings(train)
        self._check_examples(train, events, "train")
        if valid is not None:
            self._check_examples(valid, events, "valid")
        self.events_ = events
        self.features_ = train.features
        self.transform_ = FeatureTransform.fit(
            train.matrix(), train.features, train.categorical, self.min_category_count
        )
        data = self._train_data(train)
        valid_data = None if valid is None else self._train_data(valid)
        members, self.history_, self.best_epochs_ = [], [], []
        for seed in range(self.seed, self.seed + self.ensemble):
            net = self._build(seed)
            check = None if valid_data is None else self._validation(net, valid_data)
            with self._torch_threads():
                log = training.train(net, data, self._train_settings(seed), validate=check)
            members.append(net)
            self.history_ += [record | {"seed": seed} for record in log.epochs]
            self.best_epochs_.append(log.best_epoch or len(log.epochs))
        scorer = members[0] if len(members) == 1 else networks.Ensemble(members)
        self._net, self._onnx, self._session = scorer, networks.export_onnx(scorer), None
        self._calibrate(valid)
        return self

    def _check_settings(self, train: RankingExamples) -> tuple[str, ...]:
        from furima.ranking._mtl_networks import ARCHITECTURES

        if self.architecture not in ARCHITECTURES:
            raise ValueError(
                f"`architecture` must be one of {ARCHITECTURES}, got {self.architecture!r}."
            )
        if self.calibration not in CALIBRATION_METHODS:
            raise ValueError(
                f"`calibration` must be one of {CALIBRATION_METHODS}, got {self.calibration!r}."
            )
        for name in ("embedding_dim", "hidden", "experts", "task_experts", "levels", "tower"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"`{name}` must be at least 1, but got {getattr(self, name)}.")
        for name in ("epochs", "batch_rows", "patience", "min_category_count", "ensemble"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"`{name}` must be at least 1, but got {getattr(self, name)}.")
        events = tuple(self.events) if self.events is not None else tuple(train.events)
        if not events:
            raise DataError("the training examples name no event types to learn; set `events`.")
        for name in ("score_weights", "head_weights"):
            _check_weights(getattr(self, name), events, name)
        if self.conditional_on is not None and self.conditional_on not in events:
            raise ValueError(
                f"`conditional_on` must be one of the events {events}, got {self.conditional_on!r}."
            )
        return events

    @staticmethod
    def _check_examples(examples: RankingExamples, events: tuple[str, ...], role: str) -> None:
        if not len(examples):
            raise DataError(f"the {role} examples hold no rows; a ranker needs labelled requests.")
        for event in events:
            labels = examples.labels(event)
            if role == "train" and not labels.any():
                raise DataError(
                    f"no training example has a positive {event!r} label, so its head cannot "
                    f"learn; leave it out with `events=` or use more data."
                )

    def _build(self, seed: int) -> MultiTaskNetwork:
        import torch

        from furima.ranking._mtl_networks import MultiTaskNetwork, NetworkConfig

        cfg = NetworkConfig(
            n_numeric=self.transform_.n_numeric,
            vocab_sizes=self.transform_.vocab_sizes,
            n_events=len(self.events_),
            architecture=self.architecture,
            embedding_dim=self.embedding_dim,
            hidden=self.hidden,
            experts=self.experts,
            task_experts=self.task_experts,
            levels=self.levels,
            tower=self.tower,
            dropout=self.dropout,
            conditional=-1
            if self.conditional_on is None
            else self.events_.index(self.conditional_on),
        )
        torch.manual_seed(seed)
        return MultiTaskNetwork(cfg)

    def _train_data(self, examples: RankingExamples) -> TrainData:
        from furima.ranking._mtl_training import TrainData

        numeric, categorical = self.transform_.apply(examples.matrix(), examples.features)
        sizes = examples.group_sizes()
        labels = np.stack([examples.labels(e) for e in self.events_], axis=1)
        starts = np.r_[0, np.cumsum(sizes)[:-1]].astype(np.int64)
        return TrainData(numeric, categorical, (labels > 0).astype(np.float32), starts, sizes)

    def _train_settings(self, seed: int) -> Any:
        from furima.ranking._mtl_training import TrainSettings

        head = dict(self.head_weights or {})
        return TrainSettings(
            epochs=self.epochs,
            batch_rows=self.batch_rows,
            lr=self.lr,
            weight_decay=self.weight_decay,
            head_weights=tuple(float(head.get(e, 1.0)) for e in self.events_),
            listwise_weight=self.listwise_weight,
            patience=self.patience,
            seed=seed,
        )

    def _validation(self, net: Scorer, data: TrainData) -> Any:
        """A function scoring ``net`` by the mean NDCG@10 of its heads on ``data``."""
        from furima.ranking._mtl_training import predict_log_proba

        groups = np.repeat(np.arange(len(data.sizes)), data.sizes)
        heads = [i for i in range(len(self.events_)) if data.labels[:, i].any()]

        def mean_ndcg() -> float:
            log_p = predict_log_proba(net, data.numeric, data.categorical)
            return float(
                np.mean([ndcg_at_10(data.labels[:, i], log_p[:, i], groups) for i in heads])
            )

        return mean_ndcg if heads else None

    def _torch_threads(self) -> Any:
        import contextlib

        from furima._training import torch_threads

        return contextlib.nullcontext() if self.threads is None else torch_threads(self.threads)

    def _calibrate(self, valid: RankingExamples | None) -> None:
        """One calibrator per head, fitted on ``valid`` (identity without it); the expected
        calibration error before and after, the latter cross-fitted on two halves of the
        validation requests so it is not measured on the rows it was fitted on."""
        self.calibrators_ = {e: Calibrator("none", np.zeros(0)) for e in self.events_}
        self.calibration_report_: dict[str, dict[str, float]] = {}
        if valid is None or self.calibration == "none":
            return
        raw = self.event_probabilities(valid, calibrated=False)
        half = valid.frame["request"].to_numpy() % 2 == 0
        for event in self.events_:
            labels = valid.labels(event)
            self.calibrators_[event] = Calibrator.fit(raw[event], labels, self.calibration)
            crossed = np.empty(len(labels), np.float32)
            for part in (half, ~half):
                fold = Calibrator.fit(raw[event][~part], labels[~part], self.calibration)
                crossed[part] = fold(raw[event][part])
            self.calibration_report_[event] = {
                "ece_before": expected_calibration_error(raw[event], labels),
                "ece_after": expected_calibration_error(crossed, labels),
            }

    # ----------------------------------------------------------------------------- scoring
    def event_probabilities(
        self, examples: RankingExamples, calibrated: bool = True
    ) -> dict[str, np.ndarray]:
        """P(event) per row and event type (float32): calibrated on the validation examples,
        or the network's own (``calibrated=False``)."""
        self._check_fitted()
        if not len(examples):
            return {e: np.zeros(0, np.float32) for e in self.events_}
        numeric, categorical = self.transform_.apply(examples.matrix(), examples.features)
        session = self._onnx_session()
        (probabilities,) = session.run(None, {"numeric": numeric, "categorical": categorical})
        raw = {e: np.asarray(probabilities[:, i], np.float32) for i, e in enumerate(self.events_)}
        if not calibrated:
            return raw
        return {e: self.calibrators_[e](raw[e]) for e in self.events_}

    def score(self, examples: RankingExamples) -> np.ndarray:
        """``sum_e score_weights[e] * P(e)`` per row, with calibrated probabilities."""
        probabilities = self.event_probabilities(examples)
        weights = self.weights_
        total = np.zeros(len(examples), np.float64)
        for event, p in probabilities.items():
            total += weights.get(event, 0.0) * p
        return total.astype(np.float32)

    @property
    def weights_(self) -> dict[str, float]:
        """The score weight of each modelled event."""
        self._check_fitted()
        given = self.score_weights
        return {e: float(given.get(e, 0.0)) if given else 1.0 for e in self.events_}

    def with_score_weights(self, score_weights: Mapping[str, float]) -> MultiTaskRanker:
        """A copy that scores with other business weights (no retraining; the network and
        calibration are shared)."""
        self._check_fitted()
        _check_weights(score_weights, self.events_, "score_weights")
        other = copy.copy(self)
        other.score_weights = dict(score_weights)
        return other

    def _onnx_session(self) -> Any:
        if self._session is None:
            from furima._onnx import cpu_session

            self._session = cpu_session(self._onnx, self.threads)
        return self._session

    def _check_fitted(self) -> None:
        if not hasattr(self, "events_"):
            raise NotFittedError("this MultiTaskRanker is not fitted yet; call fit() first.")

    # ------------------------------------------------------------------------- persistence
    def save(self, path: str | Path) -> Path:
        """Save atomically to the folder ``path`` (ONNX graph, arrays, JSON manifest)."""
        from furima.ranking._mtl_persistence import save_multitask

        self._check_fitted()
        return save_multitask(self, Path(path))

    @classmethod
    def load(cls, path: str | Path) -> Self:
        """A ranker saved by :meth:`save`, its files checked against the manifest."""
        from furima.ranking._mtl_persistence import load_multitask

        return load_multitask(cls, Path(path))

    def settings(self) -> dict[str, Any]:
        """The constructor arguments, JSON-able."""
        values = {name: getattr(self, name) for name in _SETTINGS}
        values["events"] = None if self.events is None else list(self.events)
        for name in ("score_weights", "head_weights"):
            values[name] = None if values[name] is None else dict(values[name])
        return values


def _check_weights(weights: Mapping[str, float] | None, events: tuple[str, ...], name: str) -> None:
    if weights is None:
        return
    unknown = [e for e in weights if e not in events]
    if unknown:
        raise ValueError(f"`{name}` names events {unknown} that are not modelled {events}.")
    strange = {e: w for e, w in weights.items() if not math.isfinite(float(w))}
    if strange:
        raise ValueError(f"`{name}` must hold finite numbers, but got {strange}.")


def ndcg_at_10(labels: np.ndarray, scores: np.ndarray, groups: np.ndarray) -> float:
    """Mean NDCG@10 over the requests with a positive (AutoML's ranking metric)."""
    from furima.automl._metrics import metric_for

    return metric_for("ranking", "ndcg@10").for_groups(groups).score(labels, scores)
