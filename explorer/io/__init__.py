"""Files: atomic writes, netCDF results, checkpoints and run records."""

from explorer.io.atomic import atomic_path, check_writable
from explorer.io.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from explorer.io.dataset_cache import (
    CacheError,
    CacheWarning,
    DatasetCache,
    dataset_checksum,
)
from explorer.io.datasets import load_dataset, save_dataset
from explorer.io.operator_checkpoint import (
    load_operator_model,
    restore_operator_trainer,
    save_operator_checkpoint,
)
from explorer.io.run_record import load_run, save_run

__all__ = [
    "CacheError",
    "CacheWarning",
    "Checkpoint",
    "DatasetCache",
    "atomic_path",
    "check_writable",
    "dataset_checksum",
    "load_checkpoint",
    "load_dataset",
    "load_operator_model",
    "load_run",
    "restore_operator_trainer",
    "save_checkpoint",
    "save_dataset",
    "save_operator_checkpoint",
    "save_run",
]
