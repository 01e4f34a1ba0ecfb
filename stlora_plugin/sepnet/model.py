"""ST-SepNet / STH-SepNet as a BasicTS 1.x model.

Chen et al., KDD'25, "Decoupling Spatio-Temporal Prediction: When Lightweight Large Models Meet Adaptive
Hypergraphs". Time and space are modelled by separate branches and fused by a gate:

    Y_t = Temporal(X)       frozen lightweight language model with LoRA over reprogrammed patches
    Y_s = Spatial(X)        adaptive hypergraph network (k-NN hyperedges on learned node embeddings)
    Y   = g * Y_t + (1 - g) * Y_s     g from a sigmoid, attention or LSTM gate

The paper's variants (:data:`VARIANTS`): ``llm_only`` (Time-LLM style, no spatial branch), ``static``
(graph convolution on the dataset's road graph), ``gnn`` (adaptive graph), ``hypergraph`` (the full model,
adaptive hypergraph) and ``no_llm`` (spatial branch only).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional

import torch
from basicts.configs import BasicTSModelConfig
from torch import nn

from hypergraph import HYPERGRAPH_CONVS, SpatialNetwork
from stlora_plugin.runtime import load_adjacency

from .gates import GATES, build_gate
from .llm import FrozenLanguageModel
from .temporal import INPUT_MODES, TemporalBranch

__all__ = ["PUBLISHED", "STSepNet", "STSepNetConfig", "Variant", "VARIANTS"]


@dataclass(frozen=True)
class Variant:
    """Which branches a variant builds: the temporal (LLM) one, and the spatial network's kind (or None,
    ``hypergraph.VARIANTS``); ``name``: what the comparison commands call it (``zoo.SEPNET``)."""

    temporal: bool
    spatial: Optional[str]
    name: str


#: The paper's variants: the one table the model, the zoo's names and the comparison commands read.
VARIANTS = {
    "llm_only": Variant(temporal=True, spatial=None, name="STSepNet-LLM"),
    "static": Variant(temporal=True, spatial="static", name="STSepNet-static"),
    "gnn": Variant(temporal=True, spatial="gnn", name="STSepNet-GNN"),
    "hypergraph": Variant(temporal=True, spatial="hypergraph", name="STSepNet"),
    "no_llm": Variant(temporal=False, spatial="hypergraph", name="STSepNet-noLLM"),
}


#: The published model settings (jiawenchen10/ST-SepNet: ``run_main.py`` defaults and ``scripts/BIKE/*.sh``):
#: the mean series as temporal input, Time-LLM patching (16, stride 8), 1000 text prototypes, 8 reprogramming
#: heads of d_ff = 32 keys, patch embedding 768 wide, hyperedges of order 3 mixed half and half with the graph.
#: Its training settings (48 -> 48, Adam 1e-4, batch 16, 50 epochs, [5, 20, 40, 70] x 0.3) are in
#: ``zoo.SEPNET_PUBLISHED_TRAINING``.
PUBLISHED = {"input_mode": "mean", "patch_len": 16, "stride": 8, "d_model": 768, "num_heads": 8, "head_dim": 32,
             "num_prototypes": 1000, "d_ff": 32, "hyperedge_order": 3, "gamma": 0.5}


@dataclass
class STSepNetConfig(BasicTSModelConfig):
    """Config of :class:`STSepNet`; ``num_nodes`` and ``dataset`` are filled by ``benchmark_config``."""

    num_nodes: Optional[int] = field(default=None, metadata={"help": "Number of nodes N (None: from the dataset)."})
    input_len: int = field(default=12, metadata={"help": "Input window L (overwritten by the top-level config)."})
    output_len: int = field(default=12, metadata={"help": "Horizon H (overwritten by the top-level config)."})
    dataset: Optional[str] = field(default=None, metadata={
        "help": "Dataset name or folder holding adj_mx.pkl; needed by the 'static' variant."})
    variant: str = field(default="hypergraph", metadata={"help": f"One of {sorted(VARIANTS)}."})
    gate: str = field(default="sigmoid", metadata={"help": f"Fusion gate, one of {sorted(GATES)}."})
    gate_hidden: int = field(default=32, metadata={"help": "Hidden size of the fusion gate."})
    llm_path: Optional[str] = field(default=None, metadata={
        "help": "Local Hugging Face model folder (BERT, GPT-2, LLaMA, Qwen2); None: bundled all-MiniLM-L6-v2."})
    llm_layers: Optional[int] = field(default=None, metadata={
        "help": "Leading language-model blocks to keep (None: all)."})
    lora_rank: int = field(default=8, metadata={"help": "LoRA rank r."})
    lora_alpha: float = field(default=16.0, metadata={"help": "LoRA scale numerator (update scaled by alpha / r)."})
    lora_dropout: float = field(default=0.05, metadata={"help": "Dropout on the LoRA adapters' input."})
    lora_targets: Optional[List[str]] = field(default=None, metadata={
        "help": "Projections to adapt, dotted paths inside one block (None: the architecture table's choice)."})
    input_mode: str = field(default="per_node", metadata={
        "help": f"Temporal branch input, one of {INPUT_MODES}: each node alone, nodes pooled to channels, or the "
                "mean over nodes (the published code's; its forecast goes to every node)."})
    pooled_channels: int = field(default=8, metadata={"help": "Channels C of the 'pooled' input mode."})
    patch_len: int = field(default=4, metadata={"help": "Patch length in steps."})
    stride: int = field(default=2, metadata={"help": "Patch stride in steps."})
    d_model: int = field(default=32, metadata={"help": "Patch embedding size."})
    num_heads: int = field(default=4, metadata={"help": "Heads of the reprogramming attention."})
    head_dim: int = field(default=16, metadata={"help": "Size per head of the reprogramming attention."})
    num_prototypes: int = field(default=100, metadata={"help": "Text prototypes S mapped from the vocabulary."})
    d_ff: int = field(default=32, metadata={"help": "Per-patch size of the language-model output fed to the head."})
    prompt: Optional[str] = field(default=None, metadata={
        "help": "Dataset description prepended as tokens (tokenized once); None: no description."})
    prompt_stats: bool = field(default=True, metadata={"help": "Prepend min/max/median/trend tokens."})
    time_token: bool = field(default=True, metadata={"help": "Prepend a time-of-day/day-of-week token."})
    day_of_week: bool = field(default=True, metadata={
        "help": "The time token includes the day of week (False: time of day only; for data whose validation or "
                "test hold days of week that training never does)."})
    hyperedge_order: int = field(default=3, metadata={"help": "Hyperedge order k (k nearest nodes per hyperedge)."})
    gamma: float = field(default=0.5, metadata={
        "help": "Graph share of the spatial propagation in [0, 1] (variant 'hypergraph'): 0 hypergraph only, "
                "0.5 mix-order, 1 graph only; the start of a learned share per layer when gamma_learnable."})
    gamma_learnable: bool = field(default=True, metadata={
        "help": "Learn the graph share per layer from gamma (then gamma in (0, 1)), or keep gamma fixed."})
    hypergraph_conv: str = field(default="conv", metadata={
        "help": f"Hypergraph convolution, one of {sorted(HYPERGRAPH_CONVS)} (HGNN, hypergraph attention, SAGE)."})
    spatial_hidden: int = field(default=32, metadata={"help": "Hidden size of the spatial network."})
    spatial_embed: int = field(default=16, metadata={"help": "Node-embedding size of the spatial network."})
    spatial_layers: int = field(default=2, metadata={"help": "Layers of the spatial network."})
    dropout: float = field(default=0.1, metadata={"help": "Dropout in both branches."})

    def __post_init__(self):
        self.validate()

    def validate(self) -> None:
        """Raise ValueError naming the first field with a value outside what is allowed."""
        choices = {"variant": VARIANTS, "gate": GATES, "input_mode": INPUT_MODES, "hypergraph_conv": HYPERGRAPH_CONVS}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name}={getattr(self, name)!r} is not allowed; choose one of {sorted(allowed)}")
        positive = ("input_len", "output_len", "gate_hidden", "lora_rank", "pooled_channels", "patch_len",
                    "stride", "d_model", "num_heads", "head_dim", "num_prototypes", "d_ff", "hyperedge_order",
                    "spatial_hidden", "spatial_embed", "spatial_layers")
        for name in positive + ("num_nodes", "llm_layers"):
            value = getattr(self, name)
            if value is None and name in ("num_nodes", "llm_layers"):
                continue
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        for name in ("lora_dropout", "dropout"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {getattr(self, name)!r}")
        if not 0.0 <= self.gamma <= 1.0 or (self.gamma_learnable and self.gamma in (0.0, 1.0)):
            raise ValueError(f"gamma must be in [0, 1], and in (0, 1) when gamma_learnable (a learned share never "
                             f"reaches 0 or 1), got gamma={self.gamma!r}, gamma_learnable={self.gamma_learnable}")
        if self.lora_alpha <= 0:
            raise ValueError(f"lora_alpha must be > 0, got {self.lora_alpha!r}")
        if self.spatial_hidden % 4:
            raise ValueError(f"spatial_hidden must be divisible by 4 (the spatial network splits it over four "
                             f"inception kernels), got {self.spatial_hidden}")
        if self.num_nodes is not None and self.hyperedge_order > self.num_nodes:
            raise ValueError(f"hyperedge_order must be <= num_nodes={self.num_nodes}, got {self.hyperedge_order}")
        if self.patch_len > self.input_len + self.stride:
            raise ValueError(f"patch_len={self.patch_len} is longer than input_len + stride = "
                             f"{self.input_len + self.stride}; choose a shorter patch_len")


class STSepNet(nn.Module):
    """ST-SepNet: language-model temporal branch + hypergraph spatial branch + fusion gate.

    Shapes:
        inputs ``[B, L, N]``, inputs_timestamps ``[B, L, 2]`` (time of day, day of week in [0, 1))
        -> prediction ``[B, H, N]``.
    """

    Config = STSepNetConfig

    def __init__(self, config: STSepNetConfig):
        super().__init__()
        config.validate()  # input_len / output_len / num_nodes may have been set after construction
        if config.num_nodes is None:
            raise ValueError("num_nodes is None; set it, or build the run with benchmark_config, which fills it "
                             "from the dataset")
        if config.variant == "static" and config.dataset is None:
            raise ValueError("variant='static' needs dataset=<name or folder with adj_mx.pkl>; got dataset=None")
        self.config = config
        self.num_nodes, self.input_len, self.output_len = config.num_nodes, config.input_len, config.output_len
        variant = VARIANTS[config.variant]

        self.temporal = None
        if variant.temporal:
            lm = FrozenLanguageModel(config.llm_path, llm_layers=config.llm_layers, lora_rank=config.lora_rank,
                                     lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
                                     lora_targets=config.lora_targets)
            self.temporal = TemporalBranch(
                lm, num_nodes=config.num_nodes, input_len=config.input_len, output_len=config.output_len,
                input_mode=config.input_mode, num_channels=config.pooled_channels, patch_len=config.patch_len,
                stride=config.stride, d_model=config.d_model, num_heads=config.num_heads,
                head_dim=config.head_dim, num_prototypes=config.num_prototypes, d_ff=config.d_ff,
                prompt=config.prompt, prompt_stats=config.prompt_stats, time_token=config.time_token,
                day_of_week=config.day_of_week, dropout=config.dropout)

        self.spatial = None
        if variant.spatial is not None:
            adjacency = None
            if variant.spatial == "static":
                adjacency = torch.from_numpy(load_adjacency(config.dataset))  # [N, N]
                if adjacency.shape[0] != config.num_nodes:
                    raise ValueError(f"the graph of dataset '{config.dataset}' has {adjacency.shape[0]} nodes but "
                                     f"num_nodes={config.num_nodes}")
            self.spatial = SpatialNetwork(
                config.num_nodes, config.input_len, config.output_len, variant=variant.spatial,
                adjacency=adjacency, hidden_dim=config.spatial_hidden, embed_dim=config.spatial_embed,
                num_layers=config.spatial_layers, k=config.hyperedge_order, dropout=config.dropout,
                gamma=config.gamma, gamma_learnable=config.gamma_learnable, hypergraph_conv=config.hypergraph_conv)

        both = self.temporal is not None and self.spatial is not None
        self.gate = build_gate(config.gate, config.output_len, config.gate_hidden) if both else None

    def extra_repr(self) -> str:
        return f"variant={self.config.variant!r}, gate={self.config.gate if self.gate is not None else None!r}"

    @property
    def lm(self) -> Optional[FrozenLanguageModel]:
        """The frozen language model of the temporal branch (None for ``no_llm``)."""
        return None if self.temporal is None else self.temporal.lm

    def forward(self, inputs: torch.Tensor, inputs_timestamps: Optional[torch.Tensor] = None) -> torch.Tensor:
        if inputs.ndim != 3 or inputs.shape[1] != self.input_len or inputs.shape[2] != self.num_nodes:
            raise ValueError(f"inputs is {tuple(inputs.shape)} but the model was built for [B, {self.input_len}, "
                             f"{self.num_nodes}] (input_len, num_nodes)")
        temporal = None if self.temporal is None else self.temporal(inputs, inputs_timestamps)  # [B, H, N]
        spatial = None if self.spatial is None else self.spatial(inputs)  # [B, H, N]
        if self.gate is None:
            return temporal if spatial is None else spatial
        return self.gate(temporal, spatial)  # [B, H, N]

