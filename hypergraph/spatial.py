"""The spatial network of ST-SepNet: dilated temporal convolution + graph / hypergraph propagation.

Chen et al., "Decoupling Spatio-Temporal Prediction: When Lightweight Large Models Meet Adaptive
Hypergraphs" (STH-SepNet, KDD 2025). The spatial branch is an MTGNN-style stack (Wu et al., KDD 2020):

    Z_0   = Conv_1x1(X),                         S = Conv_{1 x T}(X)           (start and first skip)
    for each layer l:
        G     = tanh(Inc_f(Z)) * sigmoid(Inc_g(Z))                             (gated dilated inception)
        S     = S + Conv_skip(G)                                               (skip connection)
        P     = MixProp(G; P_A) + MixProp(G; P_{A^T})                          (first order, both directions)
        P     = gamma_l P + (1 - gamma_l) HGConv(G; H)                         (variant "hypergraph" only)
        Z     = LayerNorm(P + Z[..., -T':])                                    (residual)
    Y     = Conv_1x1(ReLU(Conv_1x1(ReLU(S + Conv_skip(Z)))))                   (head: H output steps)

Variants (the paper's ablation): ``static`` propagates on the given adjacency ``A``; ``gnn`` on the graph
learned by :class:`~hypergraph.graph_learner.GraphLearner`; ``hypergraph`` on the learned graph and, mixed
by ``gamma``, on the adaptive order-``k`` hypergraph of :class:`~hypergraph.construction.AdaptiveHypergraph`
with one of :data:`HYPERGRAPH_CONVS` (``conv``: HGNN, ``attention``, ``sage``). ``gamma`` is the graph's share,
as the published code's ``--gamma``: 0 hypergraph only (no graph is learned), 0.5 the paper's mix-order,
1 graph only; learnable (per layer, ``gamma_l = sigmoid(g_l)`` starting at ``gamma``, which must then lie in
(0, 1)) or fixed. The learned graph and hypergraph are built once per forward and shared by all layers. Every
layer uses dilation 1, so inputs shorter than the receptive field ``1 + 6 num_layers`` are left-padded with zeros.

Shapes:
    x: [B, L, N] -> [B, H, N].
"""
from __future__ import annotations

import math
import warnings
from typing import NamedTuple, Optional

import torch
import torch.nn.functional as F
from torch import nn

from .attention import HypergraphAttention
from .construction import AdaptiveHypergraph
from .conv import HypergraphConv
from .graph_learner import GraphLearner
from .mixprop import MixProp, transition_matrix
from .structure import Hypergraph
from .inception import GatedDilatedInception
from .sage import HypergraphSAGE

__all__ = ["HYPERGRAPH_CONVS", "SpatialNetwork", "VARIANTS"]


class _Variant(NamedTuple):
    learned_graph: bool
    hypergraph: bool


VARIANTS = {
    "static": _Variant(learned_graph=False, hypergraph=False),
    "gnn": _Variant(learned_graph=True, hypergraph=False),
    "hypergraph": _Variant(learned_graph=True, hypergraph=True),
}

#: The hypergraph convolutions a ``hypergraph`` network can use, by config name.
HYPERGRAPH_CONVS = {"conv": HypergraphConv, "attention": HypergraphAttention, "sage": HypergraphSAGE}


def _logit(share: float) -> float:
    """``g`` with ``sigmoid(g) = share``."""
    return math.log(share / (1.0 - share))


