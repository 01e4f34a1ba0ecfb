"""Backbone checkpoints into wrapped models, and adapter-only save/load."""
from __future__ import annotations

import json
import logging
import pickle

import pytest
import torch
from basicts.models.STID import STID

from adapters_helpers import STIDSTLoRA, forward_kwargs
from stlora_plugin import load_adapter, load_backbone_checkpoint, save_adapter
from stlora_plugin.adapters.checkpoint import ADAPTER_FILE, CONFIG_FILE
from stlora_plugin.runtime import NodeGroupAdam

N = 5


def _config(**kw):
    return STIDSTLoRA.Config(input_len=12, output_len=12, num_features=N, if_time_in_day=True, num_time_in_day=288,
                             **kw)


@pytest.fixture
def backbone_checkpoint(tmp_path):
    """A BasicTS-style checkpoint of a plain STID, and its state dict."""
    torch.manual_seed(1)
    state = STID(_config()).state_dict()
    path = tmp_path / "STID_best_val_MAE.pt"
    torch.save({"epoch": 3, "model_state_dict": state, "optim_state_dict": {}}, path)
    return path, state


def _tune(model, steps=2):
    """A few adapter-only training steps."""
    optimizer = NodeGroupAdam([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    model.train()
    for seed in range(steps):
        out = model(torch.randn(2, 12, N), **forward_kwargs(STID, N, seed=seed))
        (out["prediction"].abs().mean() + out["aux_loss"]).backward()
        optimizer.step()
        optimizer.zero_grad()
    return model.eval()


def test_backbone_checkpoint_loads_and_weights_arrive(backbone_checkpoint):
    path, state = backbone_checkpoint
    torch.manual_seed(2)
    model = STIDSTLoRA(_config(stlora_freeze_backbone=True))
    report = load_backbone_checkpoint(model, path)
    assert report["unexpected_keys"] == [] and all(k.startswith("st_lora.") for k in report["missing_adapter_keys"])
    for key, value in state.items():
        torch.testing.assert_close(model.state_dict()[key], value, rtol=0, atol=0)


def test_missing_backbone_key_is_refused_before_loading(backbone_checkpoint, tmp_path):
    path, state = backbone_checkpoint
    broken = dict(state)
    del broken["regression_layer.weight"]
    torch.save({"model_state_dict": broken}, tmp_path / "broken.pt")
    model = STIDSTLoRA(_config())
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(KeyError, match="lacks 1 backbone keys .*regression_layer.weight"):
        load_backbone_checkpoint(model, tmp_path / "broken.pt")
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # nothing was loaded


def test_unexpected_keys_and_ddp_prefix_are_reported(backbone_checkpoint, tmp_path, caplog):
    path, state = backbone_checkpoint
    prefixed = {f"module.{k}": v for k, v in {**state, "old_head.weight": torch.zeros(2)}.items()}
    torch.save({"model_state_dict": prefixed}, tmp_path / "ddp.pt")
    with caplog.at_level(logging.WARNING):
        report = load_backbone_checkpoint(STIDSTLoRA(_config()), tmp_path / "ddp.pt")
    assert report["unexpected_keys"] == ["old_head.weight"]
    assert "old_head.weight" in caplog.text


def test_load_state_dict_accepts_a_backbone_only_dict_even_strictly(backbone_checkpoint, caplog):
    _, state = backbone_checkpoint
    model = STIDSTLoRA(_config())
    adapter_before = {k: v.clone() for k, v in model.st_lora.state_dict().items()}
    with caplog.at_level(logging.INFO):
        model.load_state_dict(state, strict=True)  # what BasicTS's finetune_from does with strict_load=True
    assert "backbone-only state dict" in caplog.text
    assert all(torch.equal(adapter_before[k], v) for k, v in model.st_lora.state_dict().items())
    partial = {**state, "st_lora.gate.bias": torch.zeros(12)}  # part of an adapter is not a backbone checkpoint
    with pytest.raises(RuntimeError, match="Missing key"):
        model.load_state_dict(partial, strict=True)
    missing_backbone = {k: v for k, v in model.state_dict().items() if k != "spatial_emb"}
    with pytest.raises(RuntimeError, match="spatial_emb"):
        model.load_state_dict(missing_backbone, strict=True)


def test_adapter_round_trip_reproduces_predictions_exactly(backbone_checkpoint, tmp_path):
    path, _ = backbone_checkpoint
    torch.manual_seed(3)
    tuned = STIDSTLoRA(_config(stlora_freeze_backbone=True))
    load_backbone_checkpoint(tuned, path)
    _tune(tuned)
    folder = save_adapter(tuned, tmp_path / "adapter")
    torch.manual_seed(4)  # a fresh model: different adapter initialisation
    fresh = STIDSTLoRA(_config(stlora_freeze_backbone=True)).eval()
    load_backbone_checkpoint(fresh, path)
    inputs, kwargs = torch.randn(3, 12, N), forward_kwargs(STID, N, batch=3, seed=9)
    assert not torch.allclose(fresh(inputs, **kwargs), tuned(inputs, **kwargs))
    load_adapter(fresh, folder)
    torch.testing.assert_close(fresh(inputs, **kwargs), tuned(inputs, **kwargs), rtol=0, atol=0)


def test_adapter_files_are_small_and_hold_only_the_adapter(tmp_path):
    model = STIDSTLoRA(_config(stlora_freeze_backbone=True))
    folder = save_adapter(model, tmp_path / "adapter")
    from safetensors.torch import load_file

    tensors = load_file(str(folder / ADAPTER_FILE))
    assert set(tensors) == set(model.st_lora.state_dict())
    config = json.loads((folder / CONFIG_FILE).read_text())
    assert config["num_nodes"] == N and config["hyperparameters"]["rank"] == 2
    assert config["backbone"] == "basicts.models.STID.arch.stid_arch.STID"
    assert (folder / ADAPTER_FILE).stat().st_size < 64 * 1024


def test_loading_an_adapter_never_unpickles(tmp_path, monkeypatch):
    folder = save_adapter(STIDSTLoRA(_config(stlora_freeze_backbone=True)), tmp_path / "adapter")

    def refuse(*args, **kwargs):
        raise AssertionError("load_adapter must not unpickle")

    for module, name in ((pickle, "load"), (pickle, "loads"), (pickle, "Unpickler"), (torch, "load")):
        monkeypatch.setattr(module, name, refuse)
    load_adapter(STIDSTLoRA(_config()), folder)


def test_adapter_of_another_shape_is_refused_with_the_differences(tmp_path):
    folder = save_adapter(STIDSTLoRA(_config(stlora_freeze_backbone=True)), tmp_path / "adapter")
    with pytest.raises(ValueError, match=r"'rank': \(2, 3\)"):
        load_adapter(STIDSTLoRA(_config(stlora_rank=3)), folder)


def test_adapter_with_another_fusion_is_refused_and_an_older_file_means_gate(tmp_path):
    folder = save_adapter(STIDSTLoRA(_config(stlora_freeze_backbone=True)), tmp_path / "adapter")
    with pytest.raises(ValueError, match=r"'fusion': \('gate', 'mean'\)"):
        load_adapter(STIDSTLoRA(_config(stlora_fusion="mean")), folder)
    saved = json.loads((folder / CONFIG_FILE).read_text())
    del saved["hyperparameters"]["fusion"]  # written before the fusion option existed
    (folder / CONFIG_FILE).write_text(json.dumps(saved))
    load_adapter(STIDSTLoRA(_config()), folder)


def test_a_budget_sized_adapter_round_trips(tmp_path):
    tuned = _tune(STIDSTLoRA(_config(stlora_freeze_backbone=True, stlora_param_budget=3000)))
    folder = save_adapter(tuned, tmp_path / "adapter")
    saved = json.loads((folder / CONFIG_FILE).read_text())["hyperparameters"]
    assert {k: saved[k] for k in tuned.stlora_budget.settings()} == tuned.stlora_budget.settings()
    fresh = STIDSTLoRA(_config(stlora_param_budget=3000)).eval()
    load_adapter(fresh, folder)
    inputs, base = torch.randn(3, 12, N), torch.randn(3, 12, N)  # the adapter alone: the backbones differ
    torch.testing.assert_close(fresh.st_lora(inputs, base), tuned.st_lora(inputs, base), rtol=0, atol=0)


def test_saving_with_a_trainable_backbone_warns(tmp_path):
    with pytest.warns(UserWarning, match="backbone of this model is trainable"):
        save_adapter(STIDSTLoRA(_config()), tmp_path)


def test_functions_refuse_models_without_st_lora(tmp_path):
    with pytest.raises(TypeError, match="expected a model made by st_lora"):
        save_adapter(STID(_config()), tmp_path)
