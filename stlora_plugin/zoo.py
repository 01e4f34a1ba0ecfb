"""The model zoo: every backbone with its benchmark training recipe, plain and wrapped by ST-LoRA.

One table holds what the config files in ``baselines_cfg/`` and the leaderboard share: the model class, its
config at the benchmark's usual settings, and its training recipe (optimizer, learning-rate schedule, batch size,
gradient clipping, curriculum learning): at 100 epochs exactly the published PEMS04 recipes of BasicTS v0.4 (LSTM:
LargeST's), pinned by ``tests/test_zoo.py``. A shorter run scales the recipe in one place (:func:`_scale`): each
milestone, and the curriculum's warm-up and stage length, move to the same fraction of the run (at least epoch 1;
milestones that coincide merge), and the curriculum's step grows so the whole horizon is trained by the same
fraction of the run as published; from 100 epochs on the recipe is kept as published. Early stopping
(``--patience``) is a budget setting, not part of a recipe (``runtime.EarlyStopping``). One rule follows the data
(:func:`dataset_settings`): where validation or test hold days of week that training never does, models read no
day of week.
``experiment(Model, dataset)`` turns a row into a BasicTS config under the benchmark protocol; a model wrapped
by ``st_lora`` finds its row through its backbone, so a plain config and its ST-LoRA twin differ only by the
model class (``named_experiment(name, dataset, stlora=True)`` by name).

The ready-made wrapped classes (``STGCNSTLoRA``, ...) live here so BasicTS finds them again from ``cfg.json``.
"""
from __future__ import annotations

import copy
import dataclasses
import logging
import os
import re
from dataclasses import dataclass, field
from typing import Any

from basicts.configs import BasicTSForecastingConfig
from basicts.models.STID import STID, STIDConfig
from basicts.runners.callback import CurriculumLearning, GradientClipping
from torch.optim.lr_scheduler import MultiStepLR

from .adapters import st_lora
from .backbones import AGCRN, D2STGNN, LSTM, STAEformer, STGCN, GWNet
from .runtime import benchmark_config
from .runtime.protocol import DAY_OF_WEEK_FIELDS, OUTPUT_LEN, unseen_days
from .sepnet import PUBLISHED as SEPNET_DEFAULTS_PUBLISHED, VARIANTS as SEPNET_VARIANTS, STSepNet, STSepNetConfig

__all__ = ["RECIPES", "RECIPE_EPOCHS", "Curriculum", "Recipe", "SEPNET", "SEPNET_PUBLISHED_TRAINING",
           "SEPNET_TRAINING", "WRAPPED", "backbone_of", "dataset_settings", "experiment", "model_class",
           "named_experiment", "parse_model", "parse_value", "sepnet_experiment", "split_models",
           "LSTMSTLoRA", "STGCNSTLoRA", "GWNetSTLoRA", "AGCRNSTLoRA", "D2STGNNSTLoRA", "STAEformerSTLoRA",
           "STIDSTLoRA"]

logger = logging.getLogger(__name__)


#: The run length the published recipes are written for; shorter runs scale them (:meth:`Recipe.scaled`).
RECIPE_EPOCHS = 100


def _scale(epochs: int, value: int) -> int:
    """An epoch count of a 100-epoch recipe scaled to a run of ``epochs`` (kept as published from 100 on)."""
    return value if epochs >= RECIPE_EPOCHS else round(value * epochs / RECIPE_EPOCHS)