class _SpatialLayer(nn.Module):
    """Gated dilated inception, skip, mix-hop propagation in both directions, optional hypergraph mix."""

    def __init__(self, hidden_dim: int, skip_dim: int, skip_kernel: int, *, hypergraph: Optional[str],
                 graph: bool, gamma: float, gamma_learnable: bool, dropout: float):
        super().__init__()
        self.temporal = GatedDilatedInception(hidden_dim, hidden_dim)
        self.skip = nn.Conv2d(hidden_dim, skip_dim, kernel_size=(1, skip_kernel))
        self.forward_prop = MixProp(hidden_dim, hidden_dim, depth=2, beta=0.05) if graph else None
        self.backward_prop = MixProp(hidden_dim, hidden_dim, depth=2, beta=0.05) if graph else None
        self.hyperconv = HYPERGRAPH_CONVS[hypergraph](hidden_dim, hidden_dim) if hypergraph else None
        self.gamma = gamma
        mixes = graph and hypergraph is not None
        self.mix_logit = nn.Parameter(torch.tensor(_logit(gamma))) if mixes and gamma_learnable else None
        self.norm = nn.LayerNorm(hidden_dim)
        self.dropout = dropout

    def reset_parameters(self) -> None:
        for module in (self.temporal, self.skip, self.forward_prop, self.backward_prop, self.hyperconv, self.norm):
            if module is not None:
                module.reset_parameters()
        if self.mix_logit is not None:
            nn.init.constant_(self.mix_logit, _logit(self.gamma))

    def extra_repr(self) -> str:
        return f"gamma={self.gamma}, learnable={self.mix_logit is not None}, dropout={self.dropout}"

    def graph_share(self) -> torch.Tensor | float:
        """``gamma_l``: the graph's share of the propagation (1 without a hypergraph, 0 without a graph)."""
        if self.hyperconv is None:
            return 1.0
        if self.forward_prop is None:
            return 0.0
        return torch.sigmoid(self.mix_logit) if self.mix_logit is not None else self.gamma

    def forward(self, x: torch.Tensor, skip: torch.Tensor, transitions: torch.Tensor,
                hypergraph: Optional[Hypergraph]) -> tuple[torch.Tensor, torch.Tensor]:
        residual = x
        x = F.dropout(self.temporal(x), self.dropout, self.training)            # [B, C, N, T']
        skip = skip + self.skip(x)                                               # [B, S, N, 1]
        share, out = self.graph_share(), 0.0
        if self.forward_prop is not None:
            out = self.forward_prop(x, transitions[0]) + self.backward_prop(x, transitions[1])
        if self.hyperconv is not None:
            hyper = self.hyperconv(x.permute(0, 3, 2, 1), hypergraph)            # [B, T', N, C]
            out = share * out + (1.0 - share) * hyper.permute(0, 3, 2, 1)        # [B, C, N, T']
        out = out + residual[..., -out.shape[-1]:]
        return self.norm(out.permute(0, 2, 3, 1)).permute(0, 3, 1, 2), skip      # [B, C, N, T']


