"""A global z-score scaler for the spatio-temporal protocol (``norm_each_channel=False``).

BasicTS 1.1's ``ZScoreScaler`` crashes in that setting (``torch.Tensor(np.float64)`` raises
``TypeError: new(): data must be a sequence``). This one keeps one mean and one standard deviation
over all nodes and steps of the training split, as the PEMS leaderboard does.
"""
from __future__ import annotations

import numpy as np
import torch
from basicts.scaler import ZScoreScaler

__all__ = ["GlobalZScoreScaler"]


class GlobalZScoreScaler(ZScoreScaler):
    """``(x - mean) / std`` with scalar statistics of the training split (per channel when asked)."""

    def fit(self, data) -> None:
        if self.stats:  # restored from a checkpoint
            return
        data = torch.as_tensor(np.asarray(data), dtype=torch.float64)
        dims = (-2,) if self.norm_each_channel else tuple(range(data.ndim))
        mean = data.nanmean(dim=dims, keepdim=self.norm_each_channel)
        std = (data - mean).square().nanmean(dim=dims, keepdim=self.norm_each_channel).sqrt()
        std = torch.where(std > 0, std, torch.ones_like(std))  # a constant series stays unscaled
        self.stats["mean"], self.stats["std"] = mean.float(), std.float()
