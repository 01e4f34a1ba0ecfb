"""LSTM: one recurrent encoder shared by all nodes, the graph-free backbone of the ST-LoRA experiments.

Hochreiter and Schmidhuber, "Long Short-Term Memory", Neural Computation 1997; used as a spatio-temporal
baseline in LargeST (Liu et al., NeurIPS 2023 Datasets and Benchmarks) and in ST-LoRA (Ruan et al., 2024,
https://arxiv.org/abs/2404.07919), whose setting this module follows.

Every node's series is an independent sample of the same sequence model:

    e_t = W_in x_{t,v} + b_in                        (per-step projection, x = [value, tod, dow] or [value, tod])
    h_t = LSTM(e_t, h_{t-1})                         (num_layers stacked cells, hidden_size units)
    yhat_v = W_2 ReLU(W_1 h_L + b_1) + b_2           (all H horizon steps at once from the last state)

No graph and no node-specific parameters: the model cannot tell nodes apart except through their history,
which is what makes it a clear case for node-specific adapters.
"""
from dataclasses import dataclass, field
from typing import Optional

import torch
from torch import nn

from basicts.configs import BasicTSModelConfig

from .contract import check_num_nodes, check_positive

__all__ = ["LSTMConfig", "LSTM"]


@dataclass
class LSTMConfig(BasicTSModelConfig):
    """Config of :class:`LSTM`; defaults are the ST-LoRA / LargeST setting."""

    num_nodes: Optional[int] = field(default=None, metadata={
        "help": "Node count; checked against the inputs when set (the weights are shared by all nodes)."})
    input_len: int = field(default=12, metadata={"help": "Input steps L."})
    output_len: int = field(default=12, metadata={"help": "Forecast horizon H."})
    use_time_features: bool = field(default=True, metadata={
        "help": "Append time of day and day of week to each step's value (3 input channels instead of 1)."})
    day_of_week: bool = field(default=True, metadata={
        "help": "With time features, include the day of week (False: time of day only, 2 input channels; for data "
                "whose validation or test hold days of week that training never does)."})
    embed_dim: int = field(default=32, metadata={"help": "Width of the per-step input projection."})
    hidden_size: int = field(default=64, metadata={"help": "LSTM hidden units per layer."})
    num_layers: int = field(default=2, metadata={"help": "Stacked LSTM layers."})
    end_dim: int = field(default=512, metadata={"help": "Hidden width of the two-layer horizon head."})
    dropout: float = field(default=0.1, metadata={
        "help": "Dropout between stacked LSTM layers, in [0, 1) (LargeST: 0.1)."})

    def __post_init__(self):
        check_positive(self, "num_nodes", "input_len", "output_len", "embed_dim", "hidden_size", "num_layers",
                       "end_dim")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"LSTMConfig.dropout={self.dropout!r} is not allowed; expected a float in [0, 1)")


class LSTM(nn.Module):
    """Node-shared LSTM forecaster.

    Paper: Long Short-Term Memory (Neural Computation 1997); setting of ST-LoRA (arXiv 2404.07919) and
    LargeST (NeurIPS 2023, https://github.com/liuxu77/LargeST), which reports 98K parameters.
    Parameters: 97,932 with the default config (independent of N; measured at PEMS04, N=307, 12 -> 12).

    Shapes:
        inputs: [B, L, N]; inputs_timestamps: [B, L, 2] (time of day, day of week in [0, 1)).
        output: [B, H, N].
    """

    Config = LSTMConfig

    def __init__(self, config: LSTMConfig):
        super().__init__()
        self.num_nodes = config.num_nodes
        self.output_len = config.output_len
        self.time_channels = (2 if config.day_of_week else 1) if config.use_time_features else 0
        in_features = 1 + self.time_channels
        self.input_proj = nn.Linear(in_features, config.embed_dim)
        self.lstm = nn.LSTM(config.embed_dim, config.hidden_size, num_layers=config.num_layers, batch_first=True,
                            dropout=config.dropout if config.num_layers > 1 else 0.0)
        self.head = nn.Sequential(nn.Linear(config.hidden_size, config.end_dim), nn.ReLU(),
                                  nn.Linear(config.end_dim, config.output_len))

    def extra_repr(self) -> str:
        return f"num_nodes={self.num_nodes}, output_len={self.output_len}, time_channels={self.time_channels}"

    def forward(self, inputs: torch.Tensor, inputs_timestamps: torch.Tensor) -> torch.Tensor:
        if self.num_nodes is not None:
            check_num_nodes(inputs, self.num_nodes, "LSTM")
        batch, length, nodes = inputs.shape
        features = inputs.unsqueeze(-1)                                                 # [B, L, N, 1]
        if self.time_channels:
            if inputs_timestamps.shape[-1] < self.time_channels:
                raise ValueError(f"LSTM with use_time_features=True needs {self.time_channels} timestamp channels "
                                 f"(time of day, day of week) in inputs_timestamps [B, L, 2], got "
                                 f"{tuple(inputs_timestamps.shape)}; set use_time_features=False for datasets "
                                 "without them")
            time = inputs_timestamps[..., :self.time_channels].unsqueeze(2).expand(-1, -1, nodes, -1)  # [B, L, N, T]
            features = torch.cat([features, time.to(inputs.dtype)], dim=-1)             # [B, L, N, 1 + T]
        series = features.transpose(1, 2).reshape(batch * nodes, length, -1)            # [B*N, L, F]
        encoded, _ = self.lstm(self.input_proj(series))                                 # [B*N, L, hidden]
        forecast = self.head(encoded[:, -1])                                            # [B*N, H]
        return forecast.reshape(batch, nodes, self.output_len).transpose(1, 2)          # [B, H, N]
