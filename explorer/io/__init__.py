"""Files: atomic writes, netCDF results (checkpoints and run records come later)."""

from explorer.io.atomic import atomic_path, check_writable
from explorer.io.datasets import load_dataset, save_dataset

__all__ = ["atomic_path", "check_writable", "load_dataset", "save_dataset"]
