"""Saving and loading xarray results (solutions, histories) as netCDF."""

from __future__ import annotations

import os
from pathlib import Path

import xarray as xr

from explorer.io.atomic import atomic_path, check_writable

__all__ = ["load_dataset", "save_dataset"]


def save_dataset(ds: xr.Dataset, path: str | os.PathLike) -> Path:
    """Write ``ds`` to ``path`` as netCDF-4 (h5netcdf), atomically."""
    target = check_writable(path)
    with atomic_path(target) as tmp:
        ds.to_netcdf(tmp, engine="h5netcdf")
    return target


def load_dataset(path: str | os.PathLike) -> xr.Dataset:
    """Read a netCDF file written by :func:`save_dataset` into memory."""
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"file {str(p)!r} does not exist")
    try:
        with xr.open_dataset(p, engine="h5netcdf") as ds:
            return ds.load()
    except (OSError, ValueError) as err:
        raise ValueError(
            f"file {str(p)!r} is not a readable netCDF file: {err}"
        ) from None
