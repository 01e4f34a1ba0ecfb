"""st_lora: wrapping built-in, package and user models; signature, pickling, outputs and errors."""
from __future__ import annotations

import dataclasses
import importlib
import inspect
import json
import pickle

import pytest
import torch
from basicts.configs import BasicTSForecastingConfig
from basicts.models.DLinear import DLinear
from basicts.models.STID import STID
from easydict import EasyDict
from torch import nn

from adapters_helpers import (BUILTINS, SKIPPED, BareDecoratedModel, DecoratedModel, NamedLite, STIDSTLoRA,
                              TinyConfig, TinyModel, TinyModelSTLoRA, forward_kwargs, load, tiny_config)
from stlora_plugin import parameter_report, st_lora
from stlora_plugin.runtime import NodeGroupAdam

N = 5


def _wrapped_builtin(name: str, **hyper):
    model_cls, config_cls, extra = load(name)
    wrapped = st_lora(model_cls, hidden_size=8, rank=2, num_layers=1, **hyper)
    return model_cls, wrapped, tiny_config(model_cls, wrapped.Config, extra, N)


def _adapter_params(model):
    return [(n, p) for n, p in model.named_parameters() if n.startswith("st_lora.")]


@pytest.mark.parametrize("name", sorted(BUILTINS))
def test_builtin_trains_a_few_steps(name):
    torch.manual_seed(0)
    model_cls, wrapped, config = _wrapped_builtin(name)
    model = wrapped(config).train()
    assert inspect.signature(wrapped.forward) == inspect.signature(model_cls.forward)
    assert issubclass(wrapped, model_cls)
    optimizer = NodeGroupAdam(model.parameters(), lr=1e-2, weight_decay=1e-4)
    inputs, kwargs = torch.randn(2, 12, N), forward_kwargs(model_cls, N)
    model.eval()
    before = model(inputs, **kwargs)
    before = before["prediction"] if isinstance(before, dict) else before
    model.train()
    for step in range(3):
        out = model(inputs, **kwargs)
        assert out["prediction"].shape == (2, 12, N)
        assert out["aux_loss"].dim() == 0
        loss = out["prediction"].abs().mean() + out["aux_loss"]
        loss.backward()
        for pname, param in _adapter_params(model):  # every adapter parameter takes part in every step
            assert param.grad is not None, f"{pname} got no gradient at step {step}"
            # the zero-initialised heads get a gradient at step 0, the rest once the heads (step 1) and then the
            # cores (step 2, for A and B) have left zero
            if step == 2 or ".head." in pname:
                assert param.grad.abs().sum() > 0, f"{pname} got a zero gradient at step {step}"
        optimizer.step()
        optimizer.zero_grad()
    model.eval()
    after = model(inputs, **kwargs)
    after = after["prediction"] if isinstance(after, dict) else after
    assert torch.isfinite(after).all()
    assert not torch.allclose(before, after)


def test_shared_core_and_mean_fusion_build_through_the_config():
    """The ablation arms' settings: no node-specific parameter, no gate, and the model still trains."""
    torch.manual_seed(0)
    model = STIDSTLoRA(STIDSTLoRA.Config(input_len=12, output_len=12, num_features=N, stlora_core="shared",
                                         stlora_fusion="mean", stlora_dropout=0.0)).train()
    assert model.st_lora.gate is None and model.st_lora.node_specific_parameters() == []
    assert parameter_report(model).node_specific == 0
    optimizer = NodeGroupAdam(model.parameters(), lr=1e-2, weight_decay=1e-4)
    groups = {id(p): g.get("node_group", False) for g in optimizer.param_groups for p in g["params"]}
    assert all(groups[id(c)] for c in model.st_lora.core_parameters())  # same no-decay path as per-node cores
    inputs, kwargs = torch.randn(2, 12, N), forward_kwargs(STID, N)
    for _ in range(3):  # heads leave zero at step 1, the cores at step 2
        out = model(inputs, **kwargs)
        torch.testing.assert_close(out["aux_loss"], model.st_lora.penalty())
        (out["prediction"].abs().mean() + out["aux_loss"]).backward()
        optimizer.step()
        optimizer.zero_grad()
    model.eval()
    y_base = super(STIDSTLoRA, model).forward(inputs, **kwargs)
    rows = model.st_lora.nalls()[0].node_cores()
    assert rows.abs().sum() > 0 and torch.equal(rows, rows[:1].expand_as(rows))
    xt, predictors = inputs.transpose(1, 2), model.st_lora.predictors
    bt = y_base.transpose(1, 2)
    z1 = bt + predictors[0](torch.tanh(bt))  # Z_k = Y_base + D_k
    z2 = bt + predictors[1](torch.tanh(torch.cat([xt, z1], dim=-1)))
    expected = (y_base + ((z1 + z2) / 2).transpose(1, 2)) / 2  # Y = (Y_base + mean_k Z_k) / 2
    torch.testing.assert_close(model(inputs, **kwargs), expected)


