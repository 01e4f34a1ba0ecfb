"""BasicTS's AddAuxiliaryLoss back-propagates nothing; ours must (checked through BasicTSLauncher)."""
from dataclasses import dataclass, field

import torch
from basicts.configs import BasicTSModelConfig
from basicts.runners.callback import AddAuxiliaryLoss
from torch import nn

from stlora_plugin.runtime import AuxiliaryLoss, find_run_dir


@dataclass
class AuxProbeConfig(BasicTSModelConfig):
    input_len: int = field(default=12, metadata={"help": "input steps"})
    output_len: int = field(default=12, metadata={"help": "output steps"})


class AuxProbe(nn.Module):
    """A linear forecaster plus a parameter that only feeds aux_loss."""

    aux_loss_keys = ("aux_loss",)

    def __init__(self, config: AuxProbeConfig):
        super().__init__()
        self.linear = nn.Linear(config.input_len, config.output_len)
        self.aux_only = nn.Parameter(torch.ones(()))

    def forward(self, inputs):
        prediction = self.linear(inputs.transpose(1, 2)).transpose(1, 2)
        return {"prediction": prediction, "aux_loss": self.aux_only.square()}


class AuxProbeUndeclared(AuxProbe):
    """The same model without ``aux_loss_keys``, so the config builder adds no callback of its own."""

    aux_loss_keys = ()


def _aux_value_after_training(train_basicts, dataset, model, callbacks):
    cfg, _, _ = train_basicts(model, AuxProbeConfig(), dataset, callbacks=callbacks, num_epochs=1,
                              optimizer_params={"lr": 0.01, "weight_decay": 0.0})
    run_dir = find_run_dir(cfg.ckpt_save_dir)
    state = torch.load(sorted(run_dir.glob(f"{model.__name__}_*.pt"))[-1], weights_only=True)["model_state_dict"]
    return state["aux_only"].item()


def test_aux_only_parameter_trains_with_ours(train_basicts, synthetic_dataset):
    assert _aux_value_after_training(train_basicts, synthetic_dataset, AuxProbe, []) < 0.99


def test_basicts_callback_leaves_it_untouched(train_basicts, synthetic_dataset):
    # documents the upstream defect this package works around
    value = _aux_value_after_training(train_basicts, synthetic_dataset, AuxProbeUndeclared, [AddAuxiliaryLoss()])
    assert value == 1.0


def test_config_builder_adds_the_callback(synthetic_dataset, tmp_path):
    from stlora_plugin.runtime import benchmark_config

    cfg = benchmark_config(AuxProbe, AuxProbeConfig(), synthetic_dataset, ckpt_save_dir=str(tmp_path))
    assert any(isinstance(cb, AuxiliaryLoss) for cb in cfg.callbacks)
