"""Graph WaveNet: dilated gated temporal convolutions with diffusion graph convolutions on fixed and learned graphs.

Wu, Pan, Long, Jiang and Zhang, "Graph WaveNet for Deep Spatial-Temporal Graph Modeling", IJCAI 2019
(https://arxiv.org/abs/1906.00121). Each of the ``blocks x layers`` layers:

    h    = tanh(Theta_1 *_d X) * sigmoid(Theta_2 *_d X)                (gated TCN, kernel 2, dilation d)
    s   += W_skip h                                                     (skip connection to the output)
    X'   = BN(W [h, P_1 h, .., P_1^K h, .., A_adp^T h, .., (A_adp^T)^K h] + X)  (diffusion graph conv + residual)

with ``P_1 = D_out^-1 A`` and ``P_2 = D_in^-1 A^T`` the forward and backward random-walk matrices of the road
graph ("doubletransition") and the self-adaptive adjacency ``A_adp = SoftMax(ReLU(E_1 E_2))`` learned from two
node embeddings ``E_1 [N, c]``, ``E_2 [c, N]``. Dilations restart at 1 in every block (1, 2, 1, 2, ...), so
4 blocks of 2 layers see 13 steps; shorter inputs are zero-padded on the left. The output module maps the
summed skips of the last step with two 1x1 convs to all H horizon steps. The input carries the value and the
time of day (a fraction of the day in [0, 1)), as the authors feed it.

The road-graph matrices are applied as ``(P h)_n = sum_m P[n, m] h_m`` (a node aggregates its row of the
transition matrix) and the adaptive one transposed, ``(A_adp^T h)_n = sum_m A_adp[m, n] h_m``, both as in the
reference (its BasicTS supports are stored transposed and applied transposed; ``A_adp`` is applied as learned).
On a directed graph the two readings send information opposite ways; ``tests/backbones/test_gwnet.py`` pins it.
"""
from dataclasses import dataclass, field
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from basicts.configs import BasicTSModelConfig

from .contract import check_num_nodes, check_positive, load_graph, require_set

__all__ = ["GWNetConfig", "GWNet"]


@dataclass
class GWNetConfig(BasicTSModelConfig):
    """Config of :class:`GWNet`; defaults are the paper's and BasicTS's PEMS04 setting."""

    num_nodes: Optional[int] = field(default=None, metadata={"help": "Node count N (filled from the dataset)."})
    input_len: int = field(default=12, metadata={"help": "Input steps L."})
    output_len: int = field(default=12, metadata={"help": "Forecast horizon H."})
    dataset: Optional[str] = field(default=None, metadata={
        "help": "Prepared dataset name or folder holding adj_mx.pkl (the fixed graph; filled from the dataset)."})
    use_fixed_graph: bool = field(default=True, metadata={
        "help": "Diffuse on the dataset's forward and backward transition matrices (needs dataset)."})
    adaptive_graph: bool = field(default=True, metadata={
        "help": "Add the self-adaptive adjacency learned from node embeddings."})
    node_dim: int = field(default=10, metadata={"help": "Width c of the node embeddings of the adaptive graph."})
    use_time_of_day: bool = field(default=True, metadata={"help": "Feed time of day as a second input channel."})
    residual_channels: int = field(default=32, metadata={"help": "Channels of the residual stream."})
    dilation_channels: int = field(default=32, metadata={"help": "Channels of the gated TCN."})
    skip_channels: int = field(default=256, metadata={"help": "Channels of the skip connections."})
    end_channels: int = field(default=512, metadata={"help": "Hidden channels of the output module."})
    kernel_size: int = field(default=2, metadata={"help": "Temporal kernel size of the gated TCN."})
    blocks: int = field(default=4, metadata={"help": "Blocks; dilations restart at 1 in each."})
    layers: int = field(default=2, metadata={"help": "Layers per block, dilations 1, 2, 4, ..."})
    diffusion_order: int = field(default=2, metadata={"help": "Diffusion steps K per graph."})
    dropout: float = field(default=0.3, metadata={"help": "Dropout after each graph conv, in [0, 1)."})

    def __post_init__(self):
        check_positive(self, "num_nodes", "input_len", "output_len", "node_dim", "residual_channels",
                       "dilation_channels", "skip_channels", "end_channels", "kernel_size", "blocks", "layers",
                       "diffusion_order")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"GWNetConfig.dropout={self.dropout!r} is not allowed; expected a float in [0, 1)")
        if not (self.use_fixed_graph or self.adaptive_graph):
            raise ValueError("GWNetConfig: use_fixed_graph=False and adaptive_graph=False leaves the graph conv "
                             "without a graph; allowed: at least one of them True")


