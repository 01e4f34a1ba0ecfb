"""BasicTS's AddAuxiliaryLoss back-propagates nothing; ours must (checked through BasicTSLauncher)."""
from dataclasses import dataclass, field

import pytest
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


class _Runner:
    """What EarlyStopping reads of a BasicTS runner: the validation meter, the best value so far, the epoch."""

    target_metric, metrics_best, training_unit = "MAE", "min", "epoch"

    def __init__(self, callbacks=()):
        import logging
        from types import SimpleNamespace

        self.logger, self.epoch, self.should_training_stop = logging.getLogger("test"), 0, False
        self.callback_handler = SimpleNamespace(callbacks=list(callbacks))
        self.best_metrics, self.value = {}, None
        self.meter_pool = SimpleNamespace(get_value=lambda name: self.value)

    def validate(self, callback, value):
        """One epoch's validation: the callback sees it before the runner records a new best (BasicTS's order)."""
        self.epoch, self.value = self.epoch + 1, value
        callback.on_validate_end(self, train_step=None, train_epoch=self.epoch)
        best = self.best_metrics.get("val/MAE")
        self.best_metrics["val/MAE"] = value if best is None else min(best, value)


def _stopped_at(callback, curve, runner=None):
    runner = runner or _Runner()
    for value in curve:
        runner.validate(callback, value)
        if runner.should_training_stop:
            return runner.epoch
    return None


def test_early_stopping_counts_epochs_without_a_better_validation_mae():
    from stlora_plugin.runtime import EarlyStopping

    assert _stopped_at(EarlyStopping(2), [5, 4, 4.5, 3, 3.1, 3.2, 2]) == 6  # two epochs after the best at epoch 4
    assert _stopped_at(EarlyStopping(2), [5, 4, 3, 2, 1]) is None  # still improving: trains every epoch
    assert _stopped_at(EarlyStopping(1), [5, 5]) == 2  # a tie is not an improvement


def test_early_stopping_waits_for_the_curriculum_to_cover_the_horizon():
    from basicts.runners.callback import CurriculumLearning

    from stlora_plugin.runtime import EarlyStopping

    curriculum = CurriculumLearning(prediction_length=12, warm_up_epochs=0, cl_epochs=1, step_size=4)  # 3 stages
    worse = [5, 6, 7, 8, 9, 10]
    assert _stopped_at(EarlyStopping(1), worse) == 2  # the control: without a curriculum it stops at once
    # epochs 1-2 train 4 and 8 steps and do not count; epoch 3, the first on all 12, is the one without a better MAE
    assert _stopped_at(EarlyStopping(1), worse, _Runner([curriculum])) == 3
    assert _stopped_at(EarlyStopping(2), worse, _Runner([curriculum])) == 4


def test_early_stopping_keeps_its_count_across_a_resume(tmp_path):
    """A run resumed after epoch 5 whose best validation was at epoch 3 has already waited two epochs."""
    import torch

    from stlora_plugin.runtime import EarlyStopping

    def resumed(start_epoch):
        runner = _Runner()
        runner.model_name, runner.ckpt_save_dir, runner.start_epoch = "STID", str(tmp_path), start_epoch
        runner.epoch, runner.best_metrics = start_epoch, {"val/MAE": 2.0}
        return runner

    torch.save({"epoch": 3, "best_metrics": {"val/MAE": 2.0}}, tmp_path / "STID_best_val_MAE.pt")
    callback = EarlyStopping(3)
    callback.on_train_start(resumed(5))
    assert callback.counter == 2
    assert _stopped_at(callback, [2.5, 2.5], resumed(5)) == 6  # one more epoch without a better MAE: stop
    fresh = EarlyStopping(3)
    fresh.on_train_start(resumed(0))  # the control: a run that starts at epoch 0 waits the full patience
    assert fresh.counter == 0 and _stopped_at(fresh, [2.5, 2.5, 2.5], resumed(0)) == 3


def test_early_stopping_rejects_a_bad_patience():
    from stlora_plugin.runtime import EarlyStopping

    for bad in (0, -1, 2.5, None):
        with pytest.raises(ValueError, match="positive number of epochs"):
            EarlyStopping(bad)


