"""The networks behind :class:`~furima.ranking.MultiTaskRanker`, and their training loop.

All three read the same input (transformed numeric features beside one embedding per
categorical feature) and end in one small tower per event type:

- ``shared_bottom``: one MLP shared by every task (Caruana 1997);
- ``mmoe``: several expert MLPs mixed per task by a softmax gate on the input (Ma et al.,
  KDD 2018), so tasks that disagree can lean on different experts;
- ``ple``: Progressive Layered Extraction (Tang et al., RecSys 2020): per level, experts of
  each task beside shared experts, each task gated over its own and the shared ones, a shared
  gate over all feeding the next level (one level is CGC).

With ``conditional`` set, every other head is a conditional probability multiplied by that
head's (ESMM, Ma et al., SIGIR 2018: P(buy) = P(view) P(buy | view)), trained on the whole
space. Networks return log-probabilities; the exported graph returns probabilities. They are
trained by :mod:`furima.ranking._mtl_training`.

This module imports torch at import time; import it lazily.
"""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

__all__ = [
    "ARCHITECTURES",
    "Ensemble",
    "MultiTaskNetwork",
    "NetworkConfig",
    "Scorer",
    "export_onnx",
]

ARCHITECTURES = ("shared_bottom", "mmoe", "ple")
ONNX_OPSET = 17


@dataclass(frozen=True)
class NetworkConfig:
    """Shapes of the network (plain data, saved with the model)."""

    n_numeric: int
    vocab_sizes: tuple[int, ...]
    n_events: int
    architecture: str = "mmoe"
    embedding_dim: int = 8
    hidden: int = 64
    experts: int = 4
    task_experts: int = 1
    levels: int = 1
    tower: int = 32
    dropout: float = 0.1
    conditional: int = -1
    """Index of the head every other head is conditioned on (ESMM); -1: none."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _mlp(width_in: int, width_out: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(nn.Linear(width_in, width_out), nn.ReLU(), nn.Dropout(dropout))


class _Experts(nn.Module):  # type: ignore[misc]
    """``count`` expert MLPs run side by side: ``[B, D] -> [B, count, hidden]``."""

    def __init__(self, width_in: int, hidden: int, count: int, dropout: float) -> None:
        super().__init__()
        self.experts = nn.ModuleList(_mlp(width_in, hidden, dropout) for _ in range(count))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([expert(x) for expert in self.experts], dim=1)


def _mix(gate: nn.Linear, x: torch.Tensor, experts: torch.Tensor) -> torch.Tensor:
    """The gate's softmax mixture of ``experts`` ``[B, k, H]`` for inputs ``x``."""
    weights = torch.softmax(gate(x), dim=-1).unsqueeze(-1)
    return (weights * experts).sum(dim=1)


class _MMoE(nn.Module):  # type: ignore[misc]
    def __init__(self, width_in: int, cfg: NetworkConfig) -> None:
        super().__init__()
        self.experts = _Experts(width_in, cfg.hidden, cfg.experts, cfg.dropout)
        self.gates = nn.ModuleList(nn.Linear(width_in, cfg.experts) for _ in range(cfg.n_events))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        experts = self.experts(x)
        return [_mix(gate, x, experts) for gate in self.gates]


class _SharedBottom(nn.Module):  # type: ignore[misc]
    def __init__(self, width_in: int, cfg: NetworkConfig) -> None:
        super().__init__()
        self.bottom = nn.Sequential(
            _mlp(width_in, cfg.hidden, cfg.dropout), _mlp(cfg.hidden, cfg.hidden, cfg.dropout)
        )
        self.n_events = cfg.n_events

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        shared = self.bottom(x)
        return [shared] * self.n_events


class _CGCLevel(nn.Module):  # type: ignore[misc]
    """One PLE extraction level: task and shared experts, task gates, a shared gate."""

    def __init__(self, width_in: int, cfg: NetworkConfig, last: bool) -> None:
        super().__init__()
        task, shared = cfg.task_experts, cfg.experts
        self.task_experts = nn.ModuleList(
            _Experts(width_in, cfg.hidden, task, cfg.dropout) for _ in range(cfg.n_events)
        )
        self.shared_experts = _Experts(width_in, cfg.hidden, shared, cfg.dropout)
        self.task_gates = nn.ModuleList(
            nn.Linear(width_in, task + shared) for _ in range(cfg.n_events)
        )
        everything = task * cfg.n_events + shared
        self.shared_gate = None if last else nn.Linear(width_in, everything)

    def forward(self, inputs: list[torch.Tensor], shared_in: torch.Tensor) -> list[torch.Tensor]:
        shared = self.shared_experts(shared_in)
        own = [experts(x) for experts, x in zip(self.task_experts, inputs, strict=True)]
        outputs = [
            _mix(gate, x, torch.cat([mine, shared], dim=1))
            for gate, x, mine in zip(self.task_gates, inputs, own, strict=True)
        ]
        if self.shared_gate is not None:
            outputs.append(_mix(self.shared_gate, shared_in, torch.cat([*own, shared], dim=1)))
        return outputs


