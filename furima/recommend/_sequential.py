"""Sequential next-item recommendations: a SASRec-class causal transformer trained with full
softmax cross-entropy, served on CPU through onnxruntime.

The model reads the last ``max_len`` items of a history and scores every catalog item as the
next one, so any history works (a user never seen, a session, one listing for "more like
this") without refitting. Training predicts the next item at every position of each training
history; with a validation set it stops early on NDCG@10 and keeps the best weights.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Hashable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Self

import numpy as np

from furima.catalog._interactions import IdMap, Interactions
from furima.catalog._splits import NextItemTargets
from furima.exceptions import DataError, ModelFormatError
from furima.recommend._base import CandidateGenerator, Histories

if TYPE_CHECKING:
    from furima.recommend._transformer import NextItemNetwork

__all__ = ["SequentialRecommender", "attribute_matrix"]

_LOSSES = ("full_ce", "sampled")
_ONNX_OPSET = 17
_NETWORK_KEYS: tuple[str, ...] = ("max_len", "dim", "layers", "heads", "dropout")
_NETWORK_KEYS += ("attention_dropout", "norm_first", "filter_alpha", "filter_cutoff")


class SequentialRecommender(CandidateGenerator):
    """Next-item transformer (SASRec with full cross-entropy; optional BSARec-style causal
    low-pass branch and item side information).

    Args:
        max_len: Items of a history read (the most recent).
        dim: Embedding and hidden width.
        layers: Transformer blocks.
        heads: Attention heads (must divide ``dim``).
        dropout: Dropout on embeddings, residual branches and the feed-forward layer.
        attention_dropout: Dropout on attention weights.
        norm_first: Pre-LayerNorm blocks (``False``: post-LN, as BERT4Rec and RecBole).
        lr: Adam learning rate.
        weight_decay: Adam weight decay.
        epochs: Most passes over the data (all of them without ``valid``).
        batch_size: Histories per step (bucketed by length).
        patience: With ``valid``, epochs without a better NDCG@10 before stopping.
        label_smoothing: Cross-entropy label smoothing.
        loss: ``"full_ce"`` (softmax over the whole catalog) or ``"sampled"`` (softmax over
            ``n_negatives`` popularity-drawn items with logQ correction, for catalogs too large
            for full softmax).
        n_negatives: Negatives per batch with ``loss="sampled"``.
        filter_alpha: Weight of the causal low-pass branch mixed with attention (0: off).
        filter_cutoff: Frequency bins the low-pass branch keeps.
        item_attributes: Optional ``[n_items, k]`` int attribute ids per item (``-1``: none),
            e.g. brand and category ids; their mean embedding is added to the item's.
        item_features: Optional ``[n_items, f]`` float features per item, projected and added.
        seed: Seeds weights, dropout and batch order.
        threads: onnxruntime threads for :meth:`score` (``None``: onnxruntime's default).
    """

    name = "sequential"
    _net: NextItemNetwork | None = None
    _session: Any = None
    _onnx: bytes
    _weights: dict[str, np.ndarray]

    def __init__(
        self,
        *,
        max_len: int = 50,
        dim: int = 256,
        layers: int = 2,
        heads: int = 1,
        dropout: float = 0.5,
        attention_dropout: float = 0.5,
        norm_first: bool = True,
        lr: float = 2e-3,
        weight_decay: float = 0.0,
        epochs: int = 20,
        batch_size: int = 256,
        patience: int = 3,
        label_smoothing: float = 0.0,
        loss: str = "full_ce",
        n_negatives: int = 1024,
        filter_alpha: float = 0.0,
        filter_cutoff: int = 5,
        item_attributes: np.ndarray | None = None,
        item_features: np.ndarray | None = None,
        seed: int = 0,
        threads: int | None = None,
    ) -> None:
        self.max_len = max_len
        self.dim = dim
        self.layers = layers
        self.heads = heads
        self.dropout = dropout
        self.attention_dropout = attention_dropout
        self.norm_first = norm_first
        self.lr = lr
        self.weight_decay = weight_decay
        self.epochs = epochs
        self.batch_size = batch_size
        self.patience = patience
        self.label_smoothing = label_smoothing
        self.loss = loss
        self.n_negatives = n_negatives
        self.filter_alpha = filter_alpha
        self.filter_cutoff = filter_cutoff
        self.item_attributes = item_attributes
        self.item_features = item_features
        self.seed = seed
        self.threads = threads

    # ----------------------------------------------------------------------------- training
    def fit(
        self,
        interactions: Interactions,
        valid: NextItemTargets | None = None,
        progress: bool = False,
    ) -> Self:
        """Train from scratch on every user's history (time order as in ``interactions``).

        Args:
            interactions: Training events; the catalog is ``interactions.n_items``.
            valid: Optional next-item queries for early stopping on NDCG@10.
            progress: Show a progress bar per epoch.
        """
        self._check_params()
        if interactions.n_items == 0 or len(interactions) == 0:
            raise DataError("Cannot fit a SequentialRecommender on no interactions.")
        attributes, features = self._side_arrays(interactions.n_items)
        self._net = self._build(interactions.n_items, attributes, features)
        self.n_items_ = interactions.n_items
        self._run_training(interactions, valid, progress, self.epochs)
        return self

    def partial_fit(
        self,
        interactions: Interactions,
        epochs: int = 1,
        valid: NextItemTargets | None = None,
        progress: bool = False,
    ) -> Self:
        """Continue training on new events (a fresh optimizer, the current weights).

        Items beyond the fitted catalog (``interactions.n_items > n_items_``) must be appended
        at the end of the item id map; their embeddings are added, initialised small, and
        learned from the events given (side information cannot cover them: such a model
        refuses new items; refit instead).
        """
        self._check_fitted()
        net = self._network()
        if interactions.n_items > self.n_items_:
            net = self._grow(net, interactions.n_items)
        self._net = net
        self._run_training(interactions, valid, progress, epochs)
        return self

    def _run_training(
        self,
        interactions: Interactions,
        valid: NextItemTargets | None,
        progress: bool,
        epochs: int,
    ) -> None:
        from furima._progress import tracker
        from furima.recommend._evaluation import evaluate_scores
        from furima.recommend._sequence_training import TrainSettings, train, training_sequences

        sequences = training_sequences(interactions.histories(), self.max_len)
        if not sequences:
            raise DataError(
                "No user has two or more events: next-item training needs at least one history "
                "of two items. Pass more interactions."
            )
        if valid is not None:
            self._check_histories(valid.histories)
        settings = TrainSettings(
            epochs=epochs,
            batch_size=self.batch_size,
            lr=self.lr,
            weight_decay=self.weight_decay,
            label_smoothing=self.label_smoothing,
            loss=self.loss,
            n_negatives=self.n_negatives,
            patience=self.patience,
            seed=self.seed,
        )
        self._session = None
        validate = None
        if valid is not None:
            validate = lambda: evaluate_scores(self._score_torch, valid)["ndcg@10"]  # noqa: E731
        with tracker(progress) as bar:
            log = train(self._network(), sequences, settings, validate=validate, progress=bar)
        self.history_ = log.epochs
        self.best_epoch_ = log.best_epoch or len(log.epochs)
        self._onnx = self._export_bytes()

    def _check_params(self) -> None:
        if self.loss not in _LOSSES:
            raise ValueError(f"`loss` must be one of {_LOSSES}, but got {self.loss!r}.")
        if self.dim % self.heads:
            raise ValueError(
                f"`heads` must divide `dim`, but got dim={self.dim}, heads={self.heads}."
            )
        for name in ("max_len", "dim", "layers", "heads", "epochs", "batch_size", "patience"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"`{name}` must be at least 1, but got {getattr(self, name)}.")
        if not 0 <= self.filter_alpha <= 1:
            raise ValueError(f"`filter_alpha` must be in [0, 1], but got {self.filter_alpha}.")

    def _side_arrays(self, n_items: int) -> tuple[np.ndarray | None, np.ndarray | None]:
        """The side information, checked against the catalog."""
        arrays: list[np.ndarray | None] = []
        for name, value in (
            ("item_attributes", self.item_attributes),
            ("item_features", self.item_features),
        ):
            array = None if value is None else np.asarray(value)
            if array is not None and (array.ndim != 2 or len(array) != n_items):
                raise DataError(
                    f"`{name}` must be a 2-D array with one row per item ({n_items} rows, "
                    f"aligned with the dense item indices), but got shape {array.shape}."
                )
            arrays.append(array)
        attributes, features = arrays
        if attributes is not None:
            if not np.issubdtype(attributes.dtype, np.integer) or attributes.min(initial=0) < -1:
                raise DataError(
                    "`item_attributes` must hold int attribute ids >= 0, with -1 as padding."
                )
            attributes = attributes.astype(np.int64)
        if features is not None:
            features = np.nan_to_num(features.astype(np.float32))
        return attributes, features

    def _build(
        self, n_items: int, attributes: np.ndarray | None, features: np.ndarray | None
    ) -> NextItemNetwork:
        from furima.recommend._transformer import NetworkConfig, NextItemNetwork

        cfg = NetworkConfig(
            n_items=n_items,
            n_attributes=int(attributes.max(initial=-1)) + 1 if attributes is not None else 0,
            feature_dim=features.shape[1] if features is not None else 0,
            **{key: getattr(self, key) for key in _NETWORK_KEYS},
        )
        import torch

        torch.manual_seed(self.seed)
        return NextItemNetwork(cfg, attributes, features)

    def _grow(self, net: NextItemNetwork, n_items: int) -> NextItemNetwork:
        """A copy of ``net`` with embeddings for items ``n_items_ .. n_items - 1`` appended."""
        import dataclasses

        import torch

        from furima.recommend._transformer import NextItemNetwork

        if net.attribute is not None or net.feature is not None:
            raise DataError(
                f"The events hold {n_items - self.n_items_} items this model has never seen, "
                "and its item side information does not cover them. Refit with side "
                "information for every item."
            )
        grown = NextItemNetwork(dataclasses.replace(net.cfg, n_items=n_items))
        state = net.state_dict()
        new_rows = grown.state_dict()["item.weight"][self.n_items_ + 1 :]
        state["item.weight"] = torch.cat([state["item.weight"], new_rows])
        grown.load_state_dict(state)
        self.n_items_ = n_items
        return grown

    # ------------------------------------------------------------------------------ scoring
    def score(self, histories: Histories) -> np.ndarray:
        """Float32 ``[len(histories), n_items_]`` next-item scores (onnxruntime on CPU)."""
        self._check_fitted()
        self._check_histories(histories)
        if len(histories) == 0:
            return np.zeros((0, self.n_items_), dtype=np.float32)
        seq, lengths = self._inputs(histories)
        (scores,) = self._onnx_session().run(None, {"items": seq, "lengths": lengths})
        return np.asarray(scores, dtype=np.float32)

    def _score_torch(self, histories: Histories) -> np.ndarray:
        """The same scores through PyTorch (used while training, before export)."""
        import torch

        seq, lengths = self._inputs(histories)
        net = self._network()
        was_training = net.training
        net.eval()
        with torch.no_grad():
            scores = net(torch.from_numpy(seq), torch.from_numpy(lengths)).numpy()
        net.train(was_training)
        return np.asarray(scores, dtype=np.float32)

    def _inputs(self, histories: Histories) -> tuple[np.ndarray, np.ndarray]:
        from furima.recommend._sequence_training import pad_right

        windows = [np.asarray(h, dtype=np.int64)[-self.max_len :] for h in histories]
        lengths = np.fromiter((len(w) for w in windows), dtype=np.int64, count=len(windows))
        return pad_right(windows), lengths

    def _check_histories(self, histories: Histories) -> None:
        for row, history in enumerate(histories):
            array = np.asarray(history)
            if array.ndim != 1 or len(array) == 0:
                raise DataError(
                    f"History {row} is empty or not 1-D (shape {array.shape}): a sequential "
                    "model needs at least one item; answer such users with Popularity."
                )
            if not np.issubdtype(array.dtype, np.integer):
                raise DataError(f"History {row} must hold int item indices, got {array.dtype}.")
            low, high = int(array.min()), int(array.max())
            if low < 0 or high >= self.n_items_:
                raise DataError(
                    f"History {row} holds item index {low if low < 0 else high}, outside the "
                    f"fitted catalog 0..{self.n_items_ - 1}. Map unknown listings out first, "
                    "or partial_fit on events that include them."
                )

    # ------------------------------------------------------------------- export and state
    def export_onnx(self, path: str) -> None:
        """Write the scoring graph: ``items`` int64 ``[B, L]`` (item index + 1, right-padded
        with 0) and ``lengths`` int64 ``[B]`` in, ``scores`` float32 ``[B, n_items]`` out."""
        self._check_fitted()
        with open(path, "wb") as file:
            file.write(self._onnx)

    def _export_bytes(self) -> bytes:
        import torch

        net = self._network()
        net.eval()
        buffer = io.BytesIO()
        example = (torch.ones(2, 3, dtype=torch.int64), torch.tensor([3, 2]))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                net,
                example,
                buffer,
                input_names=["items", "lengths"],
                output_names=["scores"],
                dynamic_axes={"items": {0: "batch", 1: "length"}, "lengths": {0: "batch"}},
                opset_version=_ONNX_OPSET,
                dynamo=False,
            )
        return buffer.getvalue()

    def _onnx_session(self) -> Any:
        if self._session is None:
            from furima._onnx import cpu_session

            self._session = cpu_session(self._onnx, self.threads)
        return self._session

    def _network(self) -> NextItemNetwork:
        """The torch network (rebuilt from saved weights after :meth:`from_state`)."""
        if self._net is None:
            import torch

            net = self._build(self.n_items_, *self._side_arrays(self.n_items_))
            net.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in self._weights.items()})
            self._net = net
        return self._net

    def get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        self._check_fitted()
        params = {key: getattr(self, key) for key in self._param_names()}
        params.update(n_items=self.n_items_, best_epoch=self.best_epoch_)
        arrays = {
            f"weight:{k}": v.detach().numpy().copy()
            for k, v in self._network().state_dict().items()
        }
        arrays["onnx"] = np.frombuffer(self._onnx, dtype=np.uint8).copy()
        attributes, features = self._side_arrays(self.n_items_) if self.n_items_ else (None, None)
        if attributes is not None:
            arrays["item_attributes"] = attributes
        if features is not None:
            arrays["item_features"] = features
        return params, arrays

    @classmethod
    def from_state(cls, params: dict[str, Any], arrays: dict[str, np.ndarray]) -> Self:
        try:
            model = cls(**{key: params[key] for key in cls._param_names()})
            model.n_items_ = int(params["n_items"])
            model.best_epoch_ = int(params["best_epoch"])
            model._onnx = np.asarray(arrays["onnx"], dtype=np.uint8).tobytes()
        except (KeyError, TypeError) as error:
            raise ModelFormatError(
                f"This SequentialRecommender state is incomplete or from another version "
                f"({error!r}); refit and save it again."
            ) from error
        model.item_attributes = arrays.get("item_attributes")
        model.item_features = arrays.get("item_features")
        model._weights = {k[7:]: v for k, v in arrays.items() if k.startswith("weight:")}
        model._net, model._session = None, None
        return model

    @staticmethod
    def _param_names() -> tuple[str, ...]:
        return (
            "max_len", "dim", "layers", "heads", "dropout", "attention_dropout", "norm_first",
            "lr", "weight_decay", "epochs", "batch_size", "patience", "label_smoothing", "loss",
            "n_negatives", "filter_alpha", "filter_cutoff", "seed", "threads",
        )  # fmt: skip


def attribute_matrix(items: IdMap, attributes: Mapping[str, Iterable[Hashable]]) -> np.ndarray:
    """``[len(items), k]`` int attribute ids per item for ``item_attributes``, ``-1`` padded.

    Args:
        items: The item id map of the interactions the model is fitted on.
        attributes: External item id -> its attributes (brand, category: any hashable values,
            e.g. the benchmarks' ``item2attributes.json``); items missing here get none.
    """
    rows = [list(dict.fromkeys(attributes.get(item, ()))) for item in items.to_list()]
    codes: dict[Hashable, int] = {}
    width = max((len(row) for row in rows), default=0)
    matrix = np.full((len(rows), max(width, 1)), -1, dtype=np.int64)
    for i, row in enumerate(rows):
        matrix[i, : len(row)] = [codes.setdefault(value, len(codes)) for value in row]
    return matrix