def test_skipped_builtins_are_documented():
    for name, reason in SKIPPED.items():
        assert name not in BUILTINS and reason
        importlib.import_module(f"basicts.models.{name}")  # they exist; they are left out on purpose


def test_all_trainable_parameters_get_gradients_every_step():
    model = STIDSTLoRA(STIDSTLoRA.Config(input_len=12, output_len=12, num_features=N, if_time_in_day=True,
                                         num_time_in_day=288)).train()
    optimizer = NodeGroupAdam(model.parameters(), lr=1e-2)
    kwargs = forward_kwargs(STID, N)
    for step in range(3):
        out = model(torch.randn(2, 12, N), **kwargs)
        (out["prediction"].abs().mean() + out["aux_loss"]).backward()
        missing = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
        assert not missing, f"step {step}: no gradient for {missing} (DDP would need find_unused_parameters)"
        optimizer.step()
        optimizer.zero_grad()


def test_steps_on_the_adapter_change_the_output():
    model = TinyModelSTLoRA(TinyModelSTLoRA.Config(num_nodes=N, stlora_freeze_backbone=True, stlora_dropout=0.0))
    inputs, kwargs = torch.randn(2, 12, N), forward_kwargs(TinyModel, N)
    model.eval()
    before = model(inputs, **kwargs)["prediction"]
    model.train()
    optimizer = NodeGroupAdam([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    for step in range(2):  # step 1 moves the zero heads, step 2 the cores
        out = model(inputs, **kwargs)
        (out["prediction"].square().mean() + out["aux_loss"]).backward()
        optimizer.step()
        optimizer.zero_grad()
        model.eval()
        assert not torch.allclose(model(inputs, **kwargs)["prediction"], before)
        model.train()
    nall = model.st_lora.predictors[0].blocks[0].nall
    assert nall.delta(torch.randn(2, N, 8)).abs().sum() > 0  # the low-rank path itself is now non-zero


@pytest.mark.parametrize("node", [0, 3])
def test_perturbing_one_node_changes_only_that_node(node):
    wrapped = st_lora(DLinear, hidden_size=8)  # DLinear (shared weights) never mixes nodes, nor does the adapter
    model = wrapped(wrapped.Config(input_len=12, output_len=12, num_features=N)).eval()
    with torch.no_grad():
        for core in model.st_lora.node_specific_parameters():
            core.normal_()
    x = torch.randn(2, 12, N)
    x2 = x.clone()
    x2[:, 4, node] += 1.0
    changed = (model(x2) - model(x)).abs().sum(dim=(0, 1)) > 0
    assert changed.tolist() == [v == node for v in range(N)]


def test_eval_twice_and_train_eval_switching_give_identical_outputs():
    model = STIDSTLoRA(STIDSTLoRA.Config(input_len=12, output_len=12, num_features=N, stlora_dropout=0.5))
    inputs, kwargs = torch.randn(2, 12, N), forward_kwargs(STID, N)
    model.eval()
    first = model(inputs, **kwargs)
    torch.testing.assert_close(model(inputs, **kwargs), first, rtol=0, atol=0)
    model.train()
    model(inputs, **kwargs)
    model.eval()
    torch.testing.assert_close(model(inputs, **kwargs), first, rtol=0, atol=0)


def test_outputs_tensor_in_eval_and_dict_with_penalty_in_training():
    model = STIDSTLoRA(STIDSTLoRA.Config(input_len=12, output_len=12, num_features=N, stlora_lambda=0.3))
    with torch.no_grad():
        for core in model.st_lora.node_specific_parameters():
            core.fill_(0.5)
    inputs, kwargs = torch.randn(2, 12, N), forward_kwargs(STID, N)
    assert isinstance(model.eval()(inputs, **kwargs), torch.Tensor)
    out = model.train()(inputs, **kwargs)
    assert set(out) == {"prediction", "aux_loss"}
    torch.testing.assert_close(out["aux_loss"], model.st_lora.penalty())
    assert out["aux_loss"] > 0


def test_extra_keys_pass_through_and_a_backbone_aux_loss_is_added():
    model = TinyModelSTLoRA(TinyModelSTLoRA.Config(num_nodes=N)).eval()
    kwargs = forward_kwargs(TinyModel, N)
    out = model(torch.randn(2, 12, N), **kwargs)
    assert set(out) == {"prediction", "extra"}
    torch.testing.assert_close(out["extra"], kwargs["inputs_timestamps"].mean())
    _, duet, config = _wrapped_builtin("DUET")
    model = duet(config).train()
    out = model(torch.randn(2, 12, N))
    backbone = super(duet, model).forward(torch.randn(2, 12, N))  # DUET's own aux loss is positive
    assert backbone["aux_loss"] > 0 and out["aux_loss"] > model.st_lora.penalty()


def test_a_backbone_loss_moves_into_the_aux_loss():
    model_cls, fits, config = _wrapped_builtin("FITS", lambda_=0.0)
    model = fits(config).train()
    out = model(torch.randn(2, 12, N), **forward_kwargs(model_cls, N))
    assert "loss" not in out  # the runner would use it instead of the forecasting loss
    torch.testing.assert_close(out["aux_loss"], out["backbone_loss"])


def test_node_count_mismatch_names_both_numbers():
    model = STIDSTLoRA(STIDSTLoRA.Config(input_len=12, output_len=12, num_features=N))
    with pytest.raises(ValueError, match=r"inputs has 7 nodes but STIDSTLoRA was built for 5 \(num_features\)"):
        model(torch.randn(2, 12, 7), **forward_kwargs(STID, 7))


def test_missing_node_count_says_how_to_fill_it():
    with pytest.raises(ValueError, match="needs num_nodes, but the config has num_nodes=None"):
        TinyModelSTLoRA(TinyModelSTLoRA.Config())


class _NoForward(nn.Module):
    def __init__(self, config: TinyConfig):
        super().__init__()


class _NoInputs(TinyModel):
    def forward(self, x):
        return x


class _NoConfig(nn.Module):
    def __init__(self, hidden):
        super().__init__()

    def forward(self, inputs):
        return inputs


@pytest.mark.parametrize("thing, reason", [
    (lambda config: None, "not an nn.Module subclass"),
    (TinyConfig, "not an nn.Module subclass"),
    (_NoForward, "does not define forward"),
    (_NoInputs, "no parameter named `inputs`"),
    (_NoConfig, "has no such config class"),
])
def test_not_a_basicts_model_is_a_type_error_explaining_the_contract(thing, reason):
    with pytest.raises(TypeError, match="st_lora wraps a BasicTS 1.x model class") as info:
        st_lora(thing)
    assert reason in str(info.value)


@pytest.mark.parametrize("kwargs, field", [
    ({"rank": 0}, "stlora_rank=0"), ({"rank": True}, "stlora_rank=True"), ({"alpha": -1.0}, "stlora_alpha=-1.0"),
    ({"num_predictors": 0}, "stlora_num_predictors=0"), ({"num_layers": 1.5}, "stlora_num_layers=1.5"),
    ({"hidden_size": 0}, "stlora_hidden_size=0"), ({"core": "block"}, "stlora_core='block'"),
    ({"dropout": 1.0}, "stlora_dropout=1.0"), ({"lambda_": -0.1}, "stlora_lambda=-0.1"),
    ({"activation": "swish"}, "stlora_activation='swish'"),
    ({"input_activation": "sigmoid"}, "stlora_input_activation='sigmoid'"),
    ({"freeze_backbone": "yes"}, "stlora_freeze_backbone='yes'"), ({"fusion": "sum"}, "stlora_fusion='sum'"),
    ({"param_budget": 0}, "stlora_param_budget=0"), ({"param_budget": 1.5}, "stlora_param_budget=1.5"),
    ({"param_budget": True}, "stlora_param_budget=True"), ({"param_budget": "1%"}, "stlora_param_budget='1%'"),
])
def test_invalid_hyperparameters_name_the_field(kwargs, field):
    with pytest.raises(ValueError, match=field.replace("(", r"\(")):
        st_lora(TinyModel, **kwargs)
    ((key, value),) = kwargs.items()
    with pytest.raises(ValueError, match=field):
        TinyModelSTLoRA.Config(num_nodes=N, **{"stlora_" + key.rstrip("_"): value})


def test_unknown_hyperparameter_and_preset_are_rejected():
    with pytest.raises(TypeError, match=r"unknown hyperparameters \['ranks'\]"):
        st_lora(TinyModel, ranks=2)
    with pytest.raises(ValueError, match="preset='huge' is not known"):
        st_lora(TinyModel, preset="huge")


def test_backbone_config_validation_still_runs():
    with pytest.raises(ValueError, match="TinyConfig.dropout=-1"):
        TinyModelSTLoRA.Config(num_nodes=N, dropout=-1)


def test_decorating_twice_is_rejected():
    with pytest.raises(TypeError, match="already has ST-LoRA .* decorating twice"):
        st_lora(STIDSTLoRA)


def test_names_and_modules_of_the_three_forms():
    assert (STIDSTLoRA.__name__, STIDSTLoRA.__module__) == ("STIDSTLoRA", "adapters_helpers")
    assert NamedLite.__name__ == "NamedLite" and NamedLite.Config().stlora_core == "diagonal"
    assert (DecoratedModel.__name__, DecoratedModel.__module__) == ("DecoratedModel", "adapters_helpers")
    assert BareDecoratedModel.__qualname__ == "BareDecoratedModel"
    assert DecoratedModel.Config.__qualname__ == "DecoratedModel.Config"
    local = st_lora(TinyModel)
    assert (local.__name__, local.__module__) == ("TinyModelSTLoRA", __name__)
    assert DecoratedModel.Config().stlora_rank == 2 and TinyModelSTLoRA.Config().stlora_num_layers == 1


@pytest.mark.parametrize("cls", [STIDSTLoRA, DecoratedModel, BareDecoratedModel, NamedLite])
def test_pickle_round_trip_of_class_config_and_model(cls):
    assert pickle.loads(pickle.dumps(cls)) is cls
    config = cls.Config(input_len=12, output_len=12, **{cls.stlora_node_field: N})
    restored = pickle.loads(pickle.dumps(config))
    assert type(restored) is cls.Config and restored == config
    model = cls(config).eval()
    inputs, kwargs = torch.randn(2, 12, N), forward_kwargs(cls, N)
    out = pickle.loads(pickle.dumps(model))(inputs, **kwargs)
    torch.testing.assert_close(out, model(inputs, **kwargs))


def test_an_unbound_name_fails_at_pickling_with_the_fix():
    orphan = st_lora(TinyModel, name="NotBoundAnywhere")
    with pytest.raises(pickle.PicklingError, match="NotBoundAnywhere is nothing.*bind it at module level"):
        pickle.dumps(orphan)
    with pytest.raises(pickle.PicklingError, match="NotBoundAnywhere"):
        pickle.dumps(orphan.Config(num_nodes=N))


def test_config_is_json_and_survives_basicts_serialisation(synthetic_dataset):
    config = STIDSTLoRA.Config(num_features=N, stlora_rank=3)
    json.dumps(dict(config))
    cfg = BasicTSForecastingConfig(model=STIDSTLoRA, model_config=config, dataset_name="TINY", input_len=12,
                                   output_len=12)
    saved = json.loads(str(cfg))
    assert saved["model"] == {"name": "STIDSTLoRA", "module": "adapters_helpers"}
    assert BasicTSForecastingConfig._construct_obj(saved["model"]) is STIDSTLoRA
    rebuilt = EasyDict(saved["model_config"])  # what BasicTS hands the model after reading cfg.json
    model = STIDSTLoRA(rebuilt)
    assert model.stlora_hparams["rank"] == 3 and model.stlora_dims == (N, 12, 12)


def test_state_dict_keys_are_the_backbones_plus_one_adapter_attribute():
    config = STIDSTLoRA.Config(input_len=12, output_len=12, num_features=N)
    backbone = STID(config)
    keys = set(STIDSTLoRA(config).state_dict())
    assert set(backbone.state_dict()) <= keys
    assert {k.split(".")[0] for k in keys - set(backbone.state_dict())} == {"st_lora"}


def test_freeze_backbone_freezes_exactly_the_backbone():
    model = STIDSTLoRA(STIDSTLoRA.Config(input_len=12, output_len=12, num_features=N, stlora_freeze_backbone=True))
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {n for n, _ in _adapter_params(model)} and trainable


def test_a_model_without_node_field_gets_num_nodes():
    model_cls, config_cls, extra = load("NLinear")
    wrapped = st_lora(model_cls)
    assert "num_nodes" in {f.name for f in dataclasses.fields(wrapped.Config)}
    model = wrapped(wrapped.Config(input_len=12, output_len=12, num_nodes=N))
    assert model.stlora_dims == (N, 12, 12)


def test_the_whole_basicts_config_pickles(synthetic_dataset, tmp_path):
    from stlora_plugin.runtime import benchmark_config

    cfg = benchmark_config(STIDSTLoRA, STIDSTLoRA.Config(), synthetic_dataset, ckpt_save_dir=str(tmp_path))
    restored = pickle.loads(pickle.dumps(cfg))  # what DDP does when it spawns workers
    assert restored.model is STIDSTLoRA and type(restored.model_config) is STIDSTLoRA.Config
    assert restored.model_config == cfg.model_config


def test_a_node_field_default_is_replaced_by_none():
    wrapped = st_lora(DLinear)  # DLinearConfig.num_features defaults to 1, never a node count for ST-LoRA
    assert wrapped.Config().num_features is None
    with pytest.raises(ValueError, match="needs num_features"):
        wrapped(wrapped.Config(input_len=12, output_len=12))


def test_a_frozen_backbone_keeps_its_batch_norm_statistics_in_training():
    from stlora_plugin.backbones import GWNet

    wrapped = st_lora(GWNet)
    settings = dict(num_nodes=N, input_len=12, output_len=12, use_fixed_graph=False)  # adaptive graph only
    frozen = wrapped(wrapped.Config(**settings, stlora_freeze_backbone=True)).train()
    norms = [m for m in frozen.modules() if isinstance(m, nn.BatchNorm2d)]
    assert norms and all(not m.training for m in norms) and frozen.training
    before = [m.running_mean.clone() for m in norms]
    frozen(torch.randn(2, 12, N), torch.rand(2, 12, 2))
    assert all(torch.equal(b, m.running_mean) for b, m in zip(before, norms))
    cotrained = wrapped(wrapped.Config(**settings)).train()
    assert all(m.training for m in cotrained.modules() if isinstance(m, nn.BatchNorm2d))