SUBNORMAL = 1e-39  # below torch.finfo(torch.float32).tiny (about 1.18e-38)


class SubnormalProbe(AuxProbe):
    """A linear forecaster plus a weight, outside the loss, that starts in float32's subnormal range."""

    aux_loss_keys = ()

    def __init__(self, config: AuxProbeConfig):
        super().__init__(config)
        self.aux_only = nn.Parameter(torch.full((3,), SUBNORMAL))


def _probe_after_training(dataset, folder, *, keep_callback: bool):
    from stlora_plugin.runtime import FlushSubnormals, benchmark_config, launch_training

    cfg = benchmark_config(SubnormalProbe, AuxProbeConfig(), dataset, num_epochs=1, ckpt_save_dir=str(folder))
    if not keep_callback:  # the control (the config builder adds it to every config)
        cfg.callbacks = [cb for cb in cfg.callbacks if not isinstance(cb, FlushSubnormals)]
    run_dir = launch_training(cfg)
    state = torch.load(sorted(run_dir.glob("SubnormalProbe_*.pt"))[-1], weights_only=True)["model_state_dict"]
    return state["aux_only"]


def test_flush_subnormals_is_in_every_config(synthetic_dataset, tmp_path):
    from stlora_plugin.runtime import FlushSubnormals, benchmark_config

    cfg = benchmark_config(AuxProbeUndeclared, AuxProbeConfig(), synthetic_dataset, ckpt_save_dir=str(tmp_path))
    assert sum(isinstance(cb, FlushSubnormals) for cb in cfg.callbacks) == 1


@pytest.mark.slow
def test_flush_subnormals_zeroes_a_subnormal_weight_through_the_launcher(synthetic_dataset, tmp_path):
    assert torch.equal(_probe_after_training(synthetic_dataset, tmp_path / "on", keep_callback=True), torch.zeros(3))
    # the control: without the callback the weight (no gradient reaches it) keeps its subnormal value
    kept = _probe_after_training(synthetic_dataset, tmp_path / "off", keep_callback=False)
    assert torch.equal(kept, torch.full((3,), SUBNORMAL))


def test_flush_subnormals_leaves_normal_values_bit_for_bit():
    from types import SimpleNamespace

    from stlora_plugin.runtime import FlushSubnormals

    tiny = torch.finfo(torch.float32).tiny
    values = torch.tensor([SUBNORMAL, -SUBNORMAL, tiny / 2, 0.0, tiny, -tiny, 1e-30, 0.5, -3.0])
    weight = nn.Parameter(values.clone())
    integer = torch.tensor([0, 1])  # not a float: not touched
    runner = SimpleNamespace(model=SimpleNamespace(parameters=lambda: [weight, integer]))
    callback = FlushSubnormals()
    callback.on_train_start(runner)
    callback.on_step_end(runner)
    callback.on_train_end(runner)
    assert torch.equal(weight[:4], torch.zeros(4))
    assert torch.equal(weight[4:], values[4:])  # the smallest normal value and everything above: unchanged


def _flushing() -> bool:
    """Whether this thread flushes subnormals to zero now (a subnormal input then reads as zero)."""
    return (torch.tensor([SUBNORMAL]) * 1.0).item() == 0.0


def test_flush_subnormals_flushes_on_this_thread_while_basicts_runs():
    from types import SimpleNamespace

    from stlora_plugin.runtime import FlushSubnormals

    runner = SimpleNamespace(model=nn.Linear(2, 2))
    callback = FlushSubnormals()
    assert not _flushing()  # the control: torch's default
    callback.on_train_start(runner)
    assert _flushing()
    callback.on_test_start(runner)  # a test inside training (BasicTS's test_interval)
    callback.on_test_end(runner)
    assert _flushing()  # still training
    callback.on_train_end(runner)
    assert not _flushing()  # torch's default again
    callback.on_test_start(runner)  # the test after training, or an evaluation alone
    assert _flushing()
    callback.on_test_end(runner)
    assert not _flushing()
