"""Training callbacks: what BasicTS 1.1 gets wrong, and a guard of CPU speed.

``basicts.runners.callback.AddAuxiliaryLoss`` adds the auxiliary terms to a local variable, so nothing
extra is ever back-propagated. The runner uses ``forward_return["loss"]`` when that key is present
(``_metric_forward``), so a working callback writes the total there. :class:`AuxiliaryLoss` subclasses
``AddAuxiliaryLoss``, so it also satisfies models that list BasicTS's callback in ``_required_callbacks``
(DUET), and it is the callback that ST-LoRA models require (their ``_required_callbacks``): the runner stops
before training with an error naming it when a config lacks it.

Under DDP, BasicTS validates and tests on rank 0 only, but through the DDP wrapper, whose forward broadcasts the
model's buffers: a collective the other ranks never join, so models with buffers (graph supports, BatchNorm
statistics) crash (gloo) or hang (NCCL) at validation. :class:`RankZeroEvaluation` runs those loops on the wrapped
module itself, which needs no collective.

BasicTS's ``EarlyStopping`` decides on rank 0 alone (validation runs there), so under DDP rank 0 leaves the loop
while the others wait in their next all-reduce; and with curriculum learning it counts the epochs in which the
trained horizon still grows (validation, on the whole horizon, may get worse then by design) and stops D2STGNN
at the start of its curriculum; and a resumed run starts counting from zero again. :class:`EarlyStopping` fixes
all three.

On a CPU, arithmetic on float32 values below ``torch.finfo(torch.float32).tiny`` (about 1.2e-38, the subnormal
range) takes microcode assists, tens to hundreds of times slower than on normal values. Weights that weight decay
shrinks geometrically reach that range (STAEformer's attention query and key weights on NYC-Taxi: 14,000 of 1.1
million entries after 9 epochs), and every product with them slows down: its epochs went from 6 to 30 minutes.
Activations can fall there too (with those weights near zero, attention scores are products of tiny queries and
keys). :class:`FlushSubnormals` sets subnormal weights to zero after each optimizer step and has the CPU flush
subnormal results to zero while BasicTS runs; each changes a value by less than 1.2e-38, below the last bit of
any normal number it is added to.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

import torch
import torch.distributed as dist
from basicts.runners.callback import AddAuxiliaryLoss, BasicTSCallback, CurriculumLearning
from basicts.runners.callback import EarlyStopping as _BasicTSEarlyStopping
from basicts.utils import RunnerStatus

from .optim import in_node_group

__all__ = ["AuxiliaryLoss", "EarlyStopping", "FlushSubnormals", "RankZeroEvaluation"]


def _node_layer_parameters(model) -> set[int]:
    """Ids of the node path's parameters found by structure (the NALL layers' cores and factors), whatever the
    marks on the Parameter objects say."""
    from ..adapters.nall import NodeAdaptiveLowRankLinear  # the adapters import this module

    return {id(p) for m in model.modules() if isinstance(m, NodeAdaptiveLowRankLinear)
            for p in (m.core, m.lora_A, m.lora_B)}


class AuxiliaryLoss(AddAuxiliaryLoss):
    """Add ``forward_return[key]`` (a scalar tensor) for each key to the training loss.

    At the start of training it also checks the optimizer: a parameter group that applies weight decay to
    parameters of ST-LoRA's node group (per-node cores and their factors, ``runtime.optim``) would shrink the
    node-specific update to zero, so training stops there with an error naming the optimizer to use.
    """

    def __init__(self, keys: Iterable[str] = ("aux_loss",)):
        super().__init__(list(keys))
        self.keys = self.losses

    def on_train_start(self, runner, **kwargs):
        model = getattr(runner.model, "module", runner.model)  # under DDP, the wrapped model
        node_path = {id(p) for p in model.parameters() if in_node_group(p)} | _node_layer_parameters(model)
        for group in runner.optimizer.param_groups:
            decayed = [p for p in group["params"] if id(p) in node_path]
            if decayed and group.get("weight_decay", 0) > 0:
                raise RuntimeError(
                    f"{type(runner.optimizer).__name__} applies weight_decay={group['weight_decay']} to {len(decayed)} "
                    f"tensors of ST-LoRA's node group (per-node cores and their factors A, B), which shrinks the "
                    "node-specific update to zero; set optimizer=stlora_plugin.runtime.NodeGroupAdam (or "
                    "NodeGroupAdamW) in the config, or weight_decay=0")

    def on_compute_loss(self, runner, **kwargs):
        forward_return = kwargs["forward_return"]
        if runner.status != RunnerStatus.TRAINING:
            return  # validation and test report the forecasting loss only
        aux = [forward_return[k] for k in self.keys if k in forward_return]
        if aux:
            main = runner._metric_forward(runner.loss, forward_return)
            forward_return["loss"] = main + sum(aux)


class RankZeroEvaluation(BasicTSCallback):
    """Validate and test a DDP-wrapped model through its ``module`` (rank 0 alone; no collectives); a no-op
    without DDP."""

    def __init__(self):
        super().__init__()
        self._wrapper = None

    def _unwrap(self, runner):
        if hasattr(runner.model, "module") and hasattr(runner.model, "no_sync"):  # a DistributedDataParallel
            self._wrapper, runner.model = runner.model, runner.model.module

    def _rewrap(self, runner):
        if self._wrapper is not None:
            runner.model, self._wrapper = self._wrapper, None

    def on_validate_start(self, runner, **kwargs):
        self._unwrap(runner)

    def on_validate_end(self, runner, **kwargs):
        self._rewrap(runner)

    def on_test_start(self, runner, **kwargs):
        self._unwrap(runner)

    def on_test_end(self, runner, **kwargs):
        self._rewrap(runner)


class FlushSubnormals(BasicTSCallback):
    """Keep subnormal float32 values out of CPU training (see the module docstring: they slow CPU arithmetic by
    orders of magnitude), in two ways:

    - after each optimizer step, the subnormal entries of the model's CPU parameters are set to zero. This reaches
      every thread of a multi-threaded run, since the weights themselves change;
    - while BasicTS trains, validates or tests, the calling thread flushes subnormal results and inputs to zero
      (``torch.set_flush_denormal``), which catches those of activations and gradients (tiny attention queries
      times tiny keys). The flag is per thread: a single-threaded run is covered whole, a multi-threaded one on its
      main thread. It is switched off again (torch's default) when the outermost loop ends.

    Parameters on a GPU are left alone (the slowdown measured here is the CPU's).
    """

    def __init__(self):
        super().__init__()
        self._params: list[torch.Tensor] = []
        self._loops = 0  # training, and tests inside it or alone, that are running

    def _enter(self):
        self._loops += 1
        torch.set_flush_denormal(True)

    def _leave(self):
        self._loops = max(0, self._loops - 1)
        if not self._loops:
            torch.set_flush_denormal(False)

    def on_train_start(self, runner, **kwargs):
        self._params = [p for p in runner.model.parameters() if p.device.type == "cpu" and p.is_floating_point()]
        self._enter()

    def on_train_end(self, runner, **kwargs):
        self._leave()

    def on_test_start(self, runner, **kwargs):
        self._enter()

    def on_test_end(self, runner, **kwargs):
        self._leave()

    @torch.no_grad()
    def on_step_end(self, runner, **kwargs):
        for p in self._params:
            p.masked_fill_(p.abs() < torch.finfo(p.dtype).tiny, 0.0)


class EarlyStopping(_BasicTSEarlyStopping):
    """Stop training when validation ``target_metric`` (MAE) has not improved for ``patience`` epochs; the
    best-validation checkpoint is then tested, as after a full run.

    Epochs in which a :class:`CurriculumLearning` callback still trains a shortened horizon do not count. Under
    DDP the decision rank 0 takes at validation is shared with every rank at the start of the next epoch, which
    then trains no step: all ranks leave the loop together (that extra epoch validates the unchanged model, so its
    log holds one more validation line with no training behind it).
    """

    def __init__(self, patience: int):
        if not isinstance(patience, int) or patience < 1:
            raise ValueError(f"patience={patience!r} is not allowed; expected a positive number of epochs")
        super().__init__(patience)
        self._stop = False  # rank 0's decision, not yet shared
        self._agreed = False  # shared: every rank leaves the loop

    def on_train_start(self, runner, **kwargs):
        self.counter = self._epochs_since_best(runner)
        runner.logger.info(f"Early stopping after {self.patience} epochs without a better validation "
                           f"{runner.target_metric}" + (f" ({self.counter} already, before the resume)."
                                                        if self.counter else "."))

    @staticmethod
    def _epochs_since_best(runner) -> int:
        """0 for a fresh run; for a resumed one, the epochs it trained after its best-validation checkpoint."""
        start = getattr(runner, "start_epoch", 0) or 0
        if not start or runner.training_unit != "epoch":
            return 0
        name = f"{runner.model_name}_best_val_{runner.target_metric.replace('/', '_')}.pt"
        path = Path(runner.ckpt_save_dir) / name
        if not path.is_file():
            return 0
        best = torch.load(path, map_location="cpu", weights_only=False).get("epoch", start)
        return max(0, start - best)

    def _curriculum_running(self, runner) -> bool:
        for cb in getattr(runner.callback_handler, "callbacks", []):
            if isinstance(cb, CurriculumLearning) and cb.curriculum_learning(runner.epoch) < cb.prediction_length:
                return True
        return False

    def on_validate_end(self, runner, **kwargs):
        if self._agreed:  # the validation of the epoch that stopped at once: keep the decision
            return
        if self._curriculum_running(runner):
            self.counter = 0
            return
        super().on_validate_end(runner, **kwargs)
        if runner.should_training_stop and _distributed():
            runner.should_training_stop, self._stop = False, True  # shared at the next epoch start

    def on_epoch_start(self, runner, **kwargs):
        if _distributed():
            flag = torch.tensor([float(self._stop)], device=_collective_device())
            dist.all_reduce(flag)  # every rank joins; any rank's decision (rank 0's) stops all
            if flag.item() > 0:
                runner.should_training_stop = self._agreed = True


def _distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def _collective_device() -> torch.device:
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")
