"""STAEformer: a vanilla transformer over time, then over nodes, on a spatio-temporal adaptive embedding.

Liu, Dong, Jiang, Deng, Deng, Chen and Song, "Spatio-Temporal Adaptive Embedding Makes Vanilla Transformer SOTA
for Traffic Forecasting", CIKM 2023 (https://arxiv.org/abs/2308.10425). The input of step t at node v is

    Z_{t,v} = [ FC(x_{t,v}) || E_tod[tod_t] || E_dow[dow_t] || E_a[t, v] ]              (model dim 24+24+24+80)

with ``E_a [L, N, 80]`` a free parameter, the spatio-temporal adaptive embedding. Three post-norm transformer
layers attend along time (each node separately), three more along nodes (each step separately):

    Z <- LN(Z + Drop(MHA(Z)));   Z <- LN(Z + Drop(FFN(Z)))

The output is the "mixed projection": per node, all ``L x D`` features -> H forecasts with one linear map.
As in the authors' code, the input projection also sees the raw time-of-day fraction and the day-of-week
index (``input_dim = 3``). Attention uses ``scaled_dot_product_attention`` (same result as an explicit
softmax, without materialising the ``[B L, heads, N, N]`` scores, which dominate memory at N = 307).
"""

from dataclasses import dataclass, field
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from basicts.configs import BasicTSModelConfig

from .contract import check_num_nodes, check_positive, input_days, require_set

__all__ = ["STAEformerConfig", "STAEformer"]


@dataclass
class STAEformerConfig(BasicTSModelConfig):
    """Config of :class:`STAEformer`; defaults are the paper's PEMS04 setting."""

    num_nodes: Optional[int] = field(default=None, metadata={"help": "Node count N (filled from the dataset)."})
    input_len: int = field(default=12, metadata={"help": "Input steps L."})
    output_len: int = field(default=12, metadata={"help": "Forecast horizon H."})
    steps_per_day: Optional[int] = field(default=None, metadata={
        "help": "Time-of-day slots (288 for 5-minute data; filled from the dataset)."})
    input_dim: int = field(default=3, metadata={
        "help": "Features of the input projection: 1 (value) or 3 (value, time of day, day-of-week index, as the "
                "authors' code)."})
    input_embedding_dim: int = field(default=24, metadata={"help": "Size of the projected input."})
    tod_embedding_dim: int = field(default=24, metadata={"help": "Time-of-day embedding size (0: none)."})
    dow_embedding_dim: int = field(default=24, metadata={"help": "Day-of-week embedding size (0: none)."})
    day_of_week: bool = field(default=True, metadata={
        "help": "Read the day of week (False: the day-of-week embedding is one learned vector for every day and the "
                "input projection sees value and time of day only; for data whose validation or test hold days of "
                "week that training never does)."})
    spatial_embedding_dim: int = field(default=0, metadata={"help": "Plain node embedding size (0: none)."})
    adaptive_embedding_dim: int = field(default=80, metadata={
        "help": "Spatio-temporal adaptive embedding size (an [L, N, size] parameter; 0: none)."})
    feed_forward_dim: int = field(default=256, metadata={"help": "Hidden size of each feed-forward block."})
    num_heads: int = field(default=4, metadata={"help": "Attention heads (must divide the model dim)."})
    num_layers: int = field(default=3, metadata={"help": "Transformer layers along time, and as many along nodes."})
    dropout: float = field(default=0.1, metadata={"help": "Dropout after attention and feed-forward, in [0, 1)."})
    use_mixed_proj: bool = field(default=True, metadata={
        "help": "Mixed output projection ([L x D] -> H per node); False: time then channel projections."})

    def __post_init__(self):
        check_positive(self, "num_nodes", "input_len", "output_len", "steps_per_day", "input_embedding_dim",
                       "feed_forward_dim", "num_heads", "num_layers")
        check_positive(self, "tod_embedding_dim", "dow_embedding_dim", "spatial_embedding_dim",
                       "adaptive_embedding_dim", allow_zero=True)
        if self.input_dim not in (1, 3):
            raise ValueError(f"STAEformerConfig.input_dim={self.input_dim!r} is not allowed; expected 1 (value only) "
                             "or 3 (value, time of day, day of week)")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"STAEformerConfig.dropout={self.dropout!r} is not allowed; expected a float in [0, 1)")
        if model_dim(self) % self.num_heads:
            raise ValueError(f"STAEformerConfig.num_heads={self.num_heads} does not divide the model dim "
                             f"{model_dim(self)} (sum of the embedding sizes); choose a divisor")


