"""A wrapped model trained from a plain BasicTSForecastingConfig (as BasicTS's docs write it) keeps its penalty and
its weight-decay-free node group, or stops before training with an error naming what to add; a wrapped model whose
backbone requires callbacks (DUET) keeps them working."""
from __future__ import annotations

import pytest
import torch
from basicts.configs import BasicTSForecastingConfig
from basicts.models.DUET import DUET

from adapters_helpers import TinyModelSTLoRA, load, tiny_config
from stlora_plugin import st_lora
from stlora_plugin.runtime import AuxiliaryLoss, NodeGroupAdam, launch_training, read_meta
from stlora_plugin.runtime.protocol import model_callbacks


def _plain_config(dataset, tmp_path, **overrides):
    meta = read_meta(dataset)
    return BasicTSForecastingConfig(
        model=TinyModelSTLoRA, model_config=TinyModelSTLoRA.Config(num_nodes=meta["num_vars"]),
        dataset_name=meta["name"], dataset_params={"dataset_name": meta["name"], "data_file_path": dataset},
        input_len=12, output_len=12, use_timestamps=True, num_epochs=1, batch_size=32,
        ckpt_save_dir=str(tmp_path / "ckpt"), **overrides)


@pytest.mark.slow
def test_without_the_penalty_callback_the_runner_refuses_to_start(synthetic_dataset, tmp_path):
    with pytest.raises(RuntimeError, match="requires callback AuxiliaryLoss"):
        launch_training(_plain_config(synthetic_dataset, tmp_path))


@pytest.mark.slow
def test_a_decaying_optimizer_stops_training_before_the_first_step(synthetic_dataset, tmp_path):
    cfg = _plain_config(synthetic_dataset, tmp_path, callbacks=[AuxiliaryLoss()])  # BasicTS default: Adam, wd 5e-4
    with pytest.raises(RuntimeError, match="NodeGroupAdam"):
        launch_training(cfg)


@pytest.mark.slow
def test_with_both_it_trains(synthetic_dataset, tmp_path):
    cfg = _plain_config(synthetic_dataset, tmp_path, callbacks=[AuxiliaryLoss()], optimizer=NodeGroupAdam,
                        optimizer_params={"lr": 1e-3, "weight_decay": 1e-4})
    run_dir = launch_training(cfg)
    assert list(run_dir.glob("*_best_val_MAE.pt"))


def test_the_required_callbacks_include_the_backbones():
    wrapped = st_lora(DUET)
    assert wrapped._required_callbacks[0] in DUET._required_callbacks and AuxiliaryLoss in wrapped._required_callbacks
    callbacks = model_callbacks(wrapped)
    assert all(any(isinstance(cb, kind) for cb in callbacks) for kind in wrapped._required_callbacks)
    assert sum(isinstance(cb, AuxiliaryLoss) for cb in callbacks) == 1  # ours meets BasicTS's AddAuxiliaryLoss


def test_a_wrapped_duet_trains_through_the_launcher(train_basicts, synthetic_dataset):
    model_cls, config_cls, extra = load("DUET")
    wrapped = st_lora(model_cls, name="DUETSTLoRA")
    config = tiny_config(model_cls, wrapped.Config, extra, 12)
    cfg, metrics, _ = train_basicts(wrapped, config, synthetic_dataset, num_epochs=1)
    assert all(torch.isfinite(torch.tensor(v)) for v in metrics["overall"].values())
