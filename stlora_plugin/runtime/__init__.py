"""Glue between this package's models and BasicTS 1.1: protocol, scaler, callbacks, graphs, results."""
from .adjacency import ADJ_KINDS, chebyshev_basis, load_adjacency, load_supports, normalize_adjacency
from .callbacks import AuxiliaryLoss, EarlyStopping, FlushSubnormals, RankZeroEvaluation
from .configfile import load_config_file
from .launch import launch_training
from .optim import (NodeGroupAdam, NodeGroupAdamW, in_node_group, is_node_specific, mark_node_factor,
                    mark_node_specific, split_node_groups)
from .paths import dataset_dir, datasets_root, read_meta
from .protocol import benchmark_config, fill_dataset_fields
from .results import find_run_dir, format_metrics, last_checkpoint_epoch, read_test_metrics, read_training_log
from .scaler import GlobalZScoreScaler, OwnStatisticsScaler

__all__ = [
    "ADJ_KINDS", "AuxiliaryLoss", "EarlyStopping", "FlushSubnormals", "GlobalZScoreScaler", "NodeGroupAdam",
    "NodeGroupAdamW", "OwnStatisticsScaler", "RankZeroEvaluation", "benchmark_config", "chebyshev_basis", "dataset_dir",
    "datasets_root", "fill_dataset_fields", "find_run_dir", "format_metrics", "in_node_group", "is_node_specific",
    "last_checkpoint_epoch", "launch_training", "load_adjacency", "load_config_file", "load_supports", "mark_node_factor",
    "mark_node_specific", "normalize_adjacency", "read_meta", "read_test_metrics", "read_training_log",
    "split_node_groups",
]
