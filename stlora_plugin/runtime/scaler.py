"""A global z-score scaler for the spatio-temporal protocol (``norm_each_channel=False``).

BasicTS 1.1's ``ZScoreScaler`` crashes in that setting (``torch.Tensor(np.float64)`` raises
``TypeError: new(): data must be a sequence``). This one keeps one mean and one standard deviation
over all nodes and steps of the training split, as the PEMS leaderboard does. A run that fine-tunes a checkpoint
(``finetune_from``) keeps that checkpoint's statistics: a model trained on one dataset and adapted on another
(``stlora adapt``) keeps reading its inputs on the scale it learned them.
"""
from __future__ import annotations

import numpy as np
import torch
from basicts.scaler import ZScoreScaler

__all__ = ["GlobalZScoreScaler", "OwnStatisticsScaler"]


class GlobalZScoreScaler(ZScoreScaler):
    """``(x - mean) / std`` with scalar statistics of the training split (per channel when asked), or of the
    checkpoint a run fine-tunes (``finetune_from``, read from the run's config by BasicTS's builder)."""

    def __init__(self, norm_each_channel: bool, rescale: bool, stats: dict = None, finetune_from: str = None):
        super().__init__(norm_each_channel, rescale, stats)
        self.finetune_from = finetune_from

    def fit(self, data) -> None:
        if self.stats:  # restored from a checkpoint
            return
        if self.finetune_from:
            saved = torch.load(self.finetune_from, map_location="cpu", weights_only=True).get("scaler_stats") or {}
            if "mean" in saved and "std" in saved:
                self.stats["mean"], self.stats["std"] = saved["mean"], saved["std"]
                return
        data = torch.as_tensor(np.asarray(data), dtype=torch.float64)
        dims = (-2,) if self.norm_each_channel else tuple(range(data.ndim))
        mean = data.nanmean(dim=dims, keepdim=self.norm_each_channel)
        std = (data - mean).square().nanmean(dim=dims, keepdim=self.norm_each_channel).sqrt()
        std = torch.where(std > 0, std, torch.ones_like(std))  # a constant series stays unscaled
        self.stats["mean"], self.stats["std"] = mean.float(), std.float()


class OwnStatisticsScaler(GlobalZScoreScaler):
    """:class:`GlobalZScoreScaler` with the statistics of the run's own training split, also when it fine-tunes
    another run's checkpoint (the adaptation study's rescaled arms)."""

    def __init__(self, norm_each_channel: bool, rescale: bool, stats: dict = None):
        super().__init__(norm_each_channel, rescale, stats, finetune_from=None)
