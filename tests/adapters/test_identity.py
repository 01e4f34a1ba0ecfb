"""Identity at start: a freshly wrapped model forecasts exactly what its backbone forecasts, for every preset and
every zoo backbone, in train and eval mode (the predictors' corrections start at zero; fusion.py)."""
from __future__ import annotations

import importlib

import pytest
import torch
from basicts.models.STID import STID, STIDConfig

from adapters_helpers import BACKBONES, forward_kwargs
from stlora_plugin import st_lora
from stlora_plugin.adapters import PRESETS
from stlora_plugin.runtime import fill_dataset_fields


def _zoo_backbones():
    out = {"STID": (STID, STIDConfig, dict(if_time_in_day=True, if_day_in_week=True, num_time_in_day=288))}
    for name, (module, cls_name, extra) in BACKBONES.items():
        model_cls = getattr(importlib.import_module(f"stlora_plugin.backbones.{module}"), cls_name)
        out[name] = (model_cls, model_cls.Config, extra)
    return out


ZOO = _zoo_backbones()


def _prediction(out):
    return out["prediction"] if isinstance(out, dict) else out


@pytest.mark.parametrize("preset", sorted(PRESETS))
@pytest.mark.parametrize("name", sorted(ZOO))
def test_a_wrapped_model_starts_as_its_backbone(name, preset, synthetic_dataset):
    model_cls, config_cls, extra = ZOO[name]
    wrapped = st_lora(model_cls, preset=preset)
    torch.manual_seed(0)
    plain = model_cls(fill_dataset_fields(config_cls(input_len=12, output_len=12, **extra), synthetic_dataset))
    torch.manual_seed(1)  # other backbone weights: the copy below must be what makes them equal
    model = wrapped(fill_dataset_fields(wrapped.Config(input_len=12, output_len=12, **extra), synthetic_dataset))
    model.load_state_dict(plain.state_dict(), strict=False)  # a plain checkpoint: the st_lora.* keys stay as built
    assert set(model.state_dict()) - set(plain.state_dict()) == {k for k in model.state_dict() if k.startswith("st_lora.")}
    n = model.stlora_dims[0]
    inputs, kwargs = torch.randn(2, 12, n), forward_kwargs(model_cls, n)
    with torch.no_grad():
        for mode in (False, True):  # eval, then train with the same dropout draws in the backbone
            plain.train(mode)
            model.train(mode)
            torch.manual_seed(2)
            expected = _prediction(plain(inputs, **kwargs))
            torch.manual_seed(2)
            got = _prediction(model(inputs, **kwargs))
            scale = expected.abs().max().clamp_min(1e-12)
            assert (got - expected).abs().max() / scale <= 1e-6, f"{name}/{preset} train={mode}"


def test_the_control_a_moved_correction_leaves_the_backbone(synthetic_dataset):
    """The test above can fail: once a predictor's head is non-zero, the forecasts differ."""
    model_cls, config_cls, extra = ZOO["STID"]
    wrapped = st_lora(model_cls)
    model = wrapped(wrapped.Config(input_len=12, output_len=12, num_features=12, **extra)).eval()
    inputs, kwargs = torch.randn(2, 12, 12), forward_kwargs(model_cls, 12)
    with torch.no_grad():
        before = model(inputs, **kwargs)
        model.st_lora.predictors[0].head.bias.fill_(0.05)
        assert not torch.allclose(model(inputs, **kwargs), before)