class _PLE(nn.Module):  # type: ignore[misc]
    def __init__(self, width_in: int, cfg: NetworkConfig) -> None:
        super().__init__()
        widths = [width_in] + [cfg.hidden] * (cfg.levels - 1)
        self.levels = nn.ModuleList(
            _CGCLevel(w, cfg, last=i == cfg.levels - 1) for i, w in enumerate(widths)
        )
        self.n_events = cfg.n_events

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        inputs, shared = [x] * self.n_events, x
        for level in self.levels:
            outputs = level(inputs, shared)
            inputs, shared = outputs[: self.n_events], outputs[-1]
        return list(inputs)


_BODIES: dict[str, type[nn.Module]] = {"shared_bottom": _SharedBottom, "mmoe": _MMoE, "ple": _PLE}


class MultiTaskNetwork(nn.Module):  # type: ignore[misc]
    """Numeric ``[B, F]`` float and categorical ``[B, C]`` int64 codes (0: unknown) in,
    log-probabilities ``[B, n_events]`` out."""

    def __init__(self, cfg: NetworkConfig) -> None:
        super().__init__()
        if cfg.architecture not in _BODIES:
            raise ValueError(
                f"`architecture` must be one of {ARCHITECTURES}, got {cfg.architecture!r}."
            )
        self.cfg = cfg
        self.embeddings = nn.ModuleList(nn.Embedding(n, cfg.embedding_dim) for n in cfg.vocab_sizes)
        width_in = cfg.n_numeric + cfg.embedding_dim * len(cfg.vocab_sizes)
        self.body = _BODIES[cfg.architecture](width_in, cfg)
        self.towers = nn.ModuleList(
            nn.Sequential(_mlp(cfg.hidden, cfg.tower, cfg.dropout), nn.Linear(cfg.tower, 1))
            for _ in range(cfg.n_events)
        )
        for embedding in self.embeddings:
            nn.init.normal_(embedding.weight, std=0.05)

    def logits(self, numeric: torch.Tensor, categorical: torch.Tensor) -> torch.Tensor:
        """Each head's own logit ``[B, n_events]`` (conditional heads: given the condition)."""
        parts = [numeric] + [emb(categorical[:, i]) for i, emb in enumerate(self.embeddings)]
        tasks = self.body(torch.cat(parts, dim=1))
        return torch.cat([tower(x) for tower, x in zip(self.towers, tasks, strict=True)], dim=1)

    def forward(self, numeric: torch.Tensor, categorical: torch.Tensor) -> torch.Tensor:
        log_p = F.logsigmoid(self.logits(numeric, categorical))
        condition = self.cfg.conditional
        if condition < 0:
            return log_p
        others = torch.ones(self.cfg.n_events, dtype=torch.bool)
        others[condition] = False
        base = log_p[:, condition : condition + 1]
        return torch.where(others.unsqueeze(0), log_p + base, log_p)


class Ensemble(nn.Module):  # type: ignore[misc]
    """Networks fitted from different seeds, read as one: the log of their mean probability
    per head (averaging lowers the variance that a single fit's seed leaves)."""

    def __init__(self, members: list[MultiTaskNetwork]) -> None:
        super().__init__()
        self.members = nn.ModuleList(members)
        self.cfg = members[0].cfg

    def forward(self, numeric: torch.Tensor, categorical: torch.Tensor) -> torch.Tensor:
        log_p = torch.stack([member(numeric, categorical) for member in self.members])
        return torch.logsumexp(log_p, dim=0) - math.log(len(self.members))


Scorer = MultiTaskNetwork | Ensemble


class ProbabilityGraph(nn.Module):  # type: ignore[misc]
    """What is exported to ONNX: probabilities ``[B, n_events]``."""

    def __init__(self, net: Scorer) -> None:
        super().__init__()
        self.net = net

    def forward(self, numeric: torch.Tensor, categorical: torch.Tensor) -> torch.Tensor:
        return torch.exp(self.net(numeric, categorical))


def export_onnx(net: Scorer) -> bytes:
    """The probability graph as ONNX bytes: ``numeric`` float32 ``[B, F]`` and
    ``categorical`` int64 ``[B, C]`` in, ``probabilities`` float32 ``[B, events]`` out."""
    graph = ProbabilityGraph(net).eval()
    example = (
        torch.zeros(2, net.cfg.n_numeric, dtype=torch.float32),
        torch.zeros(2, len(net.cfg.vocab_sizes), dtype=torch.int64),
    )
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            graph,
            example,
            buffer,
            input_names=["numeric", "categorical"],
            output_names=["probabilities"],
            dynamic_axes={"numeric": {0: "batch"}, "categorical": {0: "batch"}},
            opset_version=ONNX_OPSET,
            dynamo=False,
        )
    return buffer.getvalue()
