"""Checkpoints of ST-LoRA models: backbone checkpoints in, adapter-only files out and in.

Parameter-efficient fine-tuning (ST-LoRA, Ruan et al. 2024): train a backbone, freeze it
(``stlora_freeze_backbone=True``), train only the adapter. A wrapped model's state dict is the backbone's
keys unchanged plus ``st_lora.*``, so:

- :func:`load_backbone_checkpoint` loads a BasicTS checkpoint (``{"model_state_dict": ...}`` or a bare
  state dict, loaded with ``weights_only=True``), logs missing and unexpected keys, and refuses (``KeyError``)
  when a backbone key is missing, where BasicTS's ``strict_load=False`` would stay silent.
- BasicTS's own ``finetune_from`` also works: a post-load hook (:func:`backbone_checkpoint_hook`) recognises
  a backbone-only state dict (no ``st_lora.*`` key at all), keeps the adapter's initialisation and removes
  those keys from the missing list, so even ``strict_load=True`` accepts it while a missing backbone key
  still fails. Every mismatch is logged.
- :func:`save_adapter` / :func:`load_adapter` write and read ``adapter.safetensors`` (the ``st_lora.*`` tensors
  only: kilobytes) and ``adapter_config.json``. Loading uses safetensors and JSON only, never pickle.
"""
from __future__ import annotations

import json
import logging
import os
import warnings
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from .config import HYPERPARAMETERS

__all__ = ["ADAPTER_ATTR", "ADAPTER_FILE", "CONFIG_FILE", "backbone_checkpoint_hook", "load_adapter",
           "load_backbone_checkpoint", "save_adapter"]

logger = logging.getLogger(__name__)

ADAPTER_ATTR = "st_lora"
ADAPTER_FILE = "adapter.safetensors"
CONFIG_FILE = "adapter_config.json"
FORMAT_VERSION = 1
#: Hyperparameters that decide the adapter's tensors or its function; they must match when loading.
STRUCTURAL = ("rank", "alpha", "num_predictors", "num_layers", "hidden_size", "core", "fusion", "activation",
              "input_activation")

_PREFIX = ADAPTER_ATTR + "."


def _require_wrapped(model) -> None:
    if not hasattr(type(model), "stlora_backbone"):
        raise TypeError(f"expected a model made by st_lora, got {type(model).__qualname__}")


def backbone_checkpoint_hook(module, incompatible) -> None:
    """Post-load hook: accept a backbone-only state dict, and log every mismatch."""
    adapter_missing = [k for k in incompatible.missing_keys if k.startswith(_PREFIX)]
    adapter_total = sum(1 for _ in getattr(module, ADAPTER_ATTR).state_dict())
    if adapter_missing and len(adapter_missing) == adapter_total:
        for key in adapter_missing:
            incompatible.missing_keys.remove(key)
        logger.info("loaded a backbone-only state dict into %s: the adapter keeps its initialisation (%d keys)",
                    type(module).__qualname__, adapter_total)
    if incompatible.missing_keys:
        logger.warning("state dict for %s lacks %d keys: %s", type(module).__qualname__,
                       len(incompatible.missing_keys), incompatible.missing_keys)
    if incompatible.unexpected_keys:
        logger.warning("state dict for %s has %d unexpected keys: %s", type(module).__qualname__,
                       len(incompatible.unexpected_keys), incompatible.unexpected_keys)


def _strip(state: dict, prefix: str) -> dict:
    if state and all(k.startswith(prefix) for k in state):
        return {k[len(prefix):]: v for k, v in state.items()}
    return state


