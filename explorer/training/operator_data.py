"""Operator datasets as tensors: (input, output) pairs and rollout sets.

A ``"map"`` dataset gives the pairs (a, u) directly; a ``"trajectory"`` dataset gives
every consecutive pair (u(tₖ), u(tₖ₊₁)) for a one-step model and, for testing, its
initial states with the whole trajectories for autoregressive rollouts.
Layout: ``(n, 1, *grid)`` as the operator networks take it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import torch
import xarray as xr
from torch import Tensor

__all__ = ["OperatorData", "grid_dims", "pairs", "rollout_set"]


def grid_dims(ds: xr.Dataset) -> tuple[str, ...]:
    """The space dims of an operator dataset, in order (``x`` [, ``y``])."""
    return tuple(d for d in ("x", "y") if d in ds["u"].dims)


def _tensor(da: xr.DataArray, dtype: torch.dtype, device: torch.device) -> Tensor:
    return torch.as_tensor(da.values, dtype=dtype, device=device)


def pairs(
    ds: xr.Dataset, *, dtype: torch.dtype, device: torch.device
) -> tuple[Tensor, Tensor]:
    """Inputs and outputs ``(n, 1, *grid)``: (a, u) or consecutive states."""
    dims = ("sample", *grid_dims(ds))
    if ds.attrs.get("kind") == "trajectory":
        u = _tensor(ds["u"].transpose("sample", "t", *dims[1:]), dtype, device)
        a = u[:, :-1].reshape(-1, 1, *u.shape[2:])
        b = u[:, 1:].reshape(-1, 1, *u.shape[2:])
        return a, b
    a = _tensor(ds["a"].transpose(*dims), dtype, device)[:, None]
    return a, _tensor(ds["u"].transpose(*dims), dtype, device)[:, None]


def rollout_set(
    ds: xr.Dataset, *, dtype: torch.dtype, device: torch.device
) -> tuple[Tensor, Tensor]:
    """First states ``(n, 1, *grid)``, true states after them ``(n, T−1, *grid)``."""
    u = _tensor(ds["u"].transpose("sample", "t", *grid_dims(ds)), dtype, device)
    return u[:, :1], u[:, 1:]


@dataclass(frozen=True)
class OperatorData:
    """Training and test data of one operator-learning run.

    Attributes:
        train: the training dataset.
        test: the test dataset (other samples of the same family and grid).
        super_resolution: factor → the test functions on a grid ``factor`` times
            finer, for zero-shot super-resolution (e.g. {2: …, 4: …}).
    """

    train: xr.Dataset
    test: xr.Dataset
    super_resolution: Mapping[int, xr.Dataset] = field(
        default_factory=lambda: MappingProxyType({})
    )

    def __post_init__(self) -> None:
        kinds = {self.train.attrs.get("kind"), self.test.attrs.get("kind")}
        kinds |= {ds.attrs.get("kind") for ds in self.super_resolution.values()}
        if len(kinds) != 1 or kinds - {"map", "trajectory"}:
            raise ValueError(
                f"OperatorData: datasets of kinds {sorted(map(str, kinds))}; allowed: "
                "all 'map' or all 'trajectory' (operator datasets from explorer.data)"
            )
        if self.train["u"].dims != self.test["u"].dims or any(
            self.train.sizes[d] != self.test.sizes[d] for d in grid_dims(self.train)
        ):
            raise ValueError(
                "OperatorData: train and test must share dims and grid; got "
                f"{dict(self.train.sizes)} and {dict(self.test.sizes)}"
            )

    @property
    def kind(self) -> str:
        return str(self.train.attrs["kind"])
