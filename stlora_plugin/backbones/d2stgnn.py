"""D2STGNN: decoupled diffusion and inherent signals on static and dynamic graphs.

Shao, Zhang, Wang, Wei and Xu, "Decoupled Dynamic Spatial-Temporal Graph Neural Network for Traffic
Forecasting", VLDB 2022 (https://arxiv.org/abs/2206.09112). The model embeds the series
(``X = FC(x)``), stacks decoupled layers (see :mod:`.d2stgnn_blocks`) and sums their forecasts:

    Y = FC(ReLU(FC(ReLU(sum_l (F_dif^l + F_inh^l)))))              each hidden step -> ``gap`` output steps

Graphs of the diffusion model, each taken to orders 1..k_s with the diagonal removed:

* static (self-adaptive): ``A_s = softmax(ReLU(E_d E_u^T))``;
* dynamic, one per direction of the road graph's "doubletransition" ``P in {D_out^-1 A, D_in^-1 A^T}``:

      F = [FC(ReLU(BN(FC(x_v[1..L])))) || T_tod || T_dow || E]     (E = E_d forward, E_u backward)
      W = softmax((F W_Q)(F W_K)^T / sqrt(D)),   A_dy = rownorm(W * (P^T + 1e-7))

  so the learned attention is restricted to (and weighted by) the road graph. The mask is ``P^T``, as in the
  reference (BasicTS stores its double-transition supports transposed); graphs are applied as
  ``(A h)_n = sum_m A[n, m] h_m``, so with ``P^T`` a node gathers from the nodes whose roads lead to it.

Time of day and day of week come from ``inputs_timestamps`` (embeddings ``T_tod``, ``T_dow``; ``day_of_week=False``
makes ``T_dow`` one learned vector); the estimation gates see them together with the node embeddings ``E_u``, ``E_d``.
"""

import math
from dataclasses import dataclass, field
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from basicts.configs import BasicTSModelConfig

from .contract import check_num_nodes, check_positive, input_days, load_graph, require_set
from .d2stgnn_blocks import DecoupleLayer

__all__ = ["D2STGNNConfig", "D2STGNN"]


@dataclass
class D2STGNNConfig(BasicTSModelConfig):
    """Config of :class:`D2STGNN`; defaults are BasicTS's PEMS04 setting (the authors' code)."""

    num_nodes: Optional[int] = field(default=None, metadata={"help": "Node count N (filled from the dataset)."})
    input_len: int = field(default=12, metadata={"help": "Input steps L."})
    output_len: int = field(default=12, metadata={"help": "Forecast horizon H (a multiple of gap)."})
    dataset: Optional[str] = field(default=None, metadata={
        "help": "Prepared dataset name or folder holding adj_mx.pkl (the road graph; filled from the dataset)."})
    steps_per_day: Optional[int] = field(default=None, metadata={
        "help": "Time-of-day slots (288 for 5-minute data; filled from the dataset)."})
    hidden_dim: int = field(default=32, metadata={"help": "Hidden size D of the decoupled layers."})
    node_dim: int = field(default=12, metadata={"help": "Size of each node embedding E_u, E_d."})
    time_emb_dim: int = field(default=12, metadata={"help": "Size of the time-of-day and day-of-week embeddings."})
    day_of_week: bool = field(default=True, metadata={
        "help": "Read the day of week (False: one learned vector for every day; for data whose validation or test "
                "hold days of week that training never does)."})
    num_layers: int = field(default=5, metadata={"help": "Decoupled layers; each shortens the series by k_t - 1."})
    k_s: int = field(default=2, metadata={"help": "Graph orders per graph (diffusion steps)."})
    k_t: int = field(default=3, metadata={"help": "Temporal window of the localized convolution."})
    gap: int = field(default=3, metadata={"help": "Output steps predicted from each forecast hidden state."})
    num_heads: int = field(default=4, metadata={"help": "Attention heads of the inherent model."})
    gate_dim: int = field(default=64, metadata={"help": "Hidden size of the estimation gates."})
    forecast_dim: int = field(default=256, metadata={"help": "Size of the forecast hidden states."})
    output_hidden: int = field(default=512, metadata={"help": "Hidden size of the output layer."})
    dropout: float = field(default=0.1, metadata={"help": "Dropout, in [0, 1)."})

    def __post_init__(self):
        check_positive(self, "num_nodes", "input_len", "output_len", "steps_per_day", "hidden_dim", "node_dim",
                       "time_emb_dim", "num_layers", "k_s", "k_t", "gap", "num_heads", "gate_dim", "forecast_dim",
                       "output_hidden")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"D2STGNNConfig.dropout={self.dropout!r} is not allowed; expected a float in [0, 1)")
        if self.output_len % self.gap:
            raise ValueError(f"D2STGNNConfig.output_len={self.output_len} is not a multiple of gap={self.gap}; "
                             "each forecast hidden state predicts gap steps")
        if self.hidden_dim % self.num_heads:
            raise ValueError(f"D2STGNNConfig.num_heads={self.num_heads} does not divide hidden_dim={self.hidden_dim}")
        needed = self.num_layers * (self.k_t - 1) + 1
        if self.input_len < needed:
            raise ValueError(f"D2STGNNConfig.input_len={self.input_len} is too short for num_layers={self.num_layers} "
                             f"with k_t={self.k_t} (each layer consumes k_t - 1 steps); allowed: input_len >= {needed}")


