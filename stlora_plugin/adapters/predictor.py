"""The node-specific predictor of ST-LoRA: a temporal embedding, residual NALL blocks and a horizon head.

Ruan et al., "ST-LoRA: Low-rank Adaptation for Spatio-Temporal Forecasting" (ECML-PKDD 2024). For the
series ``X_v`` of each node ``v`` (length ``T``):

    H_0 = Conv2D(X)                                          temporal features per node
    H_l = H_{l-1} + Dropout(NALL_l(act(Norm(H_{l-1}))))      l = 1..L
    Yhat = G(H_L)                                            head to the horizon, zero at initialisation

The paper's ``Conv2D`` has a ``1 x 1`` kernel with the time steps as input channels, which is exactly a linear
map of each node's series; it is applied here as ``nn.Linear`` on ``[B, N, T]`` (same function, no
transposes). ``Norm`` is a layer norm over each node's hidden features, so nodes never mix: every operation
acts on one node at a time, and only the NALL cores differ between nodes.
"""
from __future__ import annotations

from torch import nn

from .nall import NodeAdaptiveLowRankLinear

__all__ = ["ACTIVATIONS", "NodeSpecificPredictor", "make_activation"]

#: Activation names accepted by the ST-LoRA config. "identity" and "tanh" keep the sign of their input.
ACTIVATIONS = {
    "identity": nn.Identity,
    "tanh": nn.Tanh,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "relu": nn.ReLU,
}


def make_activation(name: str) -> nn.Module:
    """The activation module called ``name`` (one of :data:`ACTIVATIONS`)."""
    if name not in ACTIVATIONS:
        raise ValueError(f"activation {name!r} is not known; choose one of {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[name]()


class _ResidualNALLBlock(nn.Module):
    """``h + Dropout(NALL(act(LayerNorm(h))))``, per node."""

    def __init__(self, hidden_size: int, num_nodes: int, *, rank: int, alpha: float, core: str, dropout: float,
                 activation: str):
        super().__init__()
        self.norm = nn.LayerNorm(hidden_size)
        self.act = make_activation(activation)
        self.nall = NodeAdaptiveLowRankLinear(hidden_size, hidden_size, num_nodes, rank=rank, alpha=alpha,
                                              core=core, dropout=dropout)
        self.dropout = nn.Dropout(dropout)

    def forward(self, h):
        return h + self.dropout(self.nall(self.act(self.norm(h))))


class NodeSpecificPredictor(nn.Module):
    """Map each node's series of ``in_len`` steps to ``out_len`` steps through ``num_layers`` NALL blocks.

    Shapes:
        x: ``[B, N, in_len]`` (node-major) -> ``[B, N, out_len]``.
    """

    def __init__(self, in_len: int, out_len: int, num_nodes: int, *, hidden_size: int = 32, num_layers: int = 2,
                 rank: int = 4, alpha: float = 4.0, core: str = "full", dropout: float = 0.0,
                 activation: str = "gelu"):
        super().__init__()
        for name, value in (("in_len", in_len), ("out_len", out_len), ("hidden_size", hidden_size),
                            ("num_layers", num_layers)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"NodeSpecificPredictor: {name}={value!r} is not allowed; expected an int >= 1")
        self.in_len, self.out_len, self.num_nodes = in_len, out_len, num_nodes
        self.embed = nn.Linear(in_len, hidden_size)  # the paper's 1x1 Conv2D over time
        self.blocks = nn.ModuleList(
            _ResidualNALLBlock(hidden_size, num_nodes, rank=rank, alpha=alpha, core=core, dropout=dropout,
                               activation=activation)
            for _ in range(num_layers))
        self.head = nn.Linear(hidden_size, out_len)
        nn.init.zeros_(self.head.weight)  # the predictor's correction starts at exactly zero (fusion.py)
        nn.init.zeros_(self.head.bias)

    def extra_repr(self) -> str:
        return f"in_len={self.in_len}, out_len={self.out_len}, num_nodes={self.num_nodes}"

    def forward(self, x):
        if x.shape[-1] != self.in_len:
            raise ValueError(f"NodeSpecificPredictor: input has {x.shape[-1]} steps (last axis) but the predictor "
                             f"was built for in_len={self.in_len}; input shape {tuple(x.shape)}")
        h = self.embed(x)  # [B, N, D]
        for block in self.blocks:
            h = block(h)  # [B, N, D]
        return self.head(h)  # [B, N, out_len]
