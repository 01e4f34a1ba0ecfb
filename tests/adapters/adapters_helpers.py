"""Helpers of the adapter tests: tiny model tables, a user's own model, and module-level wrapped classes.

BUILTINS: tiny configs of the BasicTS 1.1 built-in models that forecast more than one variable (N = 5,
12 -> 12): module, class, config class and config fields beyond input_len/output_len/num_features. SOFTS and
Timer are left out (SKIPPED, with the reason). BACKBONES: this package's six backbones at tiny sizes.
The classes at the bottom are bound at module level, as users must bind theirs, so they pickle.
"""
from __future__ import annotations

import dataclasses
import importlib
import inspect
from dataclasses import dataclass, field
from typing import Optional

import torch
from basicts.configs import BasicTSModelConfig
from basicts.models.DLinear import DLinear
from basicts.models.STID import STID
from basicts.runners.callback import BasicTSCallback
from torch import nn

from stlora_plugin import core_spread, st_lora
from stlora_plugin.backbones.stgcn import STGCN

B, L, H = 2, 12, 12

TS = [288, 7]
ATTN = dict(hidden_size=16, n_heads=2, intermediate_size=32)

#: name -> (module, class name, config class name, extra config fields)
BUILTINS = {
    "Autoformer": ("Autoformer", "Autoformer", "AutoformerConfig",
                   dict(ATTN, label_len=6, moving_avg=5, timestamp_sizes=TS, num_encoder_layers=1)),
    "Crossformer": ("Crossformer", "Crossformer", "CrossformerConfig",
                    dict(ATTN, patch_len=4, num_layers=1, factor=2)),
    "DLinear": ("DLinear", "DLinear", "DLinearConfig", {}),
    "DUET": ("DUET", "DUET", "DUETConfig", dict(ATTN, num_layers=1, num_experts=2, moving_avg=5)),
    "FITS": ("FITS", "FITS", "FITSConfig", dict(cut_freq=4)),
    "FiLM": ("FiLM", "FiLM", "FiLMConfig", {}),
    "FreTS": ("FreTS", "FreTS", "FreTSConfig", dict(embed_size=8, hidden_size=16)),
    "HI": ("HI", "HI", "HIConfig", {}),
    "Informer": ("Informer", "Informer", "InformerConfig",
                 dict(ATTN, label_len=6, timestamp_sizes=TS, num_encoder_layers=1)),
    "Koopa": ("Koopa", "Koopa", "KoopaConfig", dict(enc_in=5, seg_len=4, dynamic_dim=8, hidden_dim=8,
                                                    num_blocks=1)),
    "Leddam": ("Leddam", "Leddam", "LeddamConfig", dict(ATTN, n_heads=1, kernel_size=5, period=4)),
    "LightTS": ("LightTS", "LightTS", "LightTSConfig", dict(hidden_size=16, chunk_size=4)),
    "MTSMixer": ("MTSMixer", "MTSMixer", "MTSMixerConfig", dict(temporal_hidden_size=16, channel_hidden_size=4)),
    "NLinear": ("NLinear", "NLinear", "NLinearConfig", {}),
    "NonstationaryTransformer": ("NonstationaryTransformer", "NonstationaryTransformerForForecasting",
                                 "NonstationaryTransformerConfig",
                                 dict(ATTN, label_len=6, proj_hidden_size=8, timestamp_sizes=TS,
                                      num_encoder_layers=1)),
    "PatchTST": ("PatchTST", "PatchTSTForForecasting", "PatchTSTConfig",
                 dict(ATTN, patch_len=4, patch_stride=2)),
    "SegRNN": ("SegRNN", "SegRNN", "SegRNNConfig", dict(seg_len=4, hidden_size=16)),
    "SparseTSF": ("SparseTSF", "SparseTSF", "SparseTSFConfig", dict(period_len=4)),
    "STID": ("STID", "STID", "STIDConfig", dict(if_time_in_day=True, if_day_in_week=True, num_time_in_day=288)),
    "StemGNN": ("StemGNN", "StemGNN", "StemGNNConfig", {}),
    "TiDE": ("TiDE", "TiDE", "TiDEConfig", dict(hidden_size=16, intermediate_size=16, num_timestamps=2)),
    "TimeKAN": ("TimeKAN", "TimeKAN", "TimeKANConfig",
                dict(hidden_size=16, intermediate_size=32, down_sampling_layers=1)),
    "TimeMixer": ("TimeMixer", "TimeMixerForForecasting", "TimeMixerConfig",
                  dict(hidden_size=16, intermediate_size=32, down_sampling_layers=1, moving_avg=5, top_k=2)),
    "TimeXer": ("TimeXer", "TimeXer", "TimeXerConfig", dict(ATTN, patch_len=4)),
    "TimesNet": ("TimesNet", "TimesNetForForecasting", "TimesNetConfig",
                 dict(hidden_size=16, intermediate_size=16, top_k=2, num_kernels=2, timestamp_sizes=TS)),
    "iTransformer": ("iTransformer", "iTransformerForForecasting", "iTransformerConfig", ATTN),
}

#: Built-in models not covered, with the reason (measured on basicts 1.1.0).
SKIPPED = {
    "SOFTS": "fails in BasicTS 1.1.0 itself",
    "Timer": "works with one variable only; ST-LoRA's node-specific predictors need several nodes",
}


