"""ST-LoRA: node-adaptive low-rank layers, node-specific predictors, their fusion with a backbone, the
``st_lora`` decorator, adapter checkpoints and parameter reports."""
from .checkpoint import load_adapter, load_backbone_checkpoint, save_adapter
from .config import HYPERPARAMETERS, PRESETS
from .decorator import st_lora
from .fusion import STLoRAFusion
from .nall import NodeAdaptiveLowRankLinear
from .predictor import NodeSpecificPredictor
from .report import ParameterReport, ParameterReportCallback, core_spread, parameter_report

__all__ = [
    "HYPERPARAMETERS", "NodeAdaptiveLowRankLinear", "NodeSpecificPredictor", "PRESETS", "ParameterReport",
    "ParameterReportCallback", "STLoRAFusion", "core_spread", "load_adapter", "load_backbone_checkpoint",
    "parameter_report", "save_adapter", "st_lora",
]
