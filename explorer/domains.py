"""Rectangular space(-time) domains: evaluation grids and point samplers.

A :class:`Box` knows its coordinate names (in network-input order, e.g. ``("x", "t")``),
its bounds and which coordinates are periodic. Periodic grids omit the right end point
(it equals the left one); other grids include both ends.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = ["Box"]


@dataclass(frozen=True)
class Box:
    """An axis-aligned box ``[lo_i, hi_i]`` with named coordinates.

    Attributes:
        names: coordinate names in network-input order, e.g. ``("x", "t")``.
        lows, highs: bounds per coordinate.
        periodic: names of the periodic coordinates.
    """

    names: tuple[str, ...]
    lows: tuple[float, ...]
    highs: tuple[float, ...]
    periodic: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if not (len(self.names) == len(self.lows) == len(self.highs)):
            raise ValueError("Box: names, lows and highs must have the same length")
        for n, lo, hi in zip(self.names, self.lows, self.highs):
            if not hi > lo:
                raise ValueError(
                    f"Box: coordinate {n!r} needs lo < hi, got [{lo}, {hi}]"
                )

    @property
    def dim(self) -> int:
        return len(self.names)

    def bounds(self, name: str) -> tuple[float, float]:
        i = self.names.index(name)
        return self.lows[i], self.highs[i]

    def axis(
        self,
        name: str,
        n: int,
        *,
        dtype: torch.dtype = torch.float64,
        device: str | torch.device = "cpu",
    ) -> Tensor:
        """``n`` evenly spaced values of a coordinate (periodic: right end omitted)."""
        lo, hi = self.bounds(name)
        if name in self.periodic:
            return lo + (hi - lo) * torch.arange(n, dtype=dtype, device=device) / n
        return torch.linspace(lo, hi, n, dtype=dtype, device=device)

    def mesh(self, axes: Mapping[str, Tensor], order: tuple[str, ...]) -> Tensor:
        """All grid points as ``(n, d)`` in network-input order.

        ``order`` is the array layout of the grid (e.g. ``("t", "x")``); the returned
        points enumerate that layout in C order, so ``u(points).reshape(shape)`` gives
        the field on the grid.
        """
        grids = torch.meshgrid(*(axes[n] for n in order), indexing="ij")
        flat = {n: g.reshape(-1) for n, g in zip(order, grids)}
        return torch.stack([flat[n] for n in self.names], dim=-1)

    def sample(
        self,
        n: int,
        *,
        generator: torch.Generator,
        dtype: torch.dtype = torch.float64,
        device: str | torch.device = "cpu",
    ) -> Tensor:
        """``n`` points drawn uniformly in the box, ``(n, d)``."""
        u = torch.rand(n, self.dim, generator=generator, dtype=dtype, device=device)
        lo = torch.tensor(self.lows, dtype=dtype, device=device)
        hi = torch.tensor(self.highs, dtype=dtype, device=device)
        return lo + (hi - lo) * u