def graph_orders(graph: torch.Tensor, order: int) -> list[torch.Tensor]:
    """``[A, A^2, ..., A^order]`` of ``graph [..., N, N]``, each with its diagonal zeroed."""
    off_diagonal = 1 - torch.eye(graph.shape[-1], device=graph.device, dtype=graph.dtype)
    power, out = graph, [graph * off_diagonal]
    for _ in range(order - 1):
        power = power @ graph
        out.append(power * off_diagonal)
    return out


class DynamicGraphLearner(nn.Module):
    """Per-sample graphs from the recent series, time and node embeddings, masked by the road graph.

    Shapes: inputs [B, L, N], time [B, 2 d_t], node_embs [2, N, d_n], prior [2, N, N] -> [B, 2 k_s, N, N].
    """

    def __init__(self, *, input_len: int, hidden_dim: int, node_dim: int, time_dim: int, k_s: int, dropout: float):
        super().__init__()
        self.k_s = k_s
        self.scale = 1.0 / math.sqrt(hidden_dim)
        self.series_fc1 = nn.Linear(input_len, 2 * hidden_dim)
        self.series_norm = nn.BatchNorm1d(2 * hidden_dim)
        self.series_fc2 = nn.Linear(2 * hidden_dim, hidden_dim)
        self.dropout = nn.Dropout(dropout)
        feat_dim = hidden_dim + time_dim + node_dim
        self.query = nn.Linear(feat_dim, hidden_dim, bias=False)
        self.key = nn.Linear(feat_dim, hidden_dim, bias=False)

    def forward(self, inputs: torch.Tensor, time: torch.Tensor, node_embs: torch.Tensor,
                prior: torch.Tensor) -> torch.Tensor:
        batch, length, nodes = inputs.shape
        series = inputs.transpose(1, 2).reshape(batch * nodes, length)      # [B N, L]
        series = self.series_norm(F.relu(self.series_fc1(series)))
        series = self.series_fc2(self.dropout(series)).view(batch, nodes, -1)  # [B, N, D]
        time = time.unsqueeze(1).expand(-1, nodes, -1)                        # [B, N, 2 d_t]
        graphs = []
        for emb, mask in zip(node_embs, prior):  # the two directions of the road graph
            feats = torch.cat([series, time, emb.expand(batch, -1, -1)], dim=-1)     # [B, N, F]
            scores = self.query(feats) @ self.key(feats).transpose(1, 2) * self.scale  # [B, N, N]
            graph = torch.softmax(scores, dim=-1) * (mask + 1e-7)
            graphs += graph_orders(graph / graph.sum(dim=-1, keepdim=True), self.k_s)
        return torch.stack(graphs, dim=1)


