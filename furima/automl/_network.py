"""The searched neural network: sparse or dense features in, a regression value, P(positive)
or class probabilities out. The first layer embeds the (often very wide, sparse) features; the
hidden layers, activation and dropout are searched. Early stopping on the validation rows keeps
the best epoch; each epoch's validation score is reported for pruning."""

from __future__ import annotations

import copy
import time
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from furima._training import torch_threads
from furima.automl._families import FitData, from_raw_scores
from furima.automl._metrics import TaskKind

__all__ = ["predict_network", "train_network"]

_EPOCHS = 40
_PATIENCE = 4


@dataclass
class Network:
    """A trained network and what turns its outputs back into the task's space."""

    module: Any
    target_mean: float
    target_scale: float
    epochs: int


def _module(params: dict[str, Any], inputs: int, outputs: int) -> Any:
    from torch import nn

    activation = {"relu": nn.ReLU, "gelu": nn.GELU, "silu": nn.SiLU}[params["activation"]]
    layers: list[Any] = [nn.Linear(inputs, params["embedding"]), activation()]
    width = params["embedding"]
    for _ in range(params["layers"]):
        layers += [nn.Dropout(params["dropout"]), nn.Linear(width, params["width"]), activation()]
        width = params["width"]
    layers += [nn.Dropout(params["dropout"]), nn.Linear(width, outputs)]
    return nn.Sequential(*layers)


def _tensor(X: Any, rows: np.ndarray | slice) -> Any:
    import scipy.sparse as sp
    import torch

    block = X[rows]
    if sp.issparse(block):
        block = block.tocsr()
        warnings.filterwarnings("ignore", message="Sparse (CSR tensor support|invariant)")
        return torch.sparse_csr_tensor(
            torch.from_numpy(block.indptr.astype(np.int64)),
            torch.from_numpy(block.indices.astype(np.int64)),
            torch.from_numpy(block.data.astype(np.float32)),
            size=block.shape,
        )
    return torch.from_numpy(np.ascontiguousarray(block, dtype=np.float32))


def train_network(params: dict[str, Any], data: FitData) -> Network:
    import torch

    torch.manual_seed(data.seed)
    outputs = data.n_classes if data.task == "multiclass" else 1
    module = _module(params, data.X_train.shape[1], outputs)
    y = np.asarray(data.y_train, dtype=np.float64)
    values = data.task in ("regression", "ranking")  # ranking: relevance, pointwise
    mean, scale = (float(y.mean()), float(y.std() or 1.0)) if values else (0, 1)
    target = torch.from_numpy(((y - mean) / scale).astype(np.float32))
    if data.task == "multiclass":
        target = target.long()
    loss_fn = _loss(data.task)
    optimiser = torch.optim.AdamW(
        module.parameters(), lr=params["lr"], weight_decay=params["weight_decay"], fused=True
    )
    network = Network(module, mean, scale, 0)
    epochs = int(params.get("epochs", 0)) or _EPOCHS
    best: tuple[float, Any, int] | None = None
    rng = np.random.default_rng(data.seed)
    with torch_threads(data.threads):
        for epoch in range(1, epochs + 1):
            _epoch(module, optimiser, loss_fn, data.X_train, target, params["batch"], rng)
            if data.X_valid is None:
                continue
            score = data.metric.score(
                data.y_valid, predict_network(network, data.X_valid, data.task)
            )
            if best is None or data.metric.better(score, best[0]):
                best = (score, copy.deepcopy(module.state_dict()), epoch)
            if data.report is not None:
                data.report(score, epoch)
            if epoch - best[2] >= _PATIENCE or time.monotonic() > data.deadline:
                break
    if best is not None:
        module.load_state_dict(best[1])
        network.epochs = best[2]
    else:
        network.epochs = epochs
    return network


def _loss(task: TaskKind) -> Any:
    from torch import nn

    if task in ("regression", "ranking"):
        return nn.MSELoss()
    return nn.BCEWithLogitsLoss() if task == "binary" else nn.CrossEntropyLoss()


def _epoch(
    module: Any, optimiser: Any, loss_fn: Any, X: Any, target: Any, batch: int, rng: Any
) -> None:
    module.train()
    order = rng.permutation(X.shape[0])
    for start in range(0, len(order), batch):
        rows = order[start : start + batch]
        out = module(_tensor(X, rows))
        truth = target[rows]
        loss = loss_fn(out.squeeze(1) if out.shape[1] == 1 else out, truth)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()


def predict_network(network: Network, X: Any, task: TaskKind) -> np.ndarray:
    import torch

    network.module.eval()
    outputs = []
    with torch.no_grad():
        for start in range(0, X.shape[0], 4096):
            out = network.module(_tensor(X, slice(start, start + 4096)))
            outputs.append(out.numpy().astype(np.float64))
    raw = np.concatenate(outputs)
    if task in ("regression", "ranking"):
        return np.asarray(raw[:, 0] * network.target_scale + network.target_mean)
    return from_raw_scores(raw[:, 0] if task == "binary" else raw, task)
