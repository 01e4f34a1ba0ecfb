"""``st_lora``: give any BasicTS 1.x model class ST-LoRA's node-specific predictors in one line.

Ruan et al., "ST-LoRA: Low-rank Adaptation for Spatio-Temporal Forecasting" (ECML-PKDD 2024):
``Y = R * f(X) + (1 - R) * mean_k Z_k`` with node-specific predictors ``Z_k`` (see ``fusion.py``).

    STIDSTLoRA = st_lora(STID, rank=4)        # functional: named "STIDSTLoRA", in the caller's module

    @st_lora(preset="lite")                    # on a definition: keeps the class's own name and module
    class MyModel(nn.Module): ...

The result is a subclass of the backbone, so the backbone's state-dict keys are unchanged (plain
checkpoints load; the adapter lives under the one attribute ``st_lora``). It has the backbone's exact
``forward`` signature (the BasicTS runner passes batch keys by parameter name), a config dataclass
``Wrapped.Config`` (the backbone's config plus ``stlora_*`` fields), and in training mode returns
``{"prediction": Y, "aux_loss": lambda * ||node-specific||_2, ...}`` (class attribute ``aux_loss_keys``, so
``benchmark_config`` adds the working auxiliary-loss callback). A backbone's own ``aux_loss`` is added to
that term; a backbone's own ``loss`` (FITS) is moved into it as well, because the runner would otherwise use
it instead of the forecasting loss and the adapter would never learn. Other output keys pass through.

``st_lora(Backbone, param_budget=0.01)`` (a share of the backbone's parameters) or ``param_budget=20000`` (a
count) sizes the adapter when the model is built: ``__init__`` builds the backbone, counts its parameters,
reads ``N`` from the config, picks rank, hidden size and layers (``budget.py``), logs the choice and only then
builds the adapter. The chosen values are ``model.stlora_hparams``, ``model.stlora_budget`` and appear in
``parameter_report(model)``; the config object itself is left unchanged (BasicTS hashes it).
"""
from __future__ import annotations

import dataclasses
import inspect
import logging
import sys
import typing
from collections.abc import Mapping

import torch
from basicts.configs import BasicTSModelConfig
from torch import nn

from stlora_plugin.runtime.callbacks import AuxiliaryLoss
from stlora_plugin.runtime.optim import NodeGroupAdam

from .budget import apply_budget
from .checkpoint import ADAPTER_ATTR, backbone_checkpoint_hook
from .config import HYPERPARAMETERS, PREFIX, make_config_class, resolve_hyperparameters
from .fusion import STLoRAFusion
from .registration import caller_module, meta_for
from .report import ParameterReportCallback, count_parameters, parameter_report

__all__ = ["st_lora"]

logger = logging.getLogger(__name__)

CONTRACT = ("st_lora wraps a BasicTS 1.x model class: an nn.Module subclass built as Model(config), where config "
            "is a @dataclass subclass of basicts.configs.BasicTSModelConfig (found from a `Config` class attribute "
            "or the annotation of __init__'s config parameter), with forward(self, inputs, ...) taking inputs "
            "[B, L, N] and returning [B, H, N] or a dict with 'prediction'")


def st_lora(backbone: type | None = None, /, *, name: str | None = None, preset: str = "default", **hyperparameters):
    """Wrap ``backbone`` (or, without it, return a class decorator) with ST-LoRA.

    Args:
        backbone: a BasicTS 1.x model class. Omit it to use ``@st_lora(...)`` on a class definition.
        name: class name of the functional form (default ``<Backbone>STLoRA``); bind the result to it.
        preset: ``"default"``, ``"paper"`` or ``"lite"`` (see ``config.PRESETS``); keywords below override it.
        **hyperparameters: defaults of ``Wrapped.Config``: rank, alpha, num_predictors, num_layers,
            hidden_size, core ("full", "diagonal", "shared"), fusion ("gate", "mean"), dropout, lambda_,
            activation, input_activation, freeze_backbone, param_budget (None, a float in (0, 1) or an int;
            when set it decides rank, hidden_size and num_layers at build time).
    """
    values = resolve_hyperparameters(preset, hyperparameters)
    if backbone is None:
        if name is not None:
            raise TypeError("st_lora(name=...) is for the functional form st_lora(Backbone, name=...); the class "
                            "decorator keeps the decorated class's own name")

        def decorate(cls):
            return _wrap(cls, values, name=cls.__name__, module=cls.__module__, qualname=cls.__qualname__)
        return decorate
    module = caller_module(1)
    if name is None and _being_defined(backbone, module):  # bare @st_lora on a class statement
        return _wrap(backbone, values, name=backbone.__name__, module=module, qualname=backbone.__qualname__)
    name = name or f"{getattr(backbone, '__name__', 'Model')}STLoRA"
    return _wrap(backbone, values, name=name, module=module, qualname=name)


