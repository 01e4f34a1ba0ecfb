"""AGCRN: GRU cells whose graph convolutions have node-adaptive weights on a learned graph.

Bai, Yao, Li, Wang and Wang, "Adaptive Graph Convolutional Recurrent Network for Traffic Forecasting",
NeurIPS 2020 (https://arxiv.org/abs/2007.02842). With node embeddings ``E [N, d]`` (d = 10):

    A~      = softmax(ReLU(E E^T))                                   (data-adaptive graph, DAGG)
    T_0 = I, T_1 = A~, T_k = 2 A~ T_{k-1} - T_{k-2}                   (Chebyshev terms, k < cheb_k)
    W_v     = E_v . W_pool   ([d, K, C_in, C_out] -> [N, K, C_in, C_out]),   b_v = E_v . b_pool   (NAPL)
    Z_v     = sum_k (T_k X)_v W_{v,k} + b_v                          (node-adaptive graph convolution)

An AGCRN cell is a GRU whose two linear maps are such convolutions:
``[r, u] = sigmoid(Z_g([x, h]))``, ``h~ = tanh(Z_c([x, r * h]))``, ``h' = u * h + (1 - u) * h~``.
Two stacked layers run over the L input steps; the last hidden state of the top layer is mapped to all
H horizon steps at once by a convolution over the hidden channels (the paper's "conv output head").
No fixed graph is used. Parameters are initialised as in the authors' training script (Xavier uniform for
matrices, uniform [0, 1) for vectors).
"""

from dataclasses import dataclass, field
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from basicts.configs import BasicTSModelConfig

from .contract import check_num_nodes, check_positive, require_set

__all__ = ["AGCRNConfig", "AGCRN"]


@dataclass
class AGCRNConfig(BasicTSModelConfig):
    """Config of :class:`AGCRN`; defaults are the paper's PEMS04 setting (also BasicTS's)."""

    num_nodes: Optional[int] = field(default=None, metadata={"help": "Node count N (filled from the dataset)."})
    input_len: int = field(default=12, metadata={"help": "Input steps L."})
    output_len: int = field(default=12, metadata={"help": "Forecast horizon H."})
    embed_dim: int = field(default=10, metadata={"help": "Node embedding size d (graph and NAPL weights)."})
    hidden_dim: int = field(default=64, metadata={"help": "GRU hidden units per node."})
    num_layers: int = field(default=2, metadata={"help": "Stacked AGCRN cell layers."})
    cheb_k: int = field(default=2, metadata={"help": "Chebyshev terms K of the graph convolution (>= 2)."})

    def __post_init__(self):
        check_positive(self, "num_nodes", "input_len", "output_len", "embed_dim", "hidden_dim", "num_layers")
        if isinstance(self.cheb_k, bool) or not isinstance(self.cheb_k, int) or self.cheb_k < 2:
            raise ValueError(f"AGCRNConfig.cheb_k={self.cheb_k!r} is not allowed; expected an int >= 2 "
                             "(T_0 = I and T_1 = the learned graph)")