class D2STGNN(nn.Module):
    """D2STGNN (Shao et al., VLDB 2022, https://arxiv.org/abs/2206.09112) as a BasicTS 1.x model.

    Card: decoupled diffusion and inherent blocks with estimation gates, dynamic graph learning on the
    dataset's "doubletransition" road graph, node embeddings (12), time-of-day and day-of-week embeddings (12)
    from ``inputs_timestamps``; hidden 32, 5 layers (BasicTS hard-codes 5), k_s = 2, k_t = 3, gap = 3.
    Parameters at the PEMS04 setting (N = 307, 12 -> 12, default config): 396,932 (BasicTS reports 0.40M;
    its port also holds 1,856 parameters that never receive a gradient, left out here: an unused time-slot
    embedding and batch norms, and the last layer's inherent backcast, whose output nothing reads).
    A training step at N = 307, batch 64 took about 65 s and 9 GB peak memory on a busy 2-core CPU (BasicTS
    trains it with batch 16).
    BasicTS trains it with curriculum learning (30 warm-up epochs on the full horizon, then the supervised
    horizon restarts at 1 step and grows by 1 every 3 epochs: ``basicts.runners.callback.CurriculumLearning(
    prediction_length=12, warm_up_epochs=30, cl_epochs=3)`` in 1.x); a training callback, not part of the model.

    Shapes:
        inputs [B, L, N], inputs_timestamps [B, L, 2] (time of day, day of week in [0, 1)) -> [B, H, N].
    """

    Config = D2STGNNConfig

    def __init__(self, config: D2STGNNConfig):
        super().__init__()
        self.num_nodes = require_set(config, "num_nodes", "D2STGNN")
        self.steps_per_day = require_set(config, "steps_per_day", "D2STGNN")
        self.register_buffer("road_graph", load_graph(config.dataset, "doubletransition", self.num_nodes, "D2STGNN"),
                             persistent=False)
        self.input_len, self.output_len, self.k_s = config.input_len, config.output_len, config.k_s
        self.day_of_week = config.day_of_week
        forecast_steps = config.output_len // config.gap

        self.embedding = nn.Linear(1, config.hidden_dim)
        self.tod_emb = nn.Parameter(torch.empty(self.steps_per_day, config.time_emb_dim))
        self.dow_emb = nn.Parameter(torch.empty(7 if config.day_of_week else 1, config.time_emb_dim))
        self.node_emb_u = nn.Parameter(torch.empty(self.num_nodes, config.node_dim))
        self.node_emb_d = nn.Parameter(torch.empty(self.num_nodes, config.node_dim))
        self.graph_learner = DynamicGraphLearner(input_len=config.input_len, hidden_dim=config.hidden_dim,
                                                 node_dim=config.node_dim, time_dim=2 * config.time_emb_dim,
                                                 k_s=config.k_s, dropout=config.dropout)
        num_supports = 3 * config.k_s  # two dynamic graphs and one static graph, each to k_s orders
        self.layers = nn.ModuleList(
            DecoupleLayer(config.hidden_dim, context_dim=2 * (config.node_dim + config.time_emb_dim),
                          gate_dim=config.gate_dim, k_t=config.k_t, num_supports=num_supports,
                          num_heads=config.num_heads, forecast_dim=config.forecast_dim,
                          forecast_steps=forecast_steps, max_len=config.input_len + forecast_steps,
                          dropout=config.dropout, last=index == config.num_layers - 1)
            for index in range(config.num_layers))
        self.out_fc1 = nn.Linear(config.forecast_dim, config.output_hidden)
        self.out_fc2 = nn.Linear(config.output_hidden, config.gap)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for emb in (self.tod_emb, self.dow_emb, self.node_emb_u, self.node_emb_d):
            nn.init.xavier_uniform_(emb)

    def static_graphs(self) -> torch.Tensor:
        """Orders 1..k_s of the self-adaptive graph ``softmax(ReLU(E_d E_u^T))``: ``[k_s, N, N]``."""
        graph = F.softmax(F.relu(self.node_emb_d @ self.node_emb_u.t()), dim=1)
        return torch.stack(graph_orders(graph, self.k_s))

    def forward(self, inputs: torch.Tensor, inputs_timestamps: torch.Tensor) -> torch.Tensor:
        check_num_nodes(inputs, self.num_nodes, "D2STGNN")
        batch, length, nodes = inputs.shape
        if length != self.input_len:
            raise ValueError(f"inputs has {length} steps but D2STGNN was built for {self.input_len} (input_len)")
        tod = self.tod_emb[(inputs_timestamps[..., 0] * self.steps_per_day).floor().long()]   # [B, L, d_t]
        dow = self.dow_emb[input_days(inputs_timestamps, self.day_of_week)]                   # [B, L, d_t]
        nodes_u = self.node_emb_u.expand(batch, length, -1, -1)                            # [B, L, N, d_n]
        nodes_d = self.node_emb_d.expand(batch, length, -1, -1)
        context = torch.cat([tod.unsqueeze(2).expand(-1, -1, nodes, -1), dow.unsqueeze(2).expand(-1, -1, nodes, -1),
                             nodes_u, nodes_d], dim=-1)                                     # [B, L, N, C]
        # the reference masks with BasicTS's double-transition supports, which are the transposes P^T of the
        # transition matrices P in road_graph: node n gathers from m where the road leads from m to n
        dynamic = self.graph_learner(inputs, torch.cat([tod[:, -1], dow[:, -1]], dim=-1),
                                     torch.stack([self.node_emb_d, self.node_emb_u]), self.road_graph.transpose(1, 2))
        static = self.static_graphs()

        x = self.embedding(inputs.unsqueeze(-1))                                           # [B, L, N, D]
        forecast = 0
        for layer in self.layers:
            x, dif_forecast, inh_forecast = layer(x, context, dynamic, static)
            forecast = forecast + dif_forecast + inh_forecast                              # [B, H/gap, N, F]
        out = self.out_fc2(F.relu(self.out_fc1(F.relu(forecast))))                          # [B, H/gap, N, gap]
        return out.transpose(1, 2).reshape(batch, nodes, self.output_len).transpose(1, 2)  # [B, H, N]