def _being_defined(cls, module: str) -> bool:
    """True while a class statement runs its decorators: the class's name is not bound in its module yet."""
    if not inspect.isclass(cls) or cls.__module__ != module or "." in cls.__qualname__:
        return False
    return getattr(sys.modules.get(module), cls.__qualname__, None) is not cls


def _config_base(backbone: type) -> type:
    """The backbone's config class, or a ``TypeError`` that explains the contract."""
    candidate = getattr(backbone, "Config", None)
    if candidate is None:
        params = [p for p in inspect.signature(backbone.__init__).parameters.values() if p.name != "self"]
        if not params:
            raise TypeError(f"{CONTRACT}; {backbone.__qualname__}.__init__ takes no config argument")
        try:
            hints = typing.get_type_hints(backbone.__init__)
        except Exception:  # unresolvable string annotations: fall back to the raw annotation
            hints = {}
        candidate = hints.get(params[0].name, params[0].annotation)
    if not (inspect.isclass(candidate) and issubclass(candidate, BasicTSModelConfig)
            and dataclasses.is_dataclass(candidate)):
        raise TypeError(f"{CONTRACT}; {backbone.__qualname__} has no such config class (found {candidate!r}); "
                        "annotate __init__(self, config: MyConfig) or set a class attribute Config = MyConfig")
    return candidate


def _check_backbone(backbone) -> type:
    if inspect.isclass(backbone) and hasattr(backbone, "stlora_backbone"):
        raise TypeError(f"{backbone.__qualname__} already has ST-LoRA (st_lora made it from "
                        f"{backbone.stlora_backbone.__qualname__}); decorating twice would stack two adapters. Wrap "
                        f"{backbone.stlora_backbone.__qualname__} itself, and change hyperparameters through "
                        f"{backbone.__qualname__}.Config")
    if not (inspect.isclass(backbone) and issubclass(backbone, nn.Module)):
        raise TypeError(f"{CONTRACT}; got {backbone!r}, which is not an nn.Module subclass")
    if backbone.forward is nn.Module.forward:
        raise TypeError(f"{CONTRACT}; {backbone.__qualname__} does not define forward")
    if "inputs" not in inspect.signature(backbone.forward).parameters:
        raise TypeError(f"{CONTRACT}; {backbone.__qualname__}.forward{inspect.signature(backbone.forward)} has no "
                        "parameter named `inputs` (the BasicTS runner passes the history under that name)")
    return _config_base(backbone)


def _attach_adapter(model: nn.Module, config, name: str, node_field: str) -> None:
    """Freeze the backbone when asked, then build ST-LoRA's adapter from the config's ``stlora_*`` fields (the
    parameter budget, if any, applied against the backbone's size)."""
    if config.stlora_freeze_backbone:  # freeze the base first, then add the adapter
        for param in model.parameters():
            param.requires_grad_(False)
    dims = {}
    for field_name in (node_field, "input_len", "output_len"):
        dims[field_name] = getattr(config, field_name)
        if dims[field_name] is None:
            raise ValueError(f"{name} needs {field_name}, but the config has {field_name}=None; set it, or build "
                             "the run with stlora_plugin.runtime.benchmark_config (it fills it from the dataset)")
    model.stlora_dims = (dims[node_field], dims["input_len"], dims["output_len"])
    hp, model.stlora_budget = apply_budget(  # before the adapter exists: the count is the backbone's alone
        {hp: getattr(config, PREFIX + hp) for hp in HYPERPARAMETERS}, num_nodes=dims[node_field],
        input_len=dims["input_len"], output_len=dims["output_len"], owner=name,
        backbone_parameters=count_parameters(model)["total"])
    model.stlora_hparams = hp
    setattr(model, ADAPTER_ATTR, STLoRAFusion.from_hyperparameters(*model.stlora_dims, hp))
    model.stlora_frozen = config.stlora_freeze_backbone
    model.register_load_state_dict_post_hook(backbone_checkpoint_hook)
    logger.debug("%s: %s", name, parameter_report(model))  # the run log and console get it at train start


