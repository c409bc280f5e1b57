"""The network behind :class:`~furima.recommend.SequentialRecommender`: a SASRec-class causal
transformer over item sequences.

Sequences hold item indices shifted by one (``0`` is padding) and are *right*-padded: with
causal attention a real position never sees a padding position (padding only follows), so no
key mask is needed, and positions count from the first item kept, so a sequence gets the same
output whatever length its batch is padded to. Item embeddings double as output weights
(weight tying), optionally enriched with pooled item-attribute embeddings (side information).

Optionally each block mixes attention with a *causal* low-pass filter (BSARec's inductive
frequency bias, AAAI'24). BSARec filters the whole sequence with an FFT, so each position sees
the future; trained at every position that would leak the target. Here position ``t`` gets the
FFT low-pass of the prefix ``0..t`` read at ``t``, written as a fixed lower-triangular matrix
(no FFT operator in the ONNX graph).

This module imports torch at import time; import it lazily.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = ["NetworkConfig", "NextItemNetwork"]


@dataclass(frozen=True)
class NetworkConfig:
    """Shapes and regularisation of the network (plain data, saved with the model)."""

    n_items: int
    max_len: int = 50
    dim: int = 64
    layers: int = 2
    heads: int = 1
    dropout: float = 0.5
    attention_dropout: float = 0.5
    norm_first: bool = True
    ffn_mult: int = 1
    n_attributes: int = 0
    feature_dim: int = 0
    filter_alpha: float = 0.0
    filter_cutoff: int = 5

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def causal_lowpass(max_len: int, cutoff: int) -> np.ndarray:
    """``[max_len, max_len]`` lower-triangular matrix whose row ``t`` reads, at position ``t``,
    BSARec's FFT low-pass (the lowest ``cutoff`` frequency bins kept) of the prefix ``0..t``:
    the filter each prefix would get on its own, so no position sees its future."""
    matrix = np.zeros((max_len, max_len))
    for t in range(max_len):
        n = t + 1
        spectrum = np.fft.rfft(np.eye(n), axis=0)
        spectrum[cutoff:] = 0
        matrix[t, :n] = np.fft.irfft(spectrum, n=n, axis=0)[-1]
    return matrix.astype(np.float32)


class _Block(nn.Module):  # type: ignore[misc]
    """Multi-head causal self-attention and a feed-forward layer, pre- or post-LayerNorm."""

    def __init__(self, cfg: NetworkConfig) -> None:
        super().__init__()
        dim = cfg.dim
        self.heads = cfg.heads
        self.norm_first = cfg.norm_first
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.ffn = nn.Sequential(
            nn.Linear(dim, dim * cfg.ffn_mult),
            nn.GELU(),
            nn.Dropout(cfg.dropout),
            nn.Linear(dim * cfg.ffn_mult, dim),
        )
        self.norm1 = nn.LayerNorm(dim)
        self.norm2 = nn.LayerNorm(dim)
        self.attn_drop = nn.Dropout(cfg.attention_dropout)
        self.drop = nn.Dropout(cfg.dropout)
        self.alpha = cfg.filter_alpha
        if self.alpha > 0:
            self.beta = nn.Parameter(torch.zeros(dim))

    def attention(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        batch, length, dim = x.shape
        q, k, v = self.qkv(x).view(batch, length, 3, self.heads, dim // self.heads).unbind(2)
        q, k, v = (t.transpose(1, 2) for t in (q, k, v))  # [B, H, L, Dh]
        weights = (q @ k.transpose(-1, -2)) / math.sqrt(dim // self.heads) + mask
        out = self.attn_drop(torch.softmax(weights, dim=-1)) @ v
        return self.proj(out.transpose(1, 2).reshape(batch, length, dim))

    def mixer(self, x: torch.Tensor, mask: torch.Tensor, lowpass: torch.Tensor) -> torch.Tensor:
        attended = self.attention(x, mask)
        if self.alpha <= 0:
            return attended
        low = lowpass @ x
        filtered = low + self.beta.square() * (x - low)  # BSARec: low + beta^2 * high
        return self.alpha * filtered + (1 - self.alpha) * attended

    def forward(self, x: torch.Tensor, mask: torch.Tensor, lowpass: torch.Tensor) -> torch.Tensor:
        if self.norm_first:
            x = x + self.drop(self.mixer(self.norm1(x), mask, lowpass))
            return x + self.drop(self.ffn(self.norm2(x)))
        x = self.norm1(x + self.drop(self.mixer(x, mask, lowpass)))
        return self.norm2(x + self.drop(self.ffn(x)))


class NextItemNetwork(nn.Module):  # type: ignore[misc]
    """Item sequences in, one hidden state per position out; scores are dot products with the
    (tied) item embeddings.

    Args:
        cfg: Shapes and regularisation.
        attributes: Optional ``[n_items, k]`` int64 attribute ids per item, ``-1`` padding;
            each item's input and output embedding adds the mean of its attributes'
            embeddings.
        features: Optional ``[n_items, feature_dim]`` float item features, projected and added
            the same way.
    """

    def __init__(
        self,
        cfg: NetworkConfig,
        attributes: np.ndarray | None = None,
        features: np.ndarray | None = None,
    ) -> None:
        super().__init__()
        self.cfg = cfg
        self.item = nn.Embedding(cfg.n_items + 1, cfg.dim, padding_idx=0)
        self.position = nn.Embedding(cfg.max_len, cfg.dim)
        self.input_drop = nn.Dropout(cfg.dropout)
        self.input_norm = nn.LayerNorm(cfg.dim)
        self.blocks = nn.ModuleList(_Block(cfg) for _ in range(cfg.layers))
        self.final_norm = nn.LayerNorm(cfg.dim)
        mask = torch.full((cfg.max_len, cfg.max_len), float("-inf")).triu(1)
        self.register_buffer("causal", mask, persistent=False)
        lowpass = torch.from_numpy(causal_lowpass(cfg.max_len, cfg.filter_cutoff))
        self.register_buffer("lowpass", lowpass, persistent=False)
        self._side_info(cfg, attributes, features)
        self.apply(_init_weights)

    def _side_info(
        self, cfg: NetworkConfig, attributes: np.ndarray | None, features: np.ndarray | None
    ) -> None:
        self.attribute: nn.Embedding | None = None
        self.feature: nn.Linear | None = None
        if attributes is not None and cfg.n_attributes:
            padded = np.vstack([np.full((1, attributes.shape[1]), -1), attributes]) + 1
            self.register_buffer("attribute_ids", torch.from_numpy(padded.astype(np.int64)))
            self.attribute = nn.Embedding(cfg.n_attributes + 1, cfg.dim, padding_idx=0)
        if features is not None and cfg.feature_dim:
            padded_f = np.vstack([np.zeros((1, features.shape[1])), features])
            self.register_buffer("features", torch.from_numpy(padded_f.astype(np.float32)))
            self.feature = nn.Linear(cfg.feature_dim, cfg.dim, bias=False)

    def item_table(self) -> torch.Tensor:
        """``[n_items + 1, dim]`` item embeddings with side information (row 0: padding)."""
        table = self.item.weight
        if self.attribute is not None:
            ids = self.attribute_ids
            summed = self.attribute(ids).sum(dim=1)
            count = (ids > 0).sum(dim=1, keepdim=True).clamp(min=1)
            table = table + summed / count
        if self.feature is not None:
            table = table + self.feature(self.features)
        return table

    def encode(self, seq: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
        """``[B, L]`` shifted item ids (right-padded with 0) -> ``[B, L, dim]`` hidden states."""
        length = seq.shape[1]
        positions = torch.arange(length, device=seq.device)
        x = table[seq] * math.sqrt(self.cfg.dim) + self.position(positions)
        x = self.input_drop(x if self.cfg.norm_first else self.input_norm(x))
        x = x * (seq > 0).unsqueeze(-1)
        mask = self.causal[:length, :length]
        lowpass = self.lowpass[:length, :length]
        for block in self.blocks:
            x = block(x, mask, lowpass)
        return self.final_norm(x) if self.cfg.norm_first else x

    def forward(self, seq: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Scores ``[B, n_items]`` of the item after each sequence's last real position."""
        table = self.item_table()
        hidden = self.encode(seq, table)
        index = (lengths - 1).clamp(min=0).view(-1, 1, 1).expand(-1, 1, hidden.shape[-1])
        last = hidden.gather(1, index).squeeze(1)
        return last @ table[1:].T


def _init_weights(module: nn.Module) -> None:
    """Truncated-normal (std 0.02) weights, zero biases, as BERT and SASRec ports do."""
    if isinstance(module, nn.Linear | nn.Embedding):
        nn.init.trunc_normal_(module.weight, std=0.02, a=-0.04, b=0.04)
        if isinstance(module, nn.Embedding) and module.padding_idx is not None:
            with torch.no_grad():
                module.weight[module.padding_idx].zero_()
    if isinstance(module, nn.Linear) and module.bias is not None:
        nn.init.zeros_(module.bias)