def model_dim(config: STAEformerConfig) -> int:
    """Width of the transformer: the sum of the input, time, node and adaptive embedding sizes."""
    return (config.input_embedding_dim + config.tod_embedding_dim + config.dow_embedding_dim
            + config.spatial_embedding_dim + config.adaptive_embedding_dim)


class SelfAttentionLayer(nn.Module):
    """A post-norm transformer layer attending along the second-to-last axis.

    Shapes: x [S, T, D] (S independent sequences of length T) -> [S, T, D].
    """

    def __init__(self, dim: int, *, feed_forward_dim: int, num_heads: int, dropout: float):
        super().__init__()
        self.num_heads = num_heads
        self.query = nn.Linear(dim, dim)
        self.key = nn.Linear(dim, dim)
        self.value = nn.Linear(dim, dim)
        self.out_proj = nn.Linear(dim, dim)
        self.feed_forward = nn.Sequential(nn.Linear(dim, feed_forward_dim), nn.ReLU(), nn.Linear(feed_forward_dim, dim))
        self.norm1 = nn.LayerNorm(dim)
        self.norm2 = nn.LayerNorm(dim)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        seqs, length, dim = x.shape

        def heads(t: torch.Tensor) -> torch.Tensor:
            return t.view(seqs, length, self.num_heads, dim // self.num_heads).transpose(1, 2)  # [S, h, T, D/h]

        out = F.scaled_dot_product_attention(heads(self.query(x)), heads(self.key(x)), heads(self.value(x)))
        return self.out_proj(out.transpose(1, 2).reshape(seqs, length, dim))                     # [S, T, D]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.norm1(x + self.dropout1(self.attention(x)))
        return self.norm2(x + self.dropout2(self.feed_forward(x)))


class STAEformer(nn.Module):
    """STAEformer (Liu et al., CIKM 2023, https://arxiv.org/abs/2308.10425) as a BasicTS 1.x model.

    Card: input embedding 24, time-of-day 24 and day-of-week 24 embeddings from ``inputs_timestamps``, an
    ``[L, N, 80]`` spatio-temporal adaptive embedding, 3 temporal then 3 spatial transformer layers (4 heads,
    feed-forward 256, dropout 0.1), mixed output projection; no graph. Parameters at the PEMS04 setting
    (N = 307, 12 -> 12, 288 steps per day, default config): 1,354,980 (the paper reports about 1.35M).
    Heavy at N = 307: a training step at batch 64 took about 70 s and 10 GB peak memory on a busy 2-core CPU
    (attention over 307 nodes for every one of B x 12 steps); the authors train with batch 16.

    Shapes:
        inputs [B, L, N], inputs_timestamps [B, L, 2] (time of day, day of week in [0, 1)) -> [B, H, N].
    """

    Config = STAEformerConfig

    def __init__(self, config: STAEformerConfig):
        super().__init__()
        self.num_nodes = require_set(config, "num_nodes", "STAEformer")
        self.steps_per_day = require_set(config, "steps_per_day", "STAEformer") \
            if config.tod_embedding_dim > 0 else None
        self.input_len, self.output_len = config.input_len, config.output_len
        self.input_dim = config.input_dim
        self.day_of_week = config.day_of_week
        self.use_mixed_proj = config.use_mixed_proj
        dim = model_dim(config)

        in_features = config.input_dim if config.input_dim == 1 or config.day_of_week else 2  # no day index
        self.input_proj = nn.Linear(in_features, config.input_embedding_dim)
        self.tod_embedding = nn.Embedding(self.steps_per_day, config.tod_embedding_dim) \
            if config.tod_embedding_dim > 0 else None
        self.dow_embedding = nn.Embedding(7 if config.day_of_week else 1, config.dow_embedding_dim) \
            if config.dow_embedding_dim > 0 else None
        self.node_embedding = nn.Parameter(torch.empty(self.num_nodes, config.spatial_embedding_dim)) \
            if config.spatial_embedding_dim > 0 else None
        self.adaptive_embedding = nn.Parameter(torch.empty(config.input_len, self.num_nodes,
                                                           config.adaptive_embedding_dim)) \
            if config.adaptive_embedding_dim > 0 else None

        def layers():
            return nn.ModuleList(SelfAttentionLayer(dim, feed_forward_dim=config.feed_forward_dim,
                                                    num_heads=config.num_heads, dropout=config.dropout)
                                 for _ in range(config.num_layers))

        self.temporal_layers = layers()
        self.spatial_layers = layers()
        if self.use_mixed_proj:
            self.output_proj = nn.Linear(config.input_len * dim, config.output_len)
        else:
            self.temporal_proj = nn.Linear(config.input_len, config.output_len)
            self.output_proj = nn.Linear(dim, 1)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for emb in (self.node_embedding, self.adaptive_embedding):
            if emb is not None:
                nn.init.xavier_uniform_(emb)

    def embed(self, inputs: torch.Tensor, inputs_timestamps: torch.Tensor) -> torch.Tensor:
        """The layer input ``Z [B, L, N, model_dim]`` (projected value and the embeddings)."""
        batch, length, nodes = inputs.shape
        days = input_days(inputs_timestamps, self.day_of_week)               # [B, L]
        if self.input_dim == 3:
            channels = [inputs, inputs_timestamps[..., 0:1].expand_as(inputs)]
            if self.day_of_week:
                channels.append(days.unsqueeze(-1).expand_as(inputs).to(inputs.dtype))
            feats = torch.stack(channels, dim=-1)                            # [B, L, N, 3] (2: no day)
        else:
            feats = inputs.unsqueeze(-1)                                     # [B, L, N, 1]
        parts = [self.input_proj(feats)]
        if self.tod_embedding is not None:
            slot = (inputs_timestamps[..., 0] * self.steps_per_day).floor().long()      # [B, L]
            parts.append(self.tod_embedding(slot).unsqueeze(2).expand(-1, -1, nodes, -1))
        if self.dow_embedding is not None:
            parts.append(self.dow_embedding(days).unsqueeze(2).expand(-1, -1, nodes, -1))
        if self.node_embedding is not None:
            parts.append(self.node_embedding.expand(batch, length, -1, -1))
        if self.adaptive_embedding is not None:
            parts.append(self.adaptive_embedding.expand(batch, -1, -1, -1))
        return torch.cat(parts, dim=-1)

    def forward(self, inputs: torch.Tensor, inputs_timestamps: torch.Tensor) -> torch.Tensor:
        check_num_nodes(inputs, self.num_nodes, "STAEformer")
        if inputs.shape[1] != self.input_len:
            raise ValueError(f"inputs has {inputs.shape[1]} steps but STAEformer was built for {self.input_len} "
                             "(input_len; the adaptive embedding is [input_len, N, d])")
        batch, length, nodes = inputs.shape
        z = self.embed(inputs, inputs_timestamps)                                # [B, L, N, D]
        dim = z.shape[-1]
        z = z.transpose(1, 2).reshape(batch * nodes, length, dim)               # [B N, L, D]
        for layer in self.temporal_layers:
            z = layer(z)
        z = z.view(batch, nodes, length, dim).transpose(1, 2).reshape(batch * length, nodes, dim)  # [B L, N, D]
        for layer in self.spatial_layers:
            z = layer(z)
        z = z.view(batch, length, nodes, dim)                                    # [B, L, N, D]
        if self.use_mixed_proj:
            z = z.transpose(1, 2).reshape(batch, nodes, length * dim)           # [B, N, L D]
            return self.output_proj(z).transpose(1, 2)                          # [B, H, N]
        z = self.temporal_proj(z.transpose(1, 3))                                # [B, D, N, H]
        return self.output_proj(z.transpose(1, 3)).squeeze(-1)                  # [B, H, N]
