"""Prompt-as-prefix for the ST-SepNet temporal branch: description, input statistics and time as tokens.

Time-LLM (Jin et al., ICLR'24, "Time-LLM: Time Series Forecasting by Reprogramming Large Language Models"),
which ST-SepNet's temporal branch follows, puts a prompt before the reprogrammed patches: a dataset
description and per-sample statistics written as text and tokenized for every batch. Here the parts are
built so that nothing is tokenized or converted to numpy per batch:

* description: the text is tokenized and embedded once at construction and cached as a buffer ``[T, d]``;
* statistics of each (instance-normalized) input series ``s = (min, max, median, trend)``, computed in
  torch, each becoming one token ``p_k = s_k w_k + b_k`` (``w_k, b_k`` learned, ``[d]``); the trend is the
  least-squares slope times ``L - 1`` (the fitted change over the window);
* time: one token ``W_t [sin 2pi tod, cos 2pi tod, sin 2pi dow, cos 2pi dow] + b_t`` of the last input step
  (``day_of_week=False``: ``W_t [sin 2pi tod, cos 2pi tod] + b_t``).

The prefix is ``[description; statistics; time]`` along the token axis.
"""
from __future__ import annotations

import math
from typing import Optional

import torch
from torch import nn

__all__ = ["PromptPrefix", "series_statistics"]

NUM_STATS = 4


def series_statistics(series: torch.Tensor) -> torch.Tensor:
    """``[S, L]`` -> ``[S, 4]``: min, max, median and least-squares trend (slope * (L - 1)) per series."""
    length = series.shape[-1]
    steps = torch.arange(length, device=series.device, dtype=series.dtype)
    centered = steps - steps.mean()  # [L]
    denom = (centered ** 2).sum().clamp_min(1e-12)
    slope = ((series - series.mean(-1, keepdim=True)) * centered).sum(-1) / denom  # [S]
    return torch.stack([series.amin(-1), series.amax(-1), series.median(-1).values,
                        slope * (length - 1)], dim=-1)  # [S, 4]


class PromptPrefix(nn.Module):
    """The prefix tokens placed before the reprogrammed patch tokens.

    Args:
        d_llm: hidden size of the language model.
        text_embeds: the description's token embeddings ``[T, d_llm]`` (from the frozen model) or None.
        stats: add the four statistics tokens.
        time: add the time-of-day / day-of-week token (needs timestamps in ``forward``).
        day_of_week: the time token includes the day of week (False: time of day only).

    Shapes:
        series ``[S, L]`` with ``S = B * C`` series ordered batch-major, timestamps ``[B, L, 2]`` (time of day,
        day of week; ``[B, L, 1]`` is enough with ``day_of_week=False``)
        -> prefix ``[S, T0, d_llm]`` with ``T0 = T + 4 * stats + time`` (``T0 = 0`` gives an empty tensor).
    """

    def __init__(self, d_llm: int, *, text_embeds: Optional[torch.Tensor] = None, stats: bool = True,
                 time: bool = True, day_of_week: bool = True):
        super().__init__()
        self.d_llm = d_llm
        if text_embeds is not None and (text_embeds.ndim != 2 or text_embeds.shape[1] != d_llm):
            raise ValueError(f"text_embeds must be [T, {d_llm}], got {tuple(text_embeds.shape)}")
        # a fixed description: computed once, never saved in checkpoints, moved by model.to()
        self.register_buffer("text_embeds", text_embeds, persistent=False)
        self.stat_weight = nn.Parameter(torch.empty(NUM_STATS, d_llm)) if stats else None
        self.stat_bias = nn.Parameter(torch.empty(NUM_STATS, d_llm)) if stats else None
        self.time_channels = 2 if day_of_week else 1  # time of day, day of week: a sine and a cosine each
        self.time_proj = nn.Linear(2 * self.time_channels, d_llm) if time else None
        self.reset_parameters()

    @property
    def num_tokens(self) -> int:
        text = 0 if self.text_embeds is None else self.text_embeds.shape[0]
        return text + NUM_STATS * (self.stat_weight is not None) + (self.time_proj is not None)

    def reset_parameters(self) -> None:
        if self.stat_weight is not None:
            nn.init.normal_(self.stat_weight, std=0.02)
            nn.init.normal_(self.stat_bias, std=0.02)

    def extra_repr(self) -> str:
        text = 0 if self.text_embeds is None else self.text_embeds.shape[0]
        return (f"d_llm={self.d_llm}, text_tokens={text}, stats={self.stat_weight is not None}, "
                f"time={self.time_proj is not None}")

    def forward(self, series: torch.Tensor, timestamps: Optional[torch.Tensor] = None) -> torch.Tensor:
        num_series = series.shape[0]
        parts = []
        if self.text_embeds is not None:
            parts.append(self.text_embeds.to(series.dtype).expand(num_series, -1, -1))  # [S, T, d]
        if self.stat_weight is not None:
            stats = series_statistics(series)  # [S, 4]
            parts.append(stats[..., None] * self.stat_weight + self.stat_bias)  # [S, 4, d]
        if self.time_proj is not None:
            if timestamps is None or timestamps.ndim != 3 or timestamps.shape[-1] < self.time_channels:
                got = None if timestamps is None else tuple(timestamps.shape)
                channels = "time of day, day of week" if self.time_channels == 2 else "time of day"
                raise ValueError(f"the time token needs inputs_timestamps [B, L, >={self.time_channels}] ({channels}), "
                                 f"got {got}; set time_token=False to run without timestamps")
            batch = timestamps.shape[0]
            if num_series % batch:
                raise ValueError(f"{num_series} series do not split into {batch} samples")
            angle = 2 * math.pi * timestamps[:, -1, :self.time_channels].to(series.dtype)  # [B, 2] (1: no day)
            feats = torch.cat([angle.sin(), angle.cos()], dim=-1)  # [B, 4] (2: no day)
            token = self.time_proj(feats).repeat_interleave(num_series // batch, dim=0)  # [S, d]
            parts.append(token[:, None, :])  # [S, 1, d]
        if not parts:
            return series.new_zeros(num_series, 0, self.d_llm)
        return torch.cat(parts, dim=1)  # [S, T0, d]
