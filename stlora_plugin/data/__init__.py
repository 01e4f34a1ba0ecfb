"""Raw traffic files -> BasicTS dataset folders, and the built-in synthetic dataset."""
from .derive import derive_dataset, period_dataset, step_times
from .formats import FORMATS, RawDataset, prepare
from .readers import RawDataError
from .synthetic import SYNTHETIC_NAME, generate_synthetic
from .writer import PreparedDataset, make_timestamps, split_lengths, write_dataset

__all__ = ["FORMATS", "PreparedDataset", "RawDataError", "RawDataset", "SYNTHETIC_NAME", "derive_dataset",
           "generate_synthetic", "make_timestamps", "period_dataset", "prepare", "split_lengths", "step_times",
           "write_dataset"]