class SpatialNetwork(nn.Module):
    """Forecasts ``H`` steps from ``L`` with a graph or hypergraph spatial stack (see the module docstring).

    Shapes:
        x: [B, L, N] -> [B, H, N].
    """

    def __init__(self, num_nodes: int, input_len: int, output_len: int, *, variant: str = "hypergraph",
                 adjacency: Optional[torch.Tensor] = None, hidden_dim: int = 32, embed_dim: int = 16,
                 num_layers: int = 2, k: int = 3, dropout: float = 0.1, gamma: float = 0.5,
                 gamma_learnable: bool = True, hypergraph_conv: str = "conv"):
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"variant must be one of {sorted(VARIANTS)}, got {variant!r}")
        if hypergraph_conv not in HYPERGRAPH_CONVS:
            raise ValueError(f"hypergraph_conv must be one of {sorted(HYPERGRAPH_CONVS)}, got {hypergraph_conv!r}")
        if not (isinstance(gamma, (int, float)) and 0.0 <= gamma <= 1.0) or (gamma_learnable and gamma in (0, 1)):
            raise ValueError(f"gamma must be in [0, 1] ((0, 1) when learnable: a sigmoid never reaches 0 or 1), got "
                             f"{gamma!r} with gamma_learnable={gamma_learnable}; fix gamma_learnable=False for 0 or 1")
        for name, value in (("num_nodes", num_nodes), ("input_len", input_len), ("output_len", output_len),
                            ("hidden_dim", hidden_dim), ("embed_dim", embed_dim), ("num_layers", num_layers),
                            ("k", k)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        if hidden_dim % 4:
            raise ValueError(f"hidden_dim must be divisible by 4 (one quarter per inception kernel), got {hidden_dim}")
        if k > num_nodes:
            raise ValueError(f"k (hyperedge order) must be <= num_nodes={num_nodes}, got {k}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.num_nodes, self.input_len, self.output_len = num_nodes, input_len, output_len
        self.variant, self.num_layers, self.dropout = variant, num_layers, dropout
        spec = VARIANTS[variant]
        fixed_share = None if gamma_learnable else gamma
        uses_graph = not (spec.hypergraph and fixed_share == 0)  # gamma 0: hypergraph only, no graph learned
        uses_hypergraph = spec.hypergraph and fixed_share != 1  # gamma 1: graph only

        if not spec.learned_graph:
            self.register_buffer("static_transitions", self._static_transitions(adjacency), persistent=False)
        elif adjacency is not None:
            warnings.warn(f"adjacency is only used by variant 'static'; variant {variant!r} learns its graph "
                          f"and ignores it", stacklevel=2)
        self.graph_learner = GraphLearner(num_nodes, embed_dim=embed_dim) if spec.learned_graph and uses_graph \
            else None
        self.hypergraph_learner = AdaptiveHypergraph(num_nodes, embed_dim=embed_dim, k=k) if uses_hypergraph \
            else None

        shrink = GatedDilatedInception(1, 4).shrink                               # 6 time steps per layer
        self.padded_len = max(input_len, 1 + shrink * num_layers)                 # receptive field
        skip_dim, end_dim = 2 * hidden_dim, 4 * hidden_dim
        self.start = nn.Conv2d(1, hidden_dim, kernel_size=(1, 1))
        self.skip_in = nn.Conv2d(1, skip_dim, kernel_size=(1, self.padded_len))
        self.layers = nn.ModuleList(
            _SpatialLayer(hidden_dim, skip_dim, self.padded_len - shrink * (i + 1),
                          hypergraph=hypergraph_conv if uses_hypergraph else None, graph=uses_graph, gamma=gamma,
                          gamma_learnable=gamma_learnable, dropout=dropout)
            for i in range(num_layers))
        self.skip_out = nn.Conv2d(hidden_dim, skip_dim, kernel_size=(1, self.padded_len - shrink * num_layers))
        self.head = nn.Sequential(nn.ReLU(), nn.Conv2d(skip_dim, end_dim, kernel_size=(1, 1)), nn.ReLU(),
                                  nn.Conv2d(end_dim, output_len, kernel_size=(1, 1)))

    def _static_transitions(self, adjacency: Optional[torch.Tensor]) -> torch.Tensor:
        if adjacency is None:
            raise ValueError("variant 'static' needs adjacency (an [N, N] tensor of the road graph); "
                             "pass adjacency=... or choose variant 'gnn' or 'hypergraph'")
        adjacency = torch.as_tensor(adjacency, dtype=torch.get_default_dtype())
        if adjacency.shape != (self.num_nodes, self.num_nodes):
            raise ValueError(f"adjacency has shape {tuple(adjacency.shape)}; expected [N, N] with "
                             f"N = num_nodes = {self.num_nodes}")
        if not torch.isfinite(adjacency).all() or (adjacency < 0).any():
            raise ValueError("adjacency must hold finite, non-negative edge weights")
        return torch.stack([transition_matrix(adjacency), transition_matrix(adjacency.t())])  # [2, N, N]

    def reset_parameters(self) -> None:
        learners = (self.graph_learner, self.hypergraph_learner)
        for module in (*learners, self.start, self.skip_in, *self.layers, self.skip_out, *self.head):
            if module is not None and hasattr(module, "reset_parameters"):
                module.reset_parameters()

    def extra_repr(self) -> str:
        return (f"num_nodes={self.num_nodes}, input_len={self.input_len}, output_len={self.output_len}, "
                f"variant={self.variant!r}, num_layers={self.num_layers}, padded_len={self.padded_len}")

    def transitions(self) -> torch.Tensor:
        """The forward and backward transition matrices ``[2, N, N]`` used by every layer."""
        if self.graph_learner is None:
            return getattr(self, "static_transitions", None)  # None: hypergraph only
        adjacency = self.graph_learner()                                          # [N, N]
        return torch.stack([transition_matrix(adjacency), transition_matrix(adjacency.t())])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 3 or x.shape[1] != self.input_len or x.shape[2] != self.num_nodes:
            raise ValueError(f"x has shape {tuple(x.shape)}; expected [B, L={self.input_len}, "
                             f"N={self.num_nodes}] (input_len, num_nodes)")
        h = x.transpose(1, 2).unsqueeze(1)                                       # [B, 1, N, L]
        h = F.pad(h, (self.padded_len - self.input_len, 0))                      # [B, 1, N, T]
        skip = self.skip_in(F.dropout(h, self.dropout, self.training))           # [B, S, N, 1]
        h = self.start(h)                                                        # [B, C, N, T]
        transitions = self.transitions()
        hypergraph = None if self.hypergraph_learner is None else self.hypergraph_learner()
        for layer in self.layers:
            h, skip = layer(h, skip, transitions, hypergraph)
        skip = skip + self.skip_out(h)                                           # [B, S, N, 1]
        return self.head(skip).squeeze(-1)                                       # [B, H, N]
