"""ST-LoRA: node-adaptive low-rank layers, node-specific predictors, their fusion with a backbone, the
``st_lora`` decorator, adapter checkpoints, parameter reports and the parameter-count formula and budget."""
from .budget import BudgetChoice, adapter_formula, choose_by_budget, formula_count, split_formula
from .checkpoint import load_adapter, load_backbone_checkpoint, save_adapter
from .config import HYPERPARAMETERS, PRESETS
from .decorator import st_lora
from .fusion import STLoRAFusion
from .nall import NodeAdaptiveLowRankLinear
from .predictor import NodeSpecificPredictor
from .report import ParameterReport, ParameterReportCallback, core_spread, parameter_report

__all__ = [
    "BudgetChoice", "HYPERPARAMETERS", "NodeAdaptiveLowRankLinear", "NodeSpecificPredictor", "PRESETS",
    "ParameterReport", "ParameterReportCallback", "STLoRAFusion", "adapter_formula", "choose_by_budget",
    "core_spread", "formula_count", "load_adapter", "load_backbone_checkpoint", "parameter_report", "save_adapter",
    "split_formula", "st_lora",
]
