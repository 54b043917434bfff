"""A U-Net: the convolutional baseline for operator learning in 1-D and 2-D.

Two 3-point (3×3) convolutions with GELU per level, ``levels`` halvings by average
pooling, nearest upsampling and skip connections by concatenation (Ronneberger,
Fischer & Brox 2015; the baseline of PDEBench and of Gupta & Brandstetter 2022).
Unlike an FNO it is tied to its grid: its receptive field is a number of points, so
it does not transfer across resolutions.

Layout: ``(batch, in_channels, *grid)`` → ``(batch, out_channels, *grid)``; grids
not divisible by 2^levels are padded (circularly or with edge values) and cropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import ClassVar, Literal, final

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from explorer._rng import seeded
from explorer._validate import check_range
from explorer.models.fno import _DTYPES, DType, check_choice

__all__ = ["UNet", "UNetConfig"]

Boundary = Literal["periodic", "edge"]


@final
@dataclass(frozen=True)
class UNetConfig:
    """A U-Net.

    Attributes:
        dim: 1 or 2.
        in_channels, out_channels: 1 to 64.
        width: channels at the finest level, doubled per level (2 to 256).
        levels: halvings of the grid (1 to 6).
        boundary: ``"periodic"`` (circular padding) or ``"edge"`` (replicate).
        dtype: parameter dtype.
    """

    BOUNDS: ClassVar[Mapping[str, tuple[int, int]]] = MappingProxyType(
        {
            "in_channels": (1, 64),
            "out_channels": (1, 64),
            "width": (2, 256),
            "levels": (1, 6),
        }
    )

    dim: int = 1
    in_channels: int = 1
    out_channels: int = 1
    width: int = 16
    levels: int = 3
    boundary: Boundary = "periodic"
    dtype: DType = "float32"

    def __post_init__(self) -> None:
        if self.dim not in (1, 2):
            raise ValueError(f"UNetConfig.dim = {self.dim!r}; allowed: 1, 2")
        for field, (lo, hi) in self.BOUNDS.items():
            check_range(f"UNetConfig.{field}", getattr(self, field), lo, hi)
        check_choice("UNetConfig.boundary", self.boundary, Boundary)
        check_choice("UNetConfig.dtype", self.dtype, DType)


class _Block(nn.Module):
    def __init__(self, dim: int, c_in: int, c_out: int, mode: str) -> None:
        super().__init__()
        conv = nn.Conv1d if dim == 1 else nn.Conv2d
        self.a = conv(c_in, c_out, 3, padding=1, padding_mode=mode)
        self.b = conv(c_out, c_out, 3, padding=1, padding_mode=mode)

    def forward(self, v: Tensor) -> Tensor:
        return F.gelu(self.b(F.gelu(self.a(v))))


@final
class UNet(nn.Module):
    """The U-Net of a :class:`UNetConfig`, seeded."""

    def __init__(self, config: UNetConfig, *, seed: int) -> None:
        super().__init__()
        self.config = config
        d, w, n = config.dim, config.width, config.levels
        self._mode = "circular" if config.boundary == "periodic" else "replicate"
        conv = nn.Conv1d if d == 1 else nn.Conv2d
        widths = [w * 2**i for i in range(n + 1)]
        with seeded(seed):
            self.down = nn.ModuleList(
                [_Block(d, config.in_channels, w, self._mode)]
                + [_Block(d, widths[i], widths[i + 1], self._mode) for i in range(n)]
            )
            self.up = nn.ModuleList(
                _Block(d, widths[i + 1] + widths[i], widths[i], self._mode)
                for i in reversed(range(n))
            )
            self.out = conv(w, config.out_channels, 1)
        self.to(_DTYPES[config.dtype])

    def forward(self, a: Tensor) -> Tensor:
        c = self.config
        if a.ndim != c.dim + 2 or a.shape[1] != c.in_channels:
            raise ValueError(
                f"UNet expects input (batch, {c.in_channels}, "
                f"{', '.join(['n'] * c.dim)}); got {tuple(a.shape)}"
            )
        grid = a.shape[2:]
        step = 2**c.levels
        pads = [(-n) % step for n in grid]
        if any(pads):
            a = F.pad(a, [p for q in reversed(pads) for p in (0, q)], mode=self._mode)
        pool = F.avg_pool1d if c.dim == 1 else F.avg_pool2d
        skips = []
        v = a
        for i, block in enumerate(self.down):
            v = block(v)
            if i < c.levels:
                skips.append(v)
                v = pool(v, 2)
        for block in self.up:
            v = F.interpolate(v, scale_factor=2, mode="nearest")
            v = block(torch.cat([v, skips.pop()], dim=1))
        v = self.out(v)
        return v[(..., *(slice(0, n) for n in grid))]
