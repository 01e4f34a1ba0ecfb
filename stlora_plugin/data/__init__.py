"""Raw traffic files -> BasicTS dataset folders, and the built-in synthetic dataset."""
from .synthetic import SYNTHETIC_NAME, generate_synthetic
from .writer import PreparedDataset, make_timestamps, split_lengths, write_dataset

__all__ = ["PreparedDataset", "SYNTHETIC_NAME", "generate_synthetic", "make_timestamps", "split_lengths",
           "write_dataset"]
