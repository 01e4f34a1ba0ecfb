"""Glue between this package's models and BasicTS 1.1: protocol, scaler, callbacks, graphs, results."""
from .adjacency import ADJ_KINDS, chebyshev_basis, load_adjacency, load_supports, normalize_adjacency
from .callbacks import AuxiliaryLoss
from .paths import dataset_dir, datasets_root, read_meta
from .protocol import benchmark_config, fill_dataset_fields
from .results import find_run_dir, read_test_metrics
from .scaler import GlobalZScoreScaler

__all__ = [
    "ADJ_KINDS", "AuxiliaryLoss", "GlobalZScoreScaler", "benchmark_config", "chebyshev_basis", "dataset_dir",
    "datasets_root", "fill_dataset_fields", "find_run_dir", "load_adjacency", "load_supports",
    "normalize_adjacency", "read_meta", "read_test_metrics",
]