class DiffusionGraphConv(nn.Module):
    """``W [h, S_1 h, .., S_1^K h, S_2 h, ..] + b`` followed by dropout: K diffusion steps on each support.

    Shapes: x [B, C_in, N, T], supports [S, N, N] -> [B, C_out, N, T].
    """

    def __init__(self, c_in: int, c_out: int, num_supports: int, order: int, dropout: float):
        super().__init__()
        self.order = order
        self.mlp = nn.Conv2d((1 + num_supports * order) * c_in, c_out, kernel_size=1)
        self.dropout = nn.Dropout(dropout)

    def extra_repr(self) -> str:
        return f"order={self.order}"

    def forward(self, x: torch.Tensor, supports: torch.Tensor) -> torch.Tensor:
        hop = torch.einsum("snm,bcmt->bscnt", supports, x)                               # [B, S, C, N, T]
        hops = [hop]
        for _ in range(1, self.order):
            hop = torch.einsum("snm,bscmt->bscnt", supports, hop)                        # [B, S, C, N, T]
            hops.append(hop)
        diffused = torch.stack(hops, dim=2).flatten(1, 3)                                # [B, S*K*C, N, T]
        return self.dropout(self.mlp(torch.cat([x, diffused], dim=1)))                   # [B, C_out, N, T]


