"""What every operator-learning dataset shares: a frozen config that generates it.

A dataset is a pure function of its config: ``generate_dataset(config)`` gives the
same numbers on every call, in any chunking, on any device (up to rounding), because
sample i is drawn from its own seed (:func:`~.random_functions.sample_seed`). The
result is an ``xarray.Dataset`` with dims ``sample``, ``x`` [, ``y``] [, ``t``] and
the config (JSON) in its attrs; the on-disk cache (:mod:`explorer.io.dataset_cache`)
keys files by the config's hash.

Two kinds:
    ``"map"``: an input function ``a`` and an output ``u`` (e.g. u₀ ↦ u(T));
    ``"trajectory"``: one field ``u`` along ``t`` (t = 0 included): the pairs
    u(tₖ) ↦ u(tₖ₊₁) train a time stepper, the whole ``t`` axis tests its rollout.
"""

from __future__ import annotations

import abc
import dataclasses
import hashlib
import json
from collections.abc import Callable
from typing import Any, ClassVar, Literal

import torch
import xarray as xr
from torch import Tensor

from explorer._validate import check_range

__all__ = [
    "AbstractDatasetConfig",
    "DatasetKind",
    "Variables",
    "check_flag",
    "default_device",
    "generate_chunk",
    "generate_dataset",
]

DatasetKind = Literal["map", "trajectory"]
Variables = dict[str, tuple[tuple[str, ...], Tensor]]
"""Data variables of a chunk: name -> (dims, tensor with a leading sample axis)."""

_DTYPES = {"float32": torch.float32, "float64": torch.float64}


def check_flag(config: object, name: str) -> None:
    """Refuse a non-bool flag, naming the config field."""
    value = getattr(config, name)
    if not isinstance(value, bool):
        raise ValueError(
            f"{type(config).__name__}.{name} = {value!r} is not allowed; "
            "allowed: True, False"
        )


def default_device() -> torch.device:
    """CUDA when present, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


class AbstractDatasetConfig(abc.ABC):
    """A frozen dataclass that states one dataset family's physics and sizes.

    Concrete configs define the fields ``resolution`` (grid points per dimension),
    ``n_samples``, ``seed`` and ``dtype`` (``"float32"`` or ``"float64"``: the
    stored values; solves always run in float64) besides their physical parameters.
    """

    family: ClassVar[str]
    kind: ClassVar[DatasetKind]
    #: Version of the family's generator, part of the cache key: bump it when a
    #: config's numbers change, so files cached by the older code are rebuilt,
    #: never loaded as if they were the new data.
    generator: ClassVar[int] = 1
    #: (field, lo, hi) checked by :meth:`check`; subclasses extend it.
    BOUNDS: ClassVar[tuple[tuple[str, float, float], ...]] = ()

    resolution: int
    n_samples: int
    seed: int
    dtype: str

    # ---- what a family implements ---------------------------------------------------
    @abc.abstractmethod
    def coords(self) -> dict[str, Tensor]:
        """Coordinates of the output grid (``x`` [, ``y``] [, ``t``]), float64."""

    @abc.abstractmethod
    def solve_chunk(self, indices: range, device: torch.device) -> Variables:
        """The samples ``indices``: float64 tensors on ``device``."""

    def subsample_factor(self, finer: int) -> int | None:
        """f such that every f-th point of a grid of ``finer`` points is this grid.

        Periodic grids x_j = j/n: f = finer/n when it divides (vertex grids that
        include both ends override this).
        """
        if finer > self.resolution and finer % self.resolution == 0:
            return finer // self.resolution
        return None

    # ---- shared -------------------------------------------------------------------
    def check(self) -> None:
        """Refuse out-of-range fields with a message naming field, value and range."""
        name = type(self).__name__
        bounds = (
            ("n_samples", 1, 10**6),
            ("seed", 0, 2**31 - 1),
            *self.BOUNDS,
        )
        for field, lo, hi in bounds:
            check_range(f"{name}.{field}", getattr(self, field), lo, hi)
        if self.dtype not in _DTYPES:
            raise ValueError(
                f"{name}.dtype = {self.dtype!r} is not allowed; allowed: "
                + ", ".join(repr(d) for d in _DTYPES)
            )

    def to_dict(self) -> dict[str, Any]:
        """The fields as JSON types, with the family name."""
        return {"family": self.family, **dataclasses.asdict(self)}  # type: ignore[call-overload]

    def _keyed(self) -> dict[str, Any]:
        return {**self.to_dict(), "generator": self.generator}

    def to_json(self) -> str:
        """Canonical JSON (sorted keys) of the fields and the generator version:
        the thing that is hashed and stored with a dataset."""
        return json.dumps(self._keyed(), sort_keys=True)

    def config_hash(self) -> str:
        """sha256 of :meth:`to_json`, hex."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()

    def family_key(self) -> str:
        """Hash of the config with ``resolution`` left out (finer files share it)."""
        d = self._keyed()
        d["resolution"] = None
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()

    def with_resolution(self, resolution: int) -> AbstractDatasetConfig:
        """The same dataset on another grid."""
        return dataclasses.replace(self, resolution=resolution)  # type: ignore[type-var]

    @property
    def torch_dtype(self) -> torch.dtype:
        return _DTYPES[self.dtype]


