"""The ST-LoRA hyperparameters and the config class of a wrapped model.

``st_lora(Backbone)`` builds ``Wrapped.Config``: a ``@dataclass`` subclass of the backbone's config class
with the fields below added (prefixed ``stlora_`` so they never collide with a backbone field such as
``dropout`` or ``hidden_size``, nor with BasicTS's top-level fields, which overwrite model-config fields of
the same name). Values are plain JSON types, validated in ``__post_init__``. ``HYPERPARAMETERS`` holds the one
default of every field (the ``default`` preset); the other presets name only what they change:

==========  ====  ==  =  ==  ========  =====================================================================
preset      rank  K   L  D   core      measured (``benchmarks/results/bench_stlora.txt``, PEMS04 scale N=307)
==========  ====  ==  =  ==  ========  =====================================================================
default     4     2   2  32  full      27,460 parameters: +22.8% on STID, +9.6% on STGCN, +2.0% on STAEformer
paper       2     1   1  8   full      1,860 parameters: +1.5% on STID, +0.7% on STGCN (the paper's cost)
lite        1     1   1  4   diagonal  755 parameters
==========  ====  ==  =  ==  ========  =====================================================================

The default is the larger adapter because it was the more accurate on validation in five of six settings
measured (``results/stlora_defaults_*``; ``docs/results_short_budgets.md``, "Choosing the defaults"); ``paper``
meets the paper's cost of about 1% of the parameters (<= 2% on STID and LSTM) and passes the positive control as well.
(K predictors of L residual NALL blocks of hidden size D.) The node-specific part costs ``N`` parameters per
NALL and rank at least (``N r^2`` full, ``N r`` diagonal). Instead of a preset, ``param_budget`` (a share of
the backbone's parameters, or a count) lets the model pick rank, hidden size and layers when it is built,
once ``N`` and the backbone's size are known (``budget.py``); it then overrides those three fields.
"""
from __future__ import annotations

import dataclasses
import types
from dataclasses import dataclass, field
from typing import Any, Optional, Union

from .fusion import FUSIONS, GATE_BIAS_INIT
from .nall import CORE_TYPES
from .predictor import ACTIVATIONS
from .registration import meta_for

__all__ = ["HYPERPARAMETERS", "PRESETS", "PREFIX", "make_config_class", "resolve_hyperparameters",
           "validate_hyperparameter"]

PREFIX = "stlora_"


def _int_at_least(low):
    return lambda v: not isinstance(v, bool) and isinstance(v, int) and v >= low, f"an int >= {low}"


def _choice(options):
    return lambda v: v in options, f"one of {sorted(options)}"


def _budget(v) -> bool:
    if v is None:
        return True
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return False
    return v >= 1 if isinstance(v, int) else 0 < v < 1


#: name -> (default, check, allowed (for messages), help).
HYPERPARAMETERS: dict[str, tuple[Any, Any, str, str]] = {
    "rank": (4, *_int_at_least(1), "Rank r of the NALL update B C_v A."),
    "alpha": (4.0, lambda v: not isinstance(v, bool) and isinstance(v, (int, float)) and v > 0, "a number > 0",
              "Scale alpha of the update (applied as alpha / r)."),
    "num_predictors": (2, *_int_at_least(1), "Number K of chained node-specific predictors."),
    "num_layers": (2, *_int_at_least(1), "Residual NALL blocks L per predictor."),
    "hidden_size": (32, *_int_at_least(1), "Hidden size D of the predictors."),
    "core": ("full", *_choice(CORE_TYPES),
             "Core of each NALL: per-node 'full' [N, r, r] or 'diagonal' [N, r], or 'shared' [r, r] (ablation)."),
    "fusion": ("gate", *_choice(FUSIONS),
               "Fusion with the backbone: 'gate' Y = R Y_base + (1 - R) mean Z, R = sigmoid(F([X, mean Z])), or "
               "'mean' (Y_base + mean Z) / 2."),
    "gate_bias": (GATE_BIAS_INIT, lambda v: not isinstance(v, bool) and isinstance(v, (int, float)), "a number",
                  "Initial bias of the gate F (fusion='gate'): R starts near sigmoid(gate_bias). The start is the "
                  "backbone's forecast whatever it is (the corrections start at zero)."),
    "dropout": (0.0, lambda v: not isinstance(v, bool) and isinstance(v, (int, float)) and 0 <= v < 1,
                "a number in [0, 1)", "Dropout on the adapter path and after each block (0: none; on CPU a "
                "dropout mask costs about a tenth of the default adapter's training step)."),
    "lambda": (1e-4, lambda v: not isinstance(v, bool) and isinstance(v, (int, float)) and v >= 0, "a number >= 0",
               "Weight lambda of the penalty lambda * mean_v ||Delta W_v||_F (summed over NALLs) on the "
               "node-specific updates Delta W_v = (alpha / r) B C_v A (an auxiliary loss)."),
    "activation": ("gelu", *_choice(ACTIVATIONS), "Activation inside the predictor blocks."),
    "input_activation": ("tanh", *_choice(ACTIVATIONS),
                         "Activation on the predictor inputs act(Y_base), act([X, Z]); keep it sign-preserving."),
    "freeze_backbone": (False, lambda v: isinstance(v, bool), "True or False",
                        "Freeze every backbone parameter and train only the adapter."),
    "param_budget": (None, _budget, "None, a float in (0, 1) (share of the backbone's parameters) or an int >= 1",
                     "Adapter size limit; when set, rank, hidden_size and num_layers are chosen to fit it when the "
                     "model is built (share of the backbone's parameters if < 1, else a parameter count)."),
}