@dataclass(frozen=True)
class Curriculum:
    """Curriculum learning (D2STGNN): the whole horizon for ``warm_up`` epochs, then the trained horizon restarts
    at ``step`` steps and grows by ``step`` every ``every`` epochs until it covers the output length."""

    warm_up: int = 30
    every: int = 3
    step: int = 1

    def callback(self, epochs: int, output_len: int) -> CurriculumLearning:
        """The callback for a run of ``epochs``: warm-up and stage length scale with the run (see
        :meth:`Recipe.scaled`), and the step grows so that the horizon is complete at the same fraction of the
        run as in the published recipe (a 1-epoch run trains the whole horizon at once)."""
        warm_up, every = _scale(epochs, self.warm_up), max(1, _scale(epochs, self.every))
        ramp = _scale(epochs, (-(-output_len // self.step) - 1) * self.every)  # epochs until the full horizon
        ramp = max(0, min(ramp, epochs - 1 - warm_up))  # which a run's last epoch always trains
        stages = ramp // every + 1
        step = self.step if epochs >= RECIPE_EPOCHS else -(-output_len // stages)
        return CurriculumLearning(prediction_length=output_len, warm_up_epochs=warm_up, cl_epochs=every,
                                  step_size=step)


@dataclass(frozen=True)
class Recipe:
    """A backbone, its config at benchmark settings, and its published training recipe.

    ``milestones=None`` keeps the learning rate constant; ``clip`` is the gradient-norm clip (None: none).
    """

    model: type
    config: dict[str, Any] = field(default_factory=dict)
    config_class: type | None = None  # None: model.Config
    width: str = ""  # the config field that widens the model (capacity-matched controls)
    lr: float = 2e-3
    weight_decay: float = 1e-4
    batch_size: int = 64
    milestones: tuple[int, ...] | None = None
    gamma: float = 0.5
    clip: float | None = None
    curriculum: Curriculum | None = None

    def scaled(self, epochs: int) -> list[int] | None:
        """The milestones for a run of ``epochs``: as published from 100 epochs on; a shorter run places each at
        the same fraction of the run (at least epoch 1; milestones that coincide merge), so a 10-epoch run of
        STGCN's [1, 50] halves the rate after epochs 1 and 5."""
        if self.milestones is None:
            return None
        return sorted({max(1, _scale(epochs, m)) for m in self.milestones if max(1, _scale(epochs, m)) < epochs}) \
            or None

    def train_overrides(self, overrides: dict) -> dict:
        """The recipe as BasicTS config fields for a run with these ``overrides`` (``num_epochs``, ``output_len``)."""
        epochs = overrides.get("num_epochs", RECIPE_EPOCHS)
        milestones = self.scaled(epochs)
        callbacks = [GradientClipping(self.clip)] if self.clip is not None else []
        if self.curriculum is not None:
            callbacks.append(self.curriculum.callback(epochs, overrides.get("output_len", OUTPUT_LEN)))
        return {
            "optimizer_params": {"lr": self.lr, "weight_decay": self.weight_decay},
            "lr_scheduler": MultiStepLR if milestones else None,
            "lr_scheduler_params": {"milestones": milestones, "gamma": self.gamma} if milestones else None,
            "batch_size": self.batch_size,
            "callbacks": callbacks,
        }


#: The published recipes. Sources: BasicTS v0.4 ``baselines/<Model>/PEMS04.py`` (STID, STGCN, GWNet, AGCRN,
#: D2STGNN, STAEformer; pinned by ``tests/test_zoo.py``), LargeST ``experiments/lstm/main.py`` (LSTM: no
#: scheduler, clip 5; its SD/GBA batch 64).
RECIPES: dict[str, Recipe] = {
    "STID": Recipe(STID, {"input_hidden_size": 32, "num_layers": 3, "if_time_in_day": True, "if_day_in_week": True,
                          "num_time_in_day": None}, config_class=STIDConfig, width="input_hidden_size",
                   lr=2e-3, weight_decay=1e-4, batch_size=32, milestones=(1, 50, 80), gamma=0.5),
    "LSTM": Recipe(LSTM, width="hidden_size", lr=1e-3, weight_decay=1e-4, batch_size=64, clip=5.0),
    "STGCN": Recipe(STGCN, width="temporal_channels", lr=4e-4, weight_decay=3e-4, batch_size=16,
                    milestones=(1, 50), gamma=0.5),
    "GWNet": Recipe(GWNet, width="residual_channels", lr=2e-3, weight_decay=1e-4, batch_size=16,
                    milestones=(1, 50), gamma=0.5, clip=5.0),
    "AGCRN": Recipe(AGCRN, width="hidden_dim", lr=3e-3, weight_decay=0.0, batch_size=64),
    "D2STGNN": Recipe(D2STGNN, width="hidden_dim", lr=2e-3, weight_decay=1e-5, batch_size=16,
                      milestones=(1, 30, 38, 46, 54, 62, 70, 80), gamma=0.5, clip=5.0, curriculum=Curriculum()),
    "STAEformer": Recipe(STAEformer, width="feed_forward_dim", lr=1e-3, weight_decay=3e-4, batch_size=16,
                         milestones=(20, 25), gamma=0.1),
}

STIDSTLoRA = st_lora(STID)
LSTMSTLoRA = st_lora(LSTM)
STGCNSTLoRA = st_lora(STGCN)
GWNetSTLoRA = st_lora(GWNet)
AGCRNSTLoRA = st_lora(AGCRN)
D2STGNNSTLoRA = st_lora(D2STGNN)
STAEformerSTLoRA = st_lora(STAEformer)

#: backbone name -> its ready-made ST-LoRA class (default preset)
WRAPPED = {"STID": STIDSTLoRA, "LSTM": LSTMSTLoRA, "STGCN": STGCNSTLoRA, "GWNet": GWNetSTLoRA,
           "AGCRN": AGCRNSTLoRA, "D2STGNN": D2STGNNSTLoRA, "STAEformer": STAEformerSTLoRA}


#: ST-SepNet variants under zoo names, so the sweep, sanity and leaderboard commands train them like backbones
#: (they have no ST-LoRA twin). ``-pooled``: the temporal branch reads nodes pooled to channels (2.1x faster
#: per step than one language-model sequence per node on CPU at 12 -> 12, benchmarks/results/bench_sepnet.txt);
#: ``-mean``: it reads the mean over nodes, as the published code; ``-hyper``: hypergraph only (gamma fixed at 0);
#: ``STSepNet-published``: the published settings (``sepnet.PUBLISHED``).
SEPNET: dict[str, dict[str, Any]] = {
    **{v.name: {"variant": key} for key, v in SEPNET_VARIANTS.items()},
    **{f"{v.name}-{mode}": {"variant": key, "input_mode": mode} for key, v in SEPNET_VARIANTS.items()
       if v.temporal for mode in ("pooled", "mean")},
    "STSepNet-hyper": {"variant": "hypergraph", "gamma": 0.0, "gamma_learnable": False},
    "STSepNet-published": {"variant": "hypergraph", **SEPNET_DEFAULTS_PUBLISHED},
}

#: The published training settings of ST-SepNet (``scripts/BIKE/*.sh`` and ``run_main.py``: 48 -> 48, Adam
#: lr 1e-4 without weight decay, batch 16, 50 epochs, MultiStepLR [5, 20, 40, 70] x 0.3). Deliberate deviation:
#: the loss is the benchmark's masked MAE (the published code trains on MSE).
SEPNET_PUBLISHED_TRAINING = {"batch_size": 16, "num_epochs": 50, "optimizer_params": {"lr": 1e-4, "weight_decay": 0.0},
                             "lr_scheduler": MultiStepLR,
                             "lr_scheduler_params": {"milestones": [5, 20, 40, 70], "gamma": 0.3}}
#: Our ST-SepNet training default (12 -> 12 and 48 -> 48 alike).
SEPNET_TRAINING = {"batch_size": 16, "num_epochs": 50, "optimizer_params": {"lr": 1e-3, "weight_decay": 1e-4}}


def backbone_of(model: type) -> str:
    """The zoo name of ``model`` or of the backbone it wraps."""
    for klass in model.__mro__:
        for name, recipe in RECIPES.items():
            if klass is recipe.model:
                return name
    raise ValueError(f"{model.__name__} is not in the zoo (nor wraps a model that is); "
                     f"known backbones: {', '.join(RECIPES)}")


def parse_value(text: str):
    """A setting written on a command line: a whole number, a number, True/False, or else the text itself."""
    if text in ("True", "False"):
        return text == "True"
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            continue
    return text


_SPEC = re.compile(r"^([^\[\],]+?)(?:\[(.*)\])?$")


def parse_model(spec: str) -> tuple[str, dict[str, Any]]:
    """A model as the comparison commands name it: a zoo name, optionally with model-config settings in
    brackets, ``NAME[key=value,...]`` (e.g. ``STSepNet-noLLM[gamma=0,gamma_learnable=False]``); returns the zoo
    name and the settings, each checked against the model's config fields."""
    match = _SPEC.match(spec.strip())
    if match is None:
        raise ValueError(f"model '{spec}' is not NAME or NAME[key=value,...]")
    name, body = match.group(1), match.group(2)
    settings = {}
    for item in filter(None, (body or "").split(",")):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"model '{spec}': expected key=value inside the brackets, got '{item}'")
        settings[key.strip()] = parse_value(value.strip())
    fields = {f.name for f in dataclasses.fields(_config_class(name))}
    unknown = sorted(set(settings) - fields)
    if unknown:
        raise ValueError(f"model '{spec}': {', '.join(unknown)} not a setting of {name}; its settings are "
                         f"{', '.join(sorted(fields))}")
    return name, settings


def split_models(text: str) -> list[str]:
    """Comma-separated model specs, where commas inside brackets belong to a model's settings."""
    return [part.strip() for part in re.split(r",(?![^\[]*\])", text) if part.strip()]


def model_class(name: str, stlora: bool = False) -> type:
    """The zoo's class for a model name (a backbone, plain or ST-LoRA, or an ST-SepNet variant); a name with
    settings (:func:`parse_model`) names the same class."""
    name = name.split("[", 1)[0]
    if name in SEPNET:
        if stlora:
            raise ValueError(f"'{name}' is an ST-SepNet variant and has no ST-LoRA twin; compare it as a plain model")
        return STSepNet
    if name not in RECIPES:
        raise ValueError(f"unknown model '{name}'; choose one of {', '.join([*RECIPES, *SEPNET])}")
    return WRAPPED[name] if stlora else RECIPES[name].model


def _config_class(name: str) -> type:
    model = model_class(name)
    return getattr(model, "Config", None) or (STSepNetConfig if name in SEPNET else RECIPES[name].config_class)


def named_experiment(name: str, dataset: str | os.PathLike, *, stlora: bool = False, horizon: int | None = None,
                     model_overrides: dict | None = None, **overrides) -> BasicTSForecastingConfig:
    """The BasicTS config of the zoo model ``name`` (settings in brackets allowed, :func:`parse_model`) on
    ``dataset``, forecasting ``horizon`` steps from as many (None: the protocol's 12 -> 12; see :func:`experiment`)."""
    name, settings = parse_model(name)
    model = model_class(name, stlora)
    model_overrides = {**settings, **(model_overrides or {})}
    if name in SEPNET:
        return sepnet_experiment(dataset, horizon, train_overrides=overrides, **{**SEPNET[name], **model_overrides})
    if horizon is not None:
        overrides = {"input_len": horizon, "output_len": horizon, **overrides}
    return experiment(model, dataset, model_overrides=model_overrides, **overrides)


def experiment(model: type, dataset: str | os.PathLike, *, model_overrides: dict | None = None,
               **overrides) -> BasicTSForecastingConfig:
    """A BasicTS config for ``model`` (a zoo backbone, or one wrapped by ``st_lora``) on ``dataset``.

    ``model_overrides`` change model-config fields (for a wrapped model also ``stlora_*`` fields);
    ``overrides`` change the training config (``num_epochs``, ``seed``, ``ckpt_save_dir``, ...).
    """
    recipe = RECIPES[backbone_of(model)]
    config_class = getattr(model, "Config", None) or recipe.config_class
    config = config_class(**{**recipe.config, **dataset_settings(config_class, dataset), **(model_overrides or {})})
    params = recipe.train_overrides(overrides)
    params["callbacks"] = params["callbacks"] + list(overrides.pop("callbacks", []))
    params.update(overrides)
    return benchmark_config(model, config, dataset, **params)


def dataset_settings(config_class: type, dataset: str | os.PathLike) -> dict:
    """What the recipes change for ``dataset``: no day-of-week input (``DAY_OF_WEEK_FIELDS`` off) when its
    validation or test hold days of week that training never does (a one-week series such as LOS-LOOP), where an
    untrained day-of-week embedding would decide the score."""
    fields = [f.name for f in dataclasses.fields(config_class) if f.name in DAY_OF_WEEK_FIELDS]
    unseen = unseen_days(dataset) if fields else []
    if unseen:
        logger.info("%s: validation or test hold %s, never in training: %s reads no day of week (%s)",
                    dataset, ", ".join(unseen), config_class.__qualname__, ", ".join(f"{f}=False" for f in fields))
    return {name: False for name in fields} if unseen else {}


def sepnet_experiment(dataset: str | os.PathLike, horizon: int | None = None, *, published: bool = False,
                      train_overrides: dict | None = None, **model_overrides) -> BasicTSForecastingConfig:
    """ST-SepNet (full adaptive-hypergraph variant, MiniLM by default) on ``dataset``, ``horizon -> horizon`` steps:
    the benchmark's 12 -> 12 by default, or the paper's 48 -> 48 (horizons 12/24/48 reported).

    ``published=True`` takes the published model settings (``sepnet.PUBLISHED``) and training settings
    (:data:`SEPNET_PUBLISHED_TRAINING`), at 48 -> 48 unless ``horizon`` says otherwise.
    ``model_overrides`` change :class:`STSepNetConfig` fields, ``train_overrides`` the training config."""
    horizon = horizon or (48 if published else OUTPUT_LEN)
    settings = {"variant": "hypergraph", "gate": "sigmoid", "hyperedge_order": 3,
                **(SEPNET_DEFAULTS_PUBLISHED if published else {}), **dataset_settings(STSepNetConfig, dataset),
                **model_overrides}
    config = STSepNetConfig(**settings)
    train = {**copy.deepcopy(SEPNET_PUBLISHED_TRAINING if published else SEPNET_TRAINING), **(train_overrides or {})}
    return benchmark_config(STSepNet, config, dataset, input_len=horizon, output_len=horizon, **train)