def load(name: str):
    """``(model class, config class, extra fields)`` of a built-in model."""
    module, cls_name, cfg_name, extra = BUILTINS[name]
    mod = importlib.import_module(f"basicts.models.{module}")
    return getattr(mod, cls_name), getattr(mod, cfg_name), dict(extra)


#: this package's backbones: module, class, config fields for a tiny model on the 12-node synthetic dataset.
BACKBONES = {
    "LSTM": ("lstm", "LSTM", dict(embed_dim=4, hidden_size=8, num_layers=1, end_dim=16)),
    "STGCN": ("stgcn", "STGCN", dict(temporal_channels=8, spatial_channels=4, end_channels=16)),
    "GWNet": ("gwnet", "GWNet", dict(residual_channels=4, dilation_channels=4, skip_channels=8, end_channels=16,
                                     blocks=2, layers=2, node_dim=4)),
    "AGCRN": ("agcrn", "AGCRN", dict(embed_dim=4, hidden_dim=8, num_layers=1)),
    "D2STGNN": ("d2stgnn", "D2STGNN", dict(hidden_dim=8, node_dim=4, time_emb_dim=4, num_layers=1, num_heads=2,
                                           gate_dim=8, forecast_dim=16, output_hidden=16)),
    "STAEformer": ("staeformer", "STAEformer", dict(input_embedding_dim=4, tod_embedding_dim=4, dow_embedding_dim=4,
                                                    adaptive_embedding_dim=4, feed_forward_dim=16, num_heads=2,
                                                    num_layers=1)),
}


def forward_kwargs(model_cls, num_nodes: int, batch: int = B, seed: int = 0) -> dict:
    """Random batch keys for every parameter of ``model_cls.forward`` besides ``inputs``."""
    g = torch.Generator().manual_seed(seed)

    def stamps():  # time of day and day of week in [0, 1)
        return torch.stack([torch.randint(0, 288, (batch, L), generator=g) / 288,
                            torch.randint(0, 7, (batch, L), generator=g) / 7], dim=-1)

    makers = {"inputs_timestamps": stamps, "targets_timestamps": stamps,
              "targets": lambda: torch.randn(batch, H, num_nodes, generator=g)}
    return {name: makers[name]() for name in inspect.signature(model_cls.forward).parameters if name in makers}


def tiny_config(model_cls, config_cls, extra: dict, num_nodes: int, **more):
    """``config_cls`` with lengths, node count and ``extra``; the node field is whichever the class has."""
    names = {f.name for f in dataclasses.fields(config_cls)}
    node_field = "num_nodes" if "num_nodes" in names else "num_features"
    kwargs = {"input_len": L, "output_len": H, node_field: num_nodes, **extra, **more}
    return config_cls(**{k: v for k, v in kwargs.items() if k in names})


@dataclass
class TinyConfig(BasicTSModelConfig):
    """A user's own config, following the contract."""

    num_nodes: Optional[int] = field(default=None, metadata={"help": "nodes"})
    input_len: int = field(default=L, metadata={"help": "input steps"})
    output_len: int = field(default=H, metadata={"help": "horizon"})
    dropout: float = field(default=0.0, metadata={"help": "a name ST-LoRA must not collide with"})

    def __post_init__(self):
        if self.dropout < 0:
            raise ValueError(f"TinyConfig.dropout={self.dropout!r} is not allowed; expected >= 0")


class TinyModel(nn.Module):
    """A user's own model: node-wise linear map of the history, returning a dict with an extra key."""

    def __init__(self, config: TinyConfig):
        super().__init__()
        self.proj = nn.Linear(config.input_len, config.output_len)

    def forward(self, inputs: torch.Tensor, inputs_timestamps: torch.Tensor, step: int = 0) -> dict:
        prediction = self.proj(inputs.transpose(1, 2)).transpose(1, 2)  # [B, H, N]
        return {"prediction": prediction, "extra": inputs_timestamps.mean()}


STIDSTLoRA = st_lora(STID, rank=2, hidden_size=8, num_predictors=2, num_layers=2)
TinyModelSTLoRA = st_lora(TinyModel, rank=2, hidden_size=8, num_layers=1, num_predictors=2)
NamedLite = st_lora(TinyModel, name="NamedLite", preset="lite")
DLinearSTLoRA = st_lora(DLinear, hidden_size=8, rank=2)
STGCNSTLoRA = st_lora(STGCN, hidden_size=8, rank=2)


@st_lora(rank=2, hidden_size=8)
class DecoratedModel(TinyModel):
    """Decorated at its definition: keeps its own name and module."""


@st_lora
class BareDecoratedModel(TinyModel):
    """Decorated without arguments."""


class PathTracker(BasicTSCallback):
    """Records ||A||, ||B|| (summed over the NALLs) and the core statistics at the start and after each epoch."""

    def __init__(self):
        super().__init__()
        self.rows = []

    @staticmethod
    @torch.no_grad()
    def measure(model) -> dict:
        nalls = [block.nall for predictor in model.st_lora.predictors for block in predictor.blocks]
        return {"A": sum(float(n.lora_A.norm()) for n in nalls), "B": sum(float(n.lora_B.norm()) for n in nalls),
                **core_spread(model)}

    def on_train_start(self, runner, *args, **kwargs):
        self.rows.append(self.measure(runner.model))

    def on_epoch_end(self, runner, *args, **kwargs):
        self.rows.append(self.measure(runner.model))
