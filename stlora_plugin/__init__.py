"""stlora-plugin: ST-LoRA node-specific adapters, spatio-temporal backbones and ST-SepNet for BasicTS."""
from .adapters import (NodeAdaptiveLowRankLinear, NodeSpecificPredictor, STLoRAFusion, core_spread, load_adapter,
                       load_backbone_checkpoint, parameter_report, save_adapter, st_lora)

__all__ = [
    "NodeAdaptiveLowRankLinear", "NodeSpecificPredictor", "STLoRAFusion", "core_spread", "load_adapter",
    "load_backbone_checkpoint", "parameter_report", "save_adapter", "st_lora",
]
