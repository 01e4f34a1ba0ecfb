"""The six backbones of the ST-LoRA paper as BasicTS 1.x models (BasicTS 1.1 ships none of them)."""
from .agcrn import AGCRN, AGCRNConfig
from .d2stgnn import D2STGNN, D2STGNNConfig
from .gwnet import GWNet, GWNetConfig
from .lstm import LSTM, LSTMConfig
from .staeformer import STAEformer, STAEformerConfig
from .stgcn import STGCN, STGCNConfig

__all__ = ["AGCRN", "AGCRNConfig", "D2STGNN", "D2STGNNConfig", "GWNet", "GWNetConfig", "LSTM", "LSTMConfig",
           "STAEformer", "STAEformerConfig", "STGCN", "STGCNConfig"]
