"""Adaptive hypergraphs and hypergraph convolutions for spatio-temporal forecasting (ST-SepNet's spatial branch)."""
from .attention import HypergraphAttention
from .construction import AdaptiveHypergraph, knn_hyperedges
from .conv import HypergraphConv
from .graph_learner import GraphLearner
from .mixprop import MixProp, transition_matrix
from .sage import HypergraphSAGE
from .spatial import HYPERGRAPH_CONVS, VARIANTS, SpatialNetwork
from .static import static_hypergraph
from .structure import Hypergraph, HypergraphLayer, safe_inverse_power
from .inception import KERNEL_SIZES, DilatedInception, GatedDilatedInception

__all__ = [
    "AdaptiveHypergraph", "DilatedInception", "HYPERGRAPH_CONVS", "GatedDilatedInception", "GraphLearner",
    "Hypergraph", "HypergraphAttention", "HypergraphConv", "HypergraphLayer", "HypergraphSAGE", "KERNEL_SIZES",
    "MixProp", "SpatialNetwork", "VARIANTS", "knn_hyperedges", "safe_inverse_power", "static_hypergraph",
    "transition_matrix",
]
