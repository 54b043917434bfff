"""An on-disk cache of operator datasets, keyed by a hash of their config.

Layout under the cache root::

    <family>-<key>-r<resolution>.nc          a complete dataset (netCDF-4)
    <family>-<key>-r<resolution>.partial/    chunks of one being generated

``key`` is the hash of the config and its family's generator version, without its
resolution, so the files of one dataset at several resolutions sit side by side and
a coarse request can be served by subsampling a finer file. Every file carries its
config (JSON, with the generator version), the config's hash and a sha256 checksum
of its numbers in its attrs; a file is used only after all three check out. A
corrupt or mismatched file is reported (a :class:`CacheWarning` naming the file and
the reason) and rebuilt, never used.

Generation runs in chunks, each written atomically to the ``.partial`` folder, so an
interrupted run (an exception in the progress callback, Ctrl-C, a crash) resumes
from the completed chunks; the final file is written atomically too.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import xarray as xr

from explorer.data.operators import (
    AbstractDatasetConfig,
    default_device,
    generate_chunk,
)
from explorer.io.atomic import atomic_path

__all__ = ["CacheError", "CacheWarning", "DatasetCache", "dataset_checksum"]

Progress = Callable[[int, int], None]


class CacheError(ValueError):
    """A cached file is corrupt or does not belong to the config asked for."""


class CacheWarning(UserWarning):
    """A cached file was unusable and is being rebuilt."""


def dataset_checksum(ds: xr.Dataset) -> str:
    """sha256 over the names, dims, dtypes and bytes of all variables and coords."""
    h = hashlib.sha256()
    for name in sorted(map(str, ds.variables)):
        var = ds.variables[name]
        values = np.ascontiguousarray(var.values)
        h.update(f"{name}|{var.dims}|{values.dtype.str}|{values.shape}".encode())
        h.update(values.tobytes())
    return h.hexdigest()


def _read(path: Path) -> xr.Dataset:
    try:
        with xr.open_dataset(path, engine="h5netcdf") as ds:
            return ds.load()
    except Exception as exc:  # h5py raises OSError, KeyError, ValueError...
        raise CacheError(
            f"{str(path)!r} is not a readable netCDF file ({exc})"
        ) from exc


def _write(ds: xr.Dataset, path: Path) -> None:
    ds = ds.copy()
    ds.attrs["checksum"] = dataset_checksum(ds)
    with atomic_path(path) as tmp:
        ds.to_netcdf(tmp, engine="h5netcdf")


def _check(ds: xr.Dataset, config: AbstractDatasetConfig, path: Path) -> None:
    where = f"cached dataset {str(path)!r}"
    stored = ds.attrs.get("config")
    if stored != config.to_json():
        raise CacheError(
            f"{where} was made by another config (stored {stored!r}, asked "
            f"{config.to_json()!r})"
        )
    if ds.attrs.get("config_hash") != config.config_hash():
        raise CacheError(f"{where}: its config hash does not match its config")
    checksum = ds.attrs.get("checksum")
    if checksum != dataset_checksum(ds):
        raise CacheError(f"{where}: checksum mismatch (the numbers were altered)")


class DatasetCache:
    """Datasets on disk under ``root``, generated on first use.

    Args:
        root: the cache folder (created if missing).
        device: where generation runs (default: CUDA when present).
        chunk_size: samples per chunk (each chunk is one resumable unit of work).

    Example:
        >>> cache = DatasetCache(tmp_path)                        # doctest: +SKIP
        >>> ds = cache.get(BurgersDataConfig(n_samples=8), progress=bar_update)
    """

    def __init__(
        self,
        root: str | os.PathLike,
        *,
        device: str | torch.device | None = None,
        chunk_size: int = 64,
    ) -> None:
        if chunk_size < 1:
            raise ValueError(f"chunk_size = {chunk_size!r}; allowed: >= 1")
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.device = default_device() if device is None else torch.device(device)
        self.chunk_size = chunk_size

    # ---- paths ----------------------------------------------------------------------
    def path(self, config: AbstractDatasetConfig) -> Path:
        """The file of ``config`` (whether or not it exists)."""
        key = config.family_key()[:16]
        return self.root / f"{config.family}-{key}-r{config.resolution}.nc"

    def _partial(self, config: AbstractDatasetConfig) -> Path:
        return self.path(config).with_suffix(".partial")

    # ---- reading ------------------------------------------------------------------
    def load(self, config: AbstractDatasetConfig) -> xr.Dataset:
        """The cached dataset of ``config``, verified.

        Raises:
            CacheError: missing, unreadable, truncated, made by another config, or
                its checksum does not match.
        """
        path = self.path(config)
        if not path.is_file():
            raise CacheError(f"no cached dataset at {str(path)!r}")
        ds = _read(path)
        _check(ds, config, path)
        return ds

    def get(
        self,
        config: AbstractDatasetConfig,
        *,
        progress: Progress | None = None,
        subsample: bool = True,
    ) -> xr.Dataset:
        """The dataset of ``config``: from its file, from a finer one, or generated.

        Args:
            config: the dataset asked for.
            progress: called with (samples done, n_samples) as chunks complete
                (including those already on disk); an exception it raises stops
                the generation, and the next call resumes from the finished chunks.
            subsample: serve a coarse grid from a finer cached file when the grids
                nest (every f-th point); the result carries the asked config and
                ``attrs["subsampled_from"]``.
        """
        config.check()
        path = self.path(config)
        if path.exists():
            try:
                return self.load(config)
            except CacheError as err:
                warnings.warn(f"{err}; rebuilding it", CacheWarning, stacklevel=2)
                path.unlink()
        if subsample:
            finer = self._finer(config)
            if finer is not None:
                return finer
        return self._generate(config, progress)

    def _finer(self, config: AbstractDatasetConfig) -> xr.Dataset | None:
        key = config.family_key()[:16]
        candidates = []
        for p in self.root.glob(f"{config.family}-{key}-r*.nc"):
            try:
                res = int(p.stem.rsplit("-r", 1)[1])
            except ValueError:
                continue
            factor = config.subsample_factor(res)
            if factor is not None:
                candidates.append((res, factor, p))
        for res, factor, p in sorted(candidates):
            fine = config.with_resolution(res)
            try:
                ds = self.load(fine)
            except CacheError as err:
                warnings.warn(f"{err}; not using it", CacheWarning, stacklevel=3)
                continue
            dims = [d for d in ("x", "y") if d in ds.dims]
            out = ds.isel({d: slice(None, None, factor) for d in dims})
            out.attrs.update(
                config=config.to_json(),
                config_hash=config.config_hash(),
                resolution=config.resolution,
                subsampled_from=str(p.name),
            )
            out.attrs.pop("checksum", None)
            return out
        return None

    # ---- generation -----------------------------------------------------------------
    def _generate(
        self, config: AbstractDatasetConfig, progress: Progress | None
    ) -> xr.Dataset:
        partial = self._partial(config)
        partial.mkdir(exist_ok=True)
        total = config.n_samples
        parts = []
        for lo in range(0, total, self.chunk_size):
            idx = range(lo, min(lo + self.chunk_size, total))
            chunk_path = partial / f"samples-{idx.start:07d}-{idx.stop:07d}.nc"
            part = self._resume(chunk_path, config)
            if part is None:
                part = generate_chunk(config, idx, self.device)
                part.attrs["config_hash"] = config.config_hash()
                _write(part, chunk_path)
            parts.append(part)
            if progress is not None:
                progress(idx.stop, total)
        ds = (
            xr.concat(parts, dim="sample", data_vars="minimal")
            if len(parts) > 1
            else parts[0]
        )
        ds.attrs = dict(parts[0].attrs)
        ds.attrs.pop("checksum", None)
        ds.attrs["config_hash"] = config.config_hash()
        _write(ds, self.path(config))
        shutil.rmtree(partial, ignore_errors=True)
        return self.load(config)

    @staticmethod
    def _resume(path: Path, config: AbstractDatasetConfig) -> xr.Dataset | None:
        """A finished chunk, or None (missing; a damaged one is removed)."""
        if not path.exists():
            return None
        try:
            ds = _read(path)
            _check(ds, config, path)
        except CacheError as err:
            warnings.warn(f"{err}; regenerating the chunk", CacheWarning, stacklevel=4)
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            return None
        return ds

    def clear(self, config: AbstractDatasetConfig) -> None:
        """Remove the file and any partial chunks of ``config``."""
        with contextlib.suppress(FileNotFoundError):
            self.path(config).unlink()
        shutil.rmtree(self._partial(config), ignore_errors=True)