def _to_dataset(
    config: AbstractDatasetConfig, variables: Variables, indices: range
) -> xr.Dataset:
    coords: dict[str, Any] = {k: v.cpu().numpy() for k, v in config.coords().items()}
    coords["sample"] = list(indices)
    data = {
        name: (("sample", *dims), t.to(config.torch_dtype).cpu().numpy())
        for name, (dims, t) in variables.items()
    }
    ds = xr.Dataset(data, coords=coords)
    ds.attrs.update(
        family=config.family,
        kind=config.kind,
        config=config.to_json(),
        resolution=config.resolution,
    )
    return ds


def generate_dataset(
    config: AbstractDatasetConfig,
    *,
    start: int = 0,
    stop: int | None = None,
    device: str | torch.device | None = None,
    chunk_size: int = 64,
    progress: Callable[[int, int], None] | None = None,
) -> xr.Dataset:
    """Generate samples ``start .. stop − 1`` of ``config`` in memory.

    Args:
        config: the dataset.
        start, stop: the sample range (default: all ``n_samples``).
        device: where the solves run (default: CUDA when present).
        chunk_size: samples solved together (memory ~ chunk × grid).
        progress: called with (samples done, samples asked) after each chunk; an
            exception it raises stops the generation.

    Returns:
        The Dataset (dims ``sample``, grid dims), its config in ``attrs["config"]``.
    """
    config.check()
    stop = config.n_samples if stop is None else stop
    if not 0 <= start < stop <= config.n_samples:
        raise ValueError(
            f"sample range {start}..{stop} is not allowed; allowed: "
            f"0 <= start < stop <= n_samples = {config.n_samples}"
        )
    if chunk_size < 1:
        raise ValueError(f"chunk_size = {chunk_size!r}; allowed: >= 1")
    dev = default_device() if device is None else torch.device(device)
    parts = []
    for lo in range(start, stop, chunk_size):
        idx = range(lo, min(lo + chunk_size, stop))
        parts.append(_to_dataset(config, config.solve_chunk(idx, dev), idx))
        if progress is not None:
            progress(idx.stop - start, stop - start)
    if len(parts) == 1:
        return parts[0]
    return xr.concat(parts, dim="sample", data_vars="minimal", combine_attrs="override")


def generate_chunk(
    config: AbstractDatasetConfig, indices: range, device: torch.device
) -> xr.Dataset:
    """One chunk as a Dataset (what the cache stores while it generates)."""
    config.check()
    return _to_dataset(config, config.solve_chunk(indices, device), indices)