class NodeAdaptiveGraphConv(nn.Module):
    """Graph convolution whose weights and bias are generated per node from node embeddings (NAPL).

    ``node_params`` turns the pools into per-node weights once per forward pass (they do not change over
    time steps); ``forward`` applies them. ``supports`` holds the Chebyshev terms from ``T_1`` on: the
    ``T_0 = I`` term is the input itself and is not multiplied out. Tensors are node-major (``[N, B, C]``):
    graph mixing is then one matrix product and the per-node product one batched matmul.

    Shapes: x [N, B, C_in], supports [K - 1, N, N], params ([N, K, C_in, C_out], [N, C_out]) -> [N, B, C_out].
    """

    def __init__(self, in_dim: int, out_dim: int, *, cheb_k: int, embed_dim: int):
        super().__init__()
        self.weight_pool = nn.Parameter(torch.empty(embed_dim, cheb_k, in_dim, out_dim))
        self.bias_pool = nn.Parameter(torch.empty(embed_dim, out_dim))

    def node_params(self, node_emb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-node weights ``[N, K, C_in, C_out]`` and bias ``[N, C_out]`` from ``node_emb [N, d]``."""
        return torch.einsum("nd,dkio->nkio", node_emb, self.weight_pool), node_emb @ self.bias_pool

    def forward(self, x: torch.Tensor, supports: torch.Tensor,
                params: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        weights, bias = params
        nodes, batch, dim = x.shape
        mixed = (supports.flatten(0, 1) @ x.reshape(nodes, batch * dim)).view(-1, nodes, batch, dim)  # [K-1, N, B, C]
        x_g = torch.cat([x.unsqueeze(0), mixed]).permute(1, 2, 0, 3).reshape(nodes, batch, -1)       # [N, B, K C]
        return torch.baddbmm(bias.unsqueeze(1), x_g, weights.flatten(1, 2))                           # [N, B, C_out]


class AGCRNCell(nn.Module):
    """A GRU step with node-adaptive graph convolutions as its gate and candidate maps.

    Shapes: x [N, B, C_in], state [N, B, D], supports [K - 1, N, N], params from ``node_params`` -> [N, B, D].
    """

    def __init__(self, in_dim: int, hidden_dim: int, *, cheb_k: int, embed_dim: int):
        super().__init__()
        self.hidden_dim = hidden_dim
        self.gate = NodeAdaptiveGraphConv(in_dim + hidden_dim, 2 * hidden_dim, cheb_k=cheb_k, embed_dim=embed_dim)
        self.candidate = NodeAdaptiveGraphConv(in_dim + hidden_dim, hidden_dim, cheb_k=cheb_k, embed_dim=embed_dim)

    def node_params(self, node_emb: torch.Tensor) -> tuple:
        """The per-node parameters of both convolutions (computed once per sequence)."""
        return self.gate.node_params(node_emb), self.candidate.node_params(node_emb)

    def forward(self, x: torch.Tensor, state: torch.Tensor, supports: torch.Tensor, params: tuple) -> torch.Tensor:
        gate_params, candidate_params = params
        gates = torch.sigmoid(self.gate(torch.cat([x, state], dim=-1), supports, gate_params))  # [N, B, 2D]
        reset, update = gates.split(self.hidden_dim, dim=-1)
        cand = torch.tanh(self.candidate(torch.cat([x, reset * state], dim=-1), supports, candidate_params))
        return update * state + (1 - update) * cand


class AGCRN(nn.Module):
    """AGCRN (Bai et al., NeurIPS 2020, https://arxiv.org/abs/2007.02842) as a BasicTS 1.x model.

    Card: node-adaptive parameter learning (node embeddings, dim 10), a data-adaptive graph
    ``softmax(ReLU(E E^T))``, 2 layers of AGCRN cells (GRU with NAPL graph convs, cheb_k = 2, 64 hidden units),
    a convolutional output head; no fixed graph, no timestamps. Parameters at the PEMS04 setting (N = 307,
    12 -> 12, default config): 748,810 (BasicTS reports 0.75M).

    Shapes:
        inputs [B, L, N] -> prediction [B, H, N].
    """

    Config = AGCRNConfig

    def __init__(self, config: AGCRNConfig):
        super().__init__()
        self.num_nodes = require_set(config, "num_nodes", "AGCRN")
        self.output_len = config.output_len
        self.cheb_k = config.cheb_k
        self.hidden_dim = config.hidden_dim
        self.node_emb = nn.Parameter(torch.empty(self.num_nodes, config.embed_dim))
        dims = [1] + [config.hidden_dim] * config.num_layers
        self.cells = nn.ModuleList(
            AGCRNCell(d_in, config.hidden_dim, cheb_k=config.cheb_k, embed_dim=config.embed_dim)
            for d_in in dims[:-1])
        # A [1 x D] kernel over the hidden channels of each node: one output channel per horizon step.
        self.head = nn.Conv2d(1, config.output_len, kernel_size=(1, config.hidden_dim))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for p in self.parameters():
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)
            else:
                nn.init.uniform_(p)

    def adaptive_supports(self) -> torch.Tensor:
        """Chebyshev terms ``T_1..T_{K-1}`` ``[cheb_k - 1, N, N]`` of the graph ``softmax(ReLU(E E^T))``."""
        graph = F.softmax(F.relu(self.node_emb @ self.node_emb.t()), dim=1)   # [N, N]
        terms = [torch.eye(self.num_nodes, device=graph.device, dtype=graph.dtype), graph]
        while len(terms) < self.cheb_k:
            terms.append(2 * graph @ terms[-1] - terms[-2])
        return torch.stack(terms[1:])

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        check_num_nodes(inputs, self.num_nodes, "AGCRN")
        batch = inputs.shape[0]
        supports = self.adaptive_supports()
        seq = inputs.permute(1, 2, 0).unsqueeze(-1)                            # [L, N, B, 1]
        for cell in self.cells:
            params = cell.node_params(self.node_emb)
            state = seq.new_zeros(self.num_nodes, batch, self.hidden_dim)       # [N, B, D]
            outputs = []
            for t in range(seq.shape[0]):  # recurrence over time; nodes and batch are vectorized
                state = cell(seq[t], state, supports, params)
                outputs.append(state)
            seq = torch.stack(outputs)                                         # [L, N, B, D]
        last = seq[-1].transpose(0, 1).unsqueeze(1)                            # [B, 1, N, D]
        return self.head(last).squeeze(-1)                                     # [B, H, N]