class GWNet(nn.Module):
    """Graph WaveNet.

    Paper: Graph WaveNet for Deep Spatial-Temporal Graph Modeling. Venue: IJCAI 2019.
    Link: https://arxiv.org/abs/1906.00121. Official code: https://github.com/nnzhan/Graph-WaveNet.
    Graph: "doubletransition" supports of the dataset plus the adaptive adjacency (3 supports, order 2).
    Parameters: 295,688 with the default config at PEMS04 (N=307, 12 -> 12); BasicTS reports 0.31M (its port
    also creates 8 residual 1x1 convs that are never used when the graph conv is on, and a graph conv and
    batch norm for the last layer, whose output is never read).

    Shapes:
        inputs: [B, L, N]; inputs_timestamps: [B, L, K] (channel 0 is time of day in [0, 1)).
        output: [B, H, N].
    """

    Config = GWNetConfig

    def __init__(self, config: GWNetConfig):
        super().__init__()
        self.num_nodes = require_set(config, "num_nodes", "GWNet")
        self.output_len = config.output_len
        self.use_time_of_day = config.use_time_of_day
        if config.use_fixed_graph:
            supports = load_graph(config.dataset, "doubletransition", self.num_nodes, "GWNet")
        else:
            supports = torch.zeros(0, self.num_nodes, self.num_nodes)
        self.register_buffer("supports", supports, persistent=False)                    # [S, N, N]
        if config.adaptive_graph:
            self.node_source = nn.Parameter(torch.randn(self.num_nodes, config.node_dim))
            self.node_target = nn.Parameter(torch.randn(config.node_dim, self.num_nodes))
        else:
            self.register_parameter("node_source", None)
            self.register_parameter("node_target", None)
        num_supports = supports.shape[0] + int(config.adaptive_graph)

        c_res, c_dil = config.residual_channels, config.dilation_channels
        self.start_conv = nn.Conv2d(2 if config.use_time_of_day else 1, c_res, kernel_size=1)
        self.filter_convs, self.gate_convs = nn.ModuleList(), nn.ModuleList()
        self.skip_convs, self.graph_convs, self.norms = nn.ModuleList(), nn.ModuleList(), nn.ModuleList()
        self.receptive_field = 1
        for _ in range(config.blocks):
            for layer in range(config.layers):
                dilation = 2 ** layer
                self.filter_convs.append(nn.Conv2d(c_res, c_dil, (1, config.kernel_size), dilation=dilation))
                self.gate_convs.append(nn.Conv2d(c_res, c_dil, (1, config.kernel_size), dilation=dilation))
                self.skip_convs.append(nn.Conv2d(c_dil, config.skip_channels, kernel_size=1))
                self.receptive_field += dilation * (config.kernel_size - 1)
        # The last layer only feeds the skips: its graph conv and norm would never be read (the authors' code
        # builds them anyway, which leaves parameters without gradients and breaks DDP).
        for _ in range(len(self.filter_convs) - 1):
            self.graph_convs.append(DiffusionGraphConv(c_dil, c_res, num_supports, config.diffusion_order,
                                                       config.dropout))
            self.norms.append(nn.BatchNorm2d(c_res))
        self.end_conv1 = nn.Conv2d(config.skip_channels, config.end_channels, kernel_size=1)
        self.end_conv2 = nn.Conv2d(config.end_channels, config.output_len, kernel_size=1)

    def extra_repr(self) -> str:
        return (f"num_nodes={self.num_nodes}, output_len={self.output_len}, "
                f"receptive_field={self.receptive_field}, fixed_supports={self.supports.shape[0]}")

    def adaptive_adjacency(self) -> torch.Tensor:
        """``SoftMax(ReLU(E_1 E_2))`` row-wise, ``[N, N]``."""
        return F.softmax(F.relu(self.node_source @ self.node_target), dim=1)

    def forward(self, inputs: torch.Tensor, inputs_timestamps: torch.Tensor) -> torch.Tensor:
        check_num_nodes(inputs, self.num_nodes, "GWNet")
        channels = [inputs]
        if self.use_time_of_day:
            time_of_day = inputs_timestamps[..., :1].to(inputs.dtype)                    # [B, L, 1]
            channels.append(time_of_day.expand_as(inputs))                               # [B, L, N]
        x = torch.stack(channels, dim=1).transpose(2, 3)                                 # [B, C, N, L]
        if x.shape[-1] < self.receptive_field:
            x = F.pad(x, (self.receptive_field - x.shape[-1], 0))                        # [B, C, N, R]
        supports = self.supports
        if self.node_source is not None:
            # applied as A_adp^T x, as in the reference (node j gathers from the nodes whose rows weight j)
            supports = torch.cat([supports, self.adaptive_adjacency().T.unsqueeze(0)])   # [S + 1, N, N]

        x = self.start_conv(x)                                                           # [B, C_res, N, T]
        skip = None
        for i, (filt, gate, skip_conv) in enumerate(zip(self.filter_convs, self.gate_convs, self.skip_convs)):
            h = torch.tanh(filt(x)) * torch.sigmoid(gate(x))                             # [B, C_dil, N, T']
            s = skip_conv(h)                                                             # [B, C_skip, N, T']
            skip = s if skip is None else s + skip[..., -s.shape[-1]:]
            if i < len(self.graph_convs):
                x = self.norms[i](self.graph_convs[i](h, supports) + x[..., -h.shape[-1]:])  # [B, C_res, N, T']
        out = F.relu(self.end_conv1(F.relu(skip[..., -1:])))                             # [B, C_end, N, 1]
        return self.end_conv2(out).squeeze(-1)                                           # [B, H, N]
