"""Fusion gates of ST-SepNet: combine the temporal (language model) and spatial (hypergraph) forecasts.

ST-SepNet (Chen et al., KDD'25) decouples time and space and fuses the two branch outputs
``Y_t, Y_s [B, H, N]`` with a gate. Each gate here computes a weight ``g`` in (0, 1) and returns the convex
combination ``Y = g * Y_t + (1 - g) * Y_s``, so it can always fall back to either branch:

* ``sigmoid`` (adaptive gate): ``g[:, n] = sigmoid(W_2 relu(W_1 [y_t,n ; y_s,n] + b_1) + b_2)``, one weight per
  node and horizon step from the node's two forecast vectors (``[2H] -> [H]``).
* ``attention``: per node, the query ``q = W_q [y_t ; y_s]`` attends over the two sources with keys
  ``k_i = W_k y_i``; ``g = softmax_i(q . k_i / sqrt(d))`` over the *two* sources (never a size-1 axis),
  one weight per node.
* ``lstm``: an LSTM walks the horizon per node with input ``(y_t,h, y_s,h)``; ``g_h = sigmoid(w . h_h + b)``
  gives one weight per step, conditioned on the steps before it.

All gates share weights across nodes, so they work for any N. :data:`GATES` is the one registry.
"""
from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["FusionGate", "SigmoidGate", "AttentionGate", "LSTMGate", "GATES", "build_gate"]


class FusionGate(nn.Module):
    """Base: ``Y = g * Y_t + (1 - g) * Y_s`` with ``g`` from :meth:`weights`.

    Shapes:
        temporal ``[B, H, N]``, spatial ``[B, H, N]`` -> ``[B, H, N]``.
    """

    def __init__(self, horizon: int, hidden_dim: int = 32):
        super().__init__()
        self.horizon, self.hidden_dim = horizon, hidden_dim

    def extra_repr(self) -> str:
        return f"horizon={self.horizon}, hidden_dim={self.hidden_dim}"

    def weights(self, temporal: torch.Tensor, spatial: torch.Tensor) -> torch.Tensor:
        """The temporal branch's weight, broadcastable to ``[B, H, N]``."""
        raise NotImplementedError

    def forward(self, temporal: torch.Tensor, spatial: torch.Tensor) -> torch.Tensor:
        if temporal.shape != spatial.shape or temporal.shape[1] != self.horizon:
            raise ValueError(f"the gate needs two [B, {self.horizon}, N] forecasts, got "
                             f"{tuple(temporal.shape)} and {tuple(spatial.shape)}")
        gate = self.weights(temporal, spatial)
        return gate * temporal + (1 - gate) * spatial


class SigmoidGate(FusionGate):
    """Adaptive sigmoid gate: one weight per node and horizon step."""

    def __init__(self, horizon: int, hidden_dim: int = 32):
        super().__init__(horizon, hidden_dim)
        self.net = nn.Sequential(nn.Linear(2 * horizon, hidden_dim), nn.ReLU(), nn.Linear(hidden_dim, horizon))

    def weights(self, temporal, spatial):
        both = torch.cat([temporal, spatial], dim=1).transpose(1, 2)  # [B, N, 2H]
        return torch.sigmoid(self.net(both)).transpose(1, 2)  # [B, H, N]


class AttentionGate(FusionGate):
    """Attention over the two sources: one weight per node."""

    def __init__(self, horizon: int, hidden_dim: int = 32):
        super().__init__(horizon, hidden_dim)
        self.query = nn.Linear(2 * horizon, hidden_dim)
        self.key = nn.Linear(horizon, hidden_dim)

    def weights(self, temporal, spatial):
        q = self.query(torch.cat([temporal, spatial], dim=1).transpose(1, 2))  # [B, N, d]
        k = self.key(torch.stack([temporal, spatial], dim=-1).permute(0, 2, 3, 1))  # [B, N, 2, d]
        scores = torch.einsum("bnd,bnsd->bns", q, k) / math.sqrt(self.hidden_dim)  # [B, N, 2]
        return scores.softmax(dim=-1)[..., 0][:, None, :]  # temporal's share: [B, 1, N]


class LSTMGate(FusionGate):
    """LSTM over the horizon per node: one weight per node and step, conditioned on earlier steps."""

    def __init__(self, horizon: int, hidden_dim: int = 32):
        super().__init__(horizon, hidden_dim)
        self.lstm = nn.LSTM(2, hidden_dim, batch_first=True)
        self.proj = nn.Linear(hidden_dim, 1)

    def weights(self, temporal, spatial):
        batch, horizon, nodes = temporal.shape
        pairs = torch.stack([temporal, spatial], dim=-1).transpose(1, 2)  # [B, N, H, 2]
        hidden, _ = self.lstm(pairs.reshape(batch * nodes, horizon, 2))  # [B*N, H, d]
        gate = torch.sigmoid(self.proj(hidden)).reshape(batch, nodes, horizon)  # [B, N, H]
        return gate.transpose(1, 2)  # [B, H, N]


GATES: dict[str, type[FusionGate]] = {"sigmoid": SigmoidGate, "attention": AttentionGate, "lstm": LSTMGate}


def build_gate(name: str, horizon: int, hidden_dim: int = 32) -> FusionGate:
    """The gate registered as ``name`` in :data:`GATES`."""
    if name not in GATES:
        raise ValueError(f"gate must be one of {sorted(GATES)}, got {name!r}")
    return GATES[name](horizon, hidden_dim)