def load_backbone_checkpoint(model, path: str | os.PathLike) -> dict[str, list[str]]:
    """Load a (BasicTS) checkpoint into a wrapped model; ``KeyError`` if any backbone key is missing.

    Returns ``{"missing_adapter_keys": [...], "unexpected_keys": [...]}``; both are also logged.
    """
    _require_wrapped(model)
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    state = checkpoint.get("model_state_dict", checkpoint) if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict):
        raise ValueError(f"{path} holds {type(checkpoint).__name__}; expected a state dict or a BasicTS checkpoint "
                         "with 'model_state_dict'")
    for prefix in ("module.", "_orig_mod."):  # saved from DDP or torch.compile wrappers
        state = _strip(state, prefix)
    own = model.state_dict()
    backbone_missing = [k for k in own if not k.startswith(_PREFIX) and k not in state]
    if backbone_missing:
        raise KeyError(f"{path} lacks {len(backbone_missing)} backbone keys of {type(model).__qualname__}: "
                       f"{backbone_missing[:10]}{' ...' if len(backbone_missing) > 10 else ''}; it is not a "
                       f"checkpoint of {model.stlora_backbone.__qualname__} with this config")
    unexpected = [k for k in state if k not in own]
    model.load_state_dict({k: v for k, v in state.items() if k in own}, strict=False)
    if unexpected:
        logger.warning("%s: ignored %d unexpected keys: %s", path, len(unexpected), unexpected)
    adapter_missing = [k for k in own if k.startswith(_PREFIX) and k not in state]
    logger.info("%s: loaded %d backbone keys into %s; adapter %s", path, len(own) - sum(
        k.startswith(_PREFIX) for k in own), type(model).__qualname__,
        "keeps its initialisation" if adapter_missing else "loaded from the checkpoint too")
    return {"missing_adapter_keys": adapter_missing, "unexpected_keys": unexpected}


def _adapter_config(model) -> dict:
    num_nodes, input_len, output_len = model.stlora_dims
    cls = type(model)
    return {"format_version": FORMAT_VERSION, "model": f"{cls.__module__}.{cls.__qualname__}",
            "backbone": f"{cls.stlora_backbone.__module__}.{cls.stlora_backbone.__qualname__}",
            "num_nodes": num_nodes, "input_len": input_len, "output_len": output_len,
            "hyperparameters": dict(model.stlora_hparams)}


def save_adapter(model, folder: str | os.PathLike) -> Path:
    """Write the adapter's tensors (``adapter.safetensors``) and settings (``adapter_config.json``) to ``folder``."""
    _require_wrapped(model)
    if any(p.requires_grad for n, p in model.named_parameters() if not n.startswith(_PREFIX)):
        warnings.warn("the backbone of this model is trainable (stlora_freeze_backbone=False): if it was trained "
                      "together with the adapter, the adapter alone will not reproduce the predictions on the "
                      "original backbone checkpoint; save the full model checkpoint too", stacklevel=2)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in getattr(model, ADAPTER_ATTR).state_dict().items()}
    save_file(tensors, str(folder / ADAPTER_FILE), metadata={"format": "stlora-adapter",
                                                             "version": str(FORMAT_VERSION)})
    with open(folder / CONFIG_FILE, "w", encoding="utf-8") as f:
        json.dump(_adapter_config(model), f, indent=2)
    logger.info("saved the adapter of %s (%d tensors) to %s", type(model).__qualname__, len(tensors), folder)
    return folder


def load_adapter(model, folder: str | os.PathLike) -> None:
    """Load an adapter written by :func:`save_adapter` into ``model`` (safetensors + JSON, no pickle)."""
    _require_wrapped(model)
    folder = Path(folder)
    with open(folder / CONFIG_FILE, encoding="utf-8") as f:
        saved = json.load(f)
    if saved.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"{folder / CONFIG_FILE} has format_version={saved.get('format_version')!r}; this "
                         f"version of stlora_plugin reads {FORMAT_VERSION}")
    ours = _adapter_config(model)
    differ = {k: (saved.get(k), ours[k]) for k in ("num_nodes", "input_len", "output_len") if saved.get(k) != ours[k]}
    # a setting missing from an older file had its default then (e.g. fusion="gate")
    saved_hp = {k: saved["hyperparameters"].get(k, HYPERPARAMETERS[k][0]) for k in STRUCTURAL}
    differ.update({k: (saved_hp[k], ours["hyperparameters"][k]) for k in STRUCTURAL
                   if saved_hp[k] != ours["hyperparameters"][k]})
    if differ:
        raise ValueError(f"the adapter in {folder} does not fit this {type(model).__qualname__}; (saved, model) "
                         f"values that differ: {differ}")
    if saved["backbone"] != ours["backbone"]:
        logger.warning("the adapter in %s was trained on %s, loading it onto %s", folder, saved["backbone"],
                       ours["backbone"])
    adapter = getattr(model, ADAPTER_ATTR)
    device = next(adapter.parameters()).device
    adapter.load_state_dict(load_file(str(folder / ADAPTER_FILE), device=str(device)), strict=True)
    logger.info("loaded the adapter in %s into %s", folder, type(model).__qualname__)