def _wrap(backbone: type, values: dict, *, name: str, module: str, qualname: str) -> type:
    config_base = _check_backbone(backbone)
    if not name.isidentifier():
        raise ValueError(f"st_lora: name={name!r} is not allowed; expected a Python identifier")
    config_cls = make_config_class(config_base, values, module=module, qualname=f"{qualname}.Config")
    fields = {f.name for f in dataclasses.fields(config_cls)}
    node_field = "num_nodes" if "num_nodes" in fields else "num_features"
    signature = inspect.signature(backbone.forward)
    wrapped = None  # bound below; the methods refer to it for super()

    def __init__(self, config):
        config = _as_config(wrapped, config)
        super(wrapped, self).__init__(config)
        _attach_adapter(self, config, name, node_field)

    def forward(self, *args, **kwargs):
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        inputs = bound.arguments["inputs"]
        _check_inputs(self, inputs, name, node_field)
        out = super(wrapped, self).forward(*args, **kwargs)
        return _fuse(self, inputs, out, name)

    def train(self, mode: bool = True):
        """``nn.Module.train``; a frozen backbone's normalization layers stay in eval mode (frozen statistics too)."""
        super(wrapped, self).train(mode)
        if getattr(self, "stlora_frozen", False):
            adapter = set(getattr(self, ADAPTER_ATTR).modules())
            for module in self.modules():
                if isinstance(module, nn.modules.batchnorm._NormBase) and module not in adapter:
                    module.eval()
        return self

    forward.__signature__ = signature
    forward.__doc__ = f"{backbone.__qualname__}.forward, then the ST-LoRA fusion.\n\n{backbone.forward.__doc__ or ''}"
    for method in (__init__, forward, train):
        method.__qualname__ = f"{qualname}.{method.__name__}"
        method.__module__ = module
    namespace = {
        "__init__": __init__, "forward": forward, "train": train, "Config": config_cls, "__module__": module,
        "__qualname__": qualname, "stlora_backbone": backbone, "stlora_node_field": node_field,
        "aux_loss_keys": tuple(dict.fromkeys((*getattr(backbone, "aux_loss_keys", ()), "aux_loss"))),
        # the runner refuses to start without the penalty's callback (which also checks the optimizer)
        "_required_callbacks": list(dict.fromkeys((*getattr(backbone, "_required_callbacks", ()), AuxiliaryLoss))),
        "default_optimizer": NodeGroupAdam,
        "default_callbacks": tuple(dict.fromkeys((*getattr(backbone, "default_callbacks", ()),
                                                  ParameterReportCallback))),
        "__doc__": f"{backbone.__qualname__} with ST-LoRA node-specific predictors (made by st_lora).\n\n"
                   f"Config: {qualname}.Config. Shapes: inputs [B, L, N] -> [B, H, N] (a dict while training).",
    }
    wrapped = meta_for(type(backbone))(name, (backbone,), namespace)
    return wrapped


def _as_config(cls, config):
    """``config`` as ``cls.Config`` (BasicTS rebuilds configs from cfg.json as plain EasyDicts)."""
    if isinstance(config, cls.Config):
        return config
    if not isinstance(config, Mapping):
        raise TypeError(f"{cls.__qualname__} expects a {cls.__qualname__}.Config (or a mapping of its fields), got "
                        f"{type(config).__name__}")
    names = {f.name for f in dataclasses.fields(cls.Config) if f.init}
    unknown = sorted(set(config) - names)
    if unknown:
        raise TypeError(f"{cls.__qualname__}.Config has no fields {unknown}; allowed: {sorted(names)}")
    return cls.Config(**dict(config))


def _check_inputs(model, inputs, name: str, node_field: str) -> None:
    num_nodes, input_len, _ = model.stlora_dims
    if not isinstance(inputs, torch.Tensor) or inputs.dim() != 3:
        got = tuple(inputs.shape) if isinstance(inputs, torch.Tensor) else type(inputs).__name__
        raise ValueError(f"{name} expects inputs of shape [batch, input_len, num_nodes], got {got}")
    if inputs.shape[-1] != num_nodes:
        raise ValueError(f"inputs has {inputs.shape[-1]} nodes but {name} was built for {num_nodes} ({node_field}); "
                         "build the model with the dataset's node count")
    if inputs.shape[1] != input_len:
        raise ValueError(f"inputs has {inputs.shape[1]} steps but {name} was built for input_len={input_len}")


def _fuse(model, inputs, out, name: str):
    if isinstance(out, torch.Tensor):
        base, extras = out, None
    elif isinstance(out, Mapping) and "prediction" in out:
        base, extras = out["prediction"], dict(out)
    else:
        raise TypeError(f"the backbone of {name} returned {type(out).__name__}; expected a tensor [B, H, N] or a "
                        "dict with 'prediction'")
    expected = (inputs.shape[0], model.stlora_dims[2], model.stlora_dims[0])
    if tuple(base.shape) != expected:
        raise ValueError(f"the backbone of {name} predicted shape {tuple(base.shape)}; ST-LoRA needs [B, H, N] = "
                         f"{list(expected)}")
    prediction = getattr(model, ADAPTER_ATTR)(inputs, base)
    if extras is None and not model.training:
        return prediction
    result = dict(extras or {})
    backbone_loss = result.pop("loss", None)  # the runner would use it instead of the forecasting loss
    if backbone_loss is not None:
        result["backbone_loss"] = backbone_loss
    result["prediction"] = prediction
    if model.training:
        aux = getattr(model, ADAPTER_ATTR).penalty()
        for extra in (result.get("aux_loss"), backbone_loss):
            if extra is not None:
                aux = aux + extra
        result["aux_loss"] = aux
    return result