#: preset -> the fields it changes from the defaults above ("default" changes none).
PRESETS: dict[str, dict[str, Any]] = {
    "default": {},
    "paper": {"rank": 2, "num_predictors": 1, "num_layers": 1, "hidden_size": 8},
    "lite": {"rank": 1, "alpha": 1.0, "num_predictors": 1, "num_layers": 1, "hidden_size": 4, "core": "diagonal"},
}


def validate_hyperparameter(name: str, value: Any, owner: str = "st_lora") -> None:
    """``ValueError`` naming the field, the bad value and what is allowed."""
    _, check, allowed, _ = HYPERPARAMETERS[name]
    if not check(value):
        raise ValueError(f"{owner}: {PREFIX}{name}={value!r} is not allowed; expected {allowed}")


def resolve_hyperparameters(preset: str, overrides: dict[str, Any]) -> dict[str, Any]:
    """Defaults, then the preset, then ``overrides`` (keyword names without prefix; ``lambda_`` for lambda)."""
    if preset not in PRESETS:
        raise ValueError(f"st_lora: preset={preset!r} is not known; choose one of {sorted(PRESETS)}")
    overrides = {("lambda" if k == "lambda_" else k): v for k, v in overrides.items()}
    unknown = sorted(set(overrides) - set(HYPERPARAMETERS))
    if unknown:
        raise TypeError(f"st_lora got unknown hyperparameters {unknown}; allowed: "
                        f"{sorted(k if k != 'lambda' else 'lambda_' for k in HYPERPARAMETERS)}")
    values = {name: spec[0] for name, spec in HYPERPARAMETERS.items()}
    values.update(PRESETS[preset])
    values.update(overrides)
    for name, value in values.items():
        validate_hyperparameter(name, value)
    return values


def _lengths_and_nodes(base: type) -> list[tuple[str, Any, Any]]:
    """Fields a wrapped model needs but the backbone config may lack (lengths, node count) or sets wrongly."""
    names = {f.name for f in dataclasses.fields(base)} if dataclasses.is_dataclass(base) else set()
    extra = [(n, Optional[int], field(default=None, metadata={"help": h}))
             for n, h in (("input_len", "Input steps L (set by BasicTS)."),
                          ("output_len", "Forecast horizon H (set by BasicTS)."))
             if n not in names]
    node_help = {"help": "Node count N (filled from the dataset)."}
    if "num_nodes" not in names and "num_features" not in names:
        extra.append(("num_nodes", Optional[int], field(default=None, metadata=node_help)))
    for f in dataclasses.fields(base) if dataclasses.is_dataclass(base) else ():
        # a default such as DLinear's num_features=1 is never the node count: make the dataset fill it
        if f.name in ("num_nodes", "num_features") and f.default is not None:
            extra.append((f.name, Optional[int], field(default=None, metadata=node_help)))
    return extra


def make_config_class(base: type, values: dict[str, Any], *, module: str, qualname: str) -> type:
    """A ``@dataclass`` subclass of ``base`` with the ST-LoRA fields, defaults taken from ``values``."""
    annotations: dict[str, Any] = {}
    defaults: dict[str, Any] = {}
    for name, type_, default in _lengths_and_nodes(base):
        annotations[name], defaults[name] = type_, default
    for name, (_, _, _, help_) in HYPERPARAMETERS.items():
        default = HYPERPARAMETERS[name][0]
        annotations[PREFIX + name] = Optional[Union[int, float]] if default is None else type(default)
        defaults[PREFIX + name] = field(default=values[name], metadata={"help": help_})

    def __post_init__(self):
        parent = getattr(super(cls, self), "__post_init__", None)
        if parent is not None:
            parent()
        for hp in HYPERPARAMETERS:
            validate_hyperparameter(hp, getattr(self, PREFIX + hp), owner=type(self).__qualname__)

    def body(ns):
        ns.update(defaults)
        ns.update(__annotations__=annotations, __post_init__=__post_init__, __module__=module,
                  __qualname__=qualname, __doc__=f"Config of {qualname.rsplit('.', 1)[0]}: "
                                                 f"{base.__name__} fields plus the ST-LoRA fields ({PREFIX}*).")

    cls = dataclass(types.new_class("Config", (base,), {"metaclass": meta_for(type(base))}, body))
    return cls
