"""Training callbacks that BasicTS 1.1 gets wrong.

``basicts.runners.callback.AddAuxiliaryLoss`` adds the auxiliary terms to a local variable, so nothing
extra is ever back-propagated. The runner uses ``forward_return["loss"]`` when that key is present
(``_metric_forward``), so a working callback writes the total there.
"""
from __future__ import annotations

from typing import Iterable

from basicts.runners.callback import BasicTSCallback
from basicts.utils import RunnerStatus

__all__ = ["AuxiliaryLoss"]


class AuxiliaryLoss(BasicTSCallback):
    """Add ``forward_return[key]`` (a scalar tensor) for each key to the training loss."""

    def __init__(self, keys: Iterable[str] = ("aux_loss",)):
        super().__init__()
        self.keys = list(keys)

    def on_compute_loss(self, runner, **kwargs):
        forward_return = kwargs["forward_return"]
        if runner.status != RunnerStatus.TRAINING:
            return  # validation and test report the forecasting loss only
        aux = [forward_return[k] for k in self.keys if k in forward_return]
        if aux:
            main = runner._metric_forward(runner.loss, forward_return)
            forward_return["loss"] = main + sum(aux)
