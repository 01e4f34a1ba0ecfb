"""ST-SepNet (KDD'25): language-model temporal branch with LoRA, hypergraph spatial branch, fusion gates."""
from .gates import GATES, AttentionGate, FusionGate, LSTMGate, SigmoidGate, build_gate
from .llm import LM_ARCHITECTURES, FrozenLanguageModel, LMArchitecture, default_llm_path, resolve_llm_path
from .lora import LoRALinear
from .model import PUBLISHED, VARIANTS, STSepNet, STSepNetConfig, Variant
from .patching import PatchEmbedding
from .prompt import PromptPrefix, series_statistics
from .reprogramming import Reprogramming, TextPrototypes
from .temporal import INPUT_MODES, TemporalBranch

__all__ = [
    "GATES", "INPUT_MODES", "PUBLISHED", "LM_ARCHITECTURES", "VARIANTS", "AttentionGate", "FrozenLanguageModel", "FusionGate",
    "LMArchitecture", "LSTMGate", "LoRALinear", "PatchEmbedding", "PromptPrefix", "Reprogramming", "STSepNet",
    "STSepNetConfig", "SigmoidGate", "TemporalBranch", "TextPrototypes", "Variant", "build_gate",
    "default_llm_path", "resolve_llm_path", "series_statistics",
]
