"""ST-LoRA trained through BasicTSLauncher on the synthetic dataset (slow: real, short trainings)."""
from __future__ import annotations

import logging

import pytest
import torch
from basicts.models.STID import STID, STIDConfig

from adapters_helpers import BACKBONES, DLinearSTLoRA, PathTracker, STGCNSTLoRA, STIDSTLoRA, TinyModelSTLoRA
from stlora_plugin import core_spread, parameter_report
from stlora_plugin.runtime import find_run_dir



def _checkpoint(cfg, kind: str = "best") -> dict:
    run_dir = find_run_dir(cfg.ckpt_save_dir)
    pattern = "*_best_val_MAE.pt" if kind == "best" else f"*_{kind}.pt"
    (path,) = sorted(run_dir.glob(pattern))
    return torch.load(path, weights_only=True)["model_state_dict"]


def _trained(model_cls, cfg, kind: str = "best"):
    model = model_cls(model_cls.Config(**dict(cfg.model_config)))
    model.load_state_dict(_checkpoint(cfg, kind))
    return model


@pytest.mark.parametrize("model_cls, extra", [
    (STIDSTLoRA, {"if_time_in_day": True, "if_day_in_week": True}),
    (DLinearSTLoRA, {}),
    (TinyModelSTLoRA, {}),
    (STGCNSTLoRA, BACKBONES["STGCN"][2]),
])
def test_one_epoch_through_the_launcher(model_cls, extra, train_basicts, synthetic_dataset):
    cfg, metrics, log = train_basicts(model_cls, model_cls.Config(**extra), synthetic_dataset, num_epochs=1)
    assert cfg.optimizer.__name__ == "NodeGroupAdam"
    assert all(torch.isfinite(torch.tensor(v)) for v in metrics["overall"].values())
    assert len(log["train/loss"]) == 1
    assert core_spread(_trained(model_cls, cfg))["node_norm"] > 0  # the cores moved off zero


def test_the_node_adaptive_path_survives_the_protocol_in_its_group(train_basicts, synthetic_dataset):
    """~400 steps of Adam 2e-3 with weight decay 1e-4: in its own group the path B C_v A grows and the cores stay
    node-specific (with decay on them, A and B shrank away; that optimizer is now refused before training)."""
    tracker = PathTracker()
    config = STIDSTLoRA.Config(if_time_in_day=True, if_day_in_week=True)
    cfg, _, _ = train_basicts(STIDSTLoRA, config, synthetic_dataset, num_epochs=10, batch_size=16,
                              callbacks=[tracker])
    assert cfg.optimizer.__name__ == "NodeGroupAdam"
    first, last = tracker.rows[0], tracker.rows[-1]
    assert last["A"] > first["A"] and last["B"] > first["B"], tracker.rows
    assert last["relative_spread"] > 0.5 and last["node_norm"] > 0.1, last


def test_an_optimizer_that_decays_the_node_group_is_refused(train_basicts, synthetic_dataset):
    with pytest.raises(RuntimeError, match="weight_decay=0.0001 to .* node group"):
        train_basicts(STIDSTLoRA, STIDSTLoRA.Config(), synthetic_dataset, optimizer=torch.optim.Adam)


def test_the_penalty_reaches_the_gradient_through_the_launcher(train_basicts, synthetic_dataset, tmp_path):
    norms = {}
    for lam in (0.0, 10.0):
        config = TinyModelSTLoRA.Config(stlora_lambda=lam, stlora_dropout=0.0)
        cfg, _, _ = train_basicts(TinyModelSTLoRA, config, synthetic_dataset, num_epochs=1, batch_size=16,
                                  ckpt_save_dir=str(tmp_path / f"lambda_{lam}"))
        model = _trained(TinyModelSTLoRA, cfg, kind="1")
        norms[lam] = sum(m.update_norms().sum().item() for m in model.st_lora.nalls())
    assert norms[10.0] < 0.5 * norms[0.0], norms  # a large lambda holds the updates B C_v A near zero


@pytest.mark.parametrize("strict_load", [True, False])
def test_finetune_from_a_backbone_checkpoint(strict_load, train_basicts, synthetic_dataset, tmp_path):
    plain_cfg, _, _ = train_basicts(STID, STIDConfig(), synthetic_dataset, num_epochs=1,
                                    ckpt_save_dir=str(tmp_path / "plain"))
    (plain_path,) = sorted(find_run_dir(plain_cfg.ckpt_save_dir).glob("*_best_val_MAE.pt"))
    plain = torch.load(plain_path, weights_only=True)["model_state_dict"]
    config = STIDSTLoRA.Config(stlora_freeze_backbone=True)
    cfg, _, _ = train_basicts(STIDSTLoRA, config, synthetic_dataset, num_epochs=1, finetune_from=str(plain_path),
                              strict_load=strict_load, ckpt_save_dir=str(tmp_path / "tuned"))
    tuned = _checkpoint(cfg, kind="1")
    fresh = STIDSTLoRA(STIDSTLoRA.Config(**dict(cfg.model_config))).state_dict()
    for key, value in plain.items():  # the backbone arrived and stayed frozen
        torch.testing.assert_close(tuned[key], value, rtol=0, atol=0)
        assert not torch.equal(fresh[key], value)
    assert any(not torch.equal(tuned[k], fresh[k]) for k in fresh if k.startswith("st_lora."))


def test_ablation_settings_and_a_budget_train_through_the_launcher(train_basicts, synthetic_dataset, caplog):
    """The shared-core / mean-fusion arm with a parameter budget, resolved again when BasicTS rebuilds the model."""
    config = STIDSTLoRA.Config(if_time_in_day=True, stlora_core="shared", stlora_fusion="mean",
                               stlora_param_budget=0.5)
    with caplog.at_level(logging.INFO):
        cfg, metrics, _ = train_basicts(STIDSTLoRA, config, synthetic_dataset, num_epochs=1)
    assert all(torch.isfinite(torch.tensor(v)) for v in metrics["overall"].values())
    model = _trained(STIDSTLoRA, cfg, kind="1")
    report = parameter_report(model)
    assert report.node_specific == 0 and model.st_lora.gate is None
    assert report.budget["requested"] == 0.5 and report.adapter <= 0.5 * report.backbone
    assert "param_budget=0.5" in caplog.text
