"""Checks shared by the backbones: the BasicTS 1.x model contract made explicit.

BasicTS builds a model as ``Model(config)`` and calls ``forward(inputs [B, L, N], ...)``. Nothing in BasicTS
checks that the data matches the config, and a 1.x model receives no graph: it loads one itself from the
``dataset`` field of its config. These helpers turn the usual mismatches into errors that name the field,
the bad value and the fix, instead of a shape error deep inside an einsum.
"""
from __future__ import annotations

from typing import Optional

import torch

from stlora_plugin.runtime import load_supports
from stlora_plugin.runtime.protocol import day_index

__all__ = ["require_set", "check_positive", "check_num_nodes", "input_days", "load_graph"]

FILLED_BY = "benchmark_config fills it from the dataset"


def require_set(config, name: str, model: str):
    """The value of ``config.<name>``; a ``ValueError`` when it is still None at build time."""
    value = getattr(config, name, None)
    if value is None:
        raise ValueError(f"{model} needs {name}, but the config has {name}=None; set it, or build the run with "
                         f"stlora_plugin.runtime.benchmark_config ({FILLED_BY})")
    return value


def check_positive(config, *names: str, allow_zero: bool = False) -> None:
    """``ValueError`` for each named int field that is set but not > 0 (or >= 0 with ``allow_zero``)."""
    for name in names:
        value = getattr(config, name)
        if value is None:
            continue
        low = 0 if allow_zero else 1
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{type(config).__name__}.{name}={value!r} is not allowed; expected an int >= {low}")


def check_num_nodes(inputs: torch.Tensor, num_nodes: int, model: str) -> None:
    """``ValueError`` unless ``inputs`` is ``[B, L, N]`` with ``N == num_nodes``."""
    if inputs.dim() != 3:
        raise ValueError(f"{model} expects inputs of shape [batch, input_len, num_nodes], got {tuple(inputs.shape)}")
    if inputs.shape[-1] != num_nodes:
        raise ValueError(f"inputs has {inputs.shape[-1]} nodes but {model} was built for {num_nodes} (num_nodes); "
                         "build the model with the dataset's node count")


def load_graph(dataset: Optional[str], kind: str, num_nodes: int, model: str) -> torch.Tensor:
    """The ``[S, N, N]`` supports of ``kind`` from a prepared dataset, checked against ``num_nodes``."""
    if dataset is None:
        raise ValueError(f"{model} needs a graph but its config has dataset=None; set dataset to a prepared "
                         f"dataset name or folder holding adj_mx.pkl ({FILLED_BY} when its meta.json has_graph)")
    try:
        supports = load_supports(dataset, kind)
    except FileNotFoundError as err:
        raise FileNotFoundError(f"{model} needs a graph: {err}") from err
    if supports.shape[-1] != num_nodes:
        raise ValueError(f"the graph of dataset '{dataset}' has {supports.shape[-1]} nodes but {model} was built "
                         f"for {num_nodes} (num_nodes); use the same dataset for both")
    return supports


def input_days(inputs_timestamps: torch.Tensor, day_of_week: bool) -> torch.Tensor:
    """``[B, L]`` long: the day of week (0 = Monday) of each input step, or 0 for every step when the model reads
    no day of week (``day_of_week=False``: its day-of-week embedding is one learned vector)."""
    if not day_of_week:
        return torch.zeros(inputs_timestamps.shape[:-1], dtype=torch.long, device=inputs_timestamps.device)
    return day_index(inputs_timestamps[..., 1]).long()
