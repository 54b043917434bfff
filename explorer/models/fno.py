"""The Fourier neural operator (FNO) in 1-D and 2-D.

    v₀ = P(a, x),  vₗ₊₁ = σ(Kₗ vₗ + Wₗ vₗ),  u = Q(v_L)

with P a pointwise lifting to ``width`` channels, Kₗ the Fourier layer
(:mod:`explorer.models.spectral_conv`), Wₗ a pointwise linear map, σ = GELU (none
after the last layer) and Q a two-layer pointwise projection (Li et al., ICLR 2021;
the layout follows the paper's ``fourier_1d.py``/``fourier_2d.py``).

Layout: ``(batch, in_channels, *grid)`` → ``(batch, out_channels, *grid)`` on a
uniform grid over the unit interval (square). Every part is pointwise or spectral,
so one set of weights evaluates at any resolution with at least 2·modes points per
dimension (zero-shot super-resolution).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import ClassVar, Literal, final

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from explorer._rng import seeded
from explorer._validate import check_choice, check_range
from explorer.models.spectral_conv import SpectralConv, check_modes
from explorer.models.spectral_weights import DenseWeights, SpectralWeights

__all__ = ["FNO", "FNO_BOUNDS", "FNOBackbone", "FNOConfig", "Positional"]

Positional = Literal["periodic", "closed", "none"]
DType = Literal["float32", "float64"]
_DTYPES = {"float32": torch.float32, "float64": torch.float64}


#: Ranges of the numeric fields FNO and TFNO configs share (their ``BOUNDS``).
FNO_BOUNDS = MappingProxyType(
    {
        "in_channels": (1, 64),
        "out_channels": (1, 64),
        "modes": (1, 512),
        "width": (1, 512),
        "layers": (1, 16),
        "padding": (0.0, 1.0),
        "projection": (1, 1024),
    }
)


@final
@dataclass(frozen=True)
class FNOConfig:
    """A Fourier neural operator.

    Attributes:
        dim: space dimensions, 1 or 2.
        in_channels: input functions (1 to 64).
        out_channels: output functions (1 to 64).
        modes: Fourier modes kept per dimension (1 to 512); the grid needs at least
            2·modes points per dimension (checked at each forward pass).
        width: channels of the hidden functions (1 to 512).
        layers: Fourier layers (1 to 16).
        padding: zero padding appended to each dimension as a fraction of the grid
            (0 to 1): 0 for periodic data, about 0.1 for data that are not (Darcy),
            so the Fourier layers do not wrap one boundary onto the other.
        positional: coordinates appended to the input: ``"periodic"``
            (cos 2πx, sin 2πx per dimension: band-limited, so exact across
            resolutions on periodic grids x = j/n), ``"closed"`` (x on
            linspace(0, 1, n), for grids that include both ends) or ``"none"``.
        projection: hidden units of the projection Q (1 to 1024; the paper: 128).
        dtype: parameter dtype; inputs must have it.
    """

    BOUNDS: ClassVar[Mapping[str, tuple[float, float]]] = FNO_BOUNDS

    dim: int = 1
    in_channels: int = 1
    out_channels: int = 1
    modes: int = 16
    width: int = 64
    layers: int = 4
    padding: float = 0.0
    positional: Positional = "periodic"
    projection: int = 128
    dtype: DType = "float32"

    def __post_init__(self) -> None:
        check_fno_fields(self)


def check_fno_fields(config: object) -> None:
    """The range checks FNO and TFNO configs share."""
    name = type(config).__name__
    if getattr(config, "dim", None) not in (1, 2):
        raise ValueError(f"{name}.dim = {config.dim!r} is not allowed; allowed: 1, 2")  # type: ignore[attr-defined]
    for field, (lo, hi) in FNO_BOUNDS.items():
        value = getattr(config, field)
        check_range(f"{name}.{field}", value, lo, hi)
        if isinstance(lo, int) and not isinstance(value, int):
            raise ValueError(f"{name}.{field} = {value!r}; allowed: an integer")
    check_choice(f"{name}.positional", config.positional, Positional)  # type: ignore[attr-defined]
    check_choice(f"{name}.dtype", config.dtype, DType)  # type: ignore[attr-defined]


def positional_channels(positional: str, dim: int) -> int:
    return {"periodic": 2 * dim, "closed": dim, "none": 0}[positional]


def grid_features(positional: str, grid: tuple[int, ...], like: Tensor) -> Tensor:
    """``(1, c, *grid)`` coordinate channels (see :class:`FNOConfig`)."""
    axes = []
    for n in grid:
        if positional == "closed":
            axes.append(torch.linspace(0, 1, n, dtype=like.dtype, device=like.device))
        else:
            axes.append(torch.arange(n, dtype=like.dtype, device=like.device) / n)
    mesh = torch.meshgrid(*axes, indexing="ij")
    if positional == "closed":
        feats = list(mesh)
    else:
        feats = [f(2 * math.pi * m) for m in mesh for f in (torch.cos, torch.sin)]
    return torch.stack(feats)[None]


class Pointwise(nn.Module):
    """A linear map of the channels at each point: ``(B, i, *grid)`` → ``(B, o, *grid)``

    The same map as a 1×1 convolution, but one batched matmul on the
    ``(B, i, points)`` view, no copies: torch's CPU convolution unfolds its input
    (many small copies), which made a one-sample FNO forward pass several times
    slower. Initialised as ``nn.Linear``.
    """

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.linear = nn.Linear(c_in, c_out)

    def forward(self, v: Tensor) -> Tensor:
        w, b = self.linear.weight, self.linear.bias
        out = torch.baddbmm(b[:, None], w.expand(v.shape[0], -1, -1), v.flatten(2))
        return out.view(v.shape[0], -1, *v.shape[2:])


class FNOBackbone(nn.Module):
    """Lifting, Fourier layers and projection, with explicit sizes.

    FNO and TFNO differ only in ``make_weights`` (dense or factorised R).
    """

    def __init__(
        self,
        *,
        dim: int,
        in_channels: int,
        out_channels: int,
        modes: int,
        width: int,
        layers: int,
        padding: float,
        positional: str,
        projection: int,
        make_weights: Callable[[tuple[int, ...]], SpectralWeights],
        label: str,
    ) -> None:
        super().__init__()
        self.dim, self.modes, self.padding = dim, modes, padding
        self.positional, self.in_channels, self.label = positional, in_channels, label
        block = (modes,) if dim == 1 else (2 * modes, modes)
        lift_in = in_channels + positional_channels(positional, dim)
        self.lift = Pointwise(lift_in, width)
        self.spectral = nn.ModuleList(
            SpectralConv(make_weights((width, width, *block))) for _ in range(layers)
        )
        self.pointwise = nn.ModuleList(Pointwise(width, width) for _ in range(layers))
        self.project = nn.Sequential(
            Pointwise(width, projection), nn.GELU(), Pointwise(projection, out_channels)
        )

    def forward(self, a: Tensor) -> Tensor:
        if a.ndim != self.dim + 2 or a.shape[1] != self.in_channels:
            grid = ", ".join(["n"] * self.dim)
            raise ValueError(
                f"{self.label.split('.')[0]} expects input (batch, "
                f"{self.in_channels}, {grid}); got {tuple(a.shape)}"
            )
        grid = tuple(a.shape[2:])
        check_modes(self.modes, grid, label=self.label)
        if self.positional != "none":
            feats = grid_features(self.positional, grid, a)
            a = torch.cat([a, feats.expand(a.shape[0], *feats.shape[1:])], dim=1)
        v = self.lift(a)
        pads = [round(self.padding * n) for n in grid]
        if any(pads):
            # F.pad takes (last dim left, right, previous dim left, right, ...)
            v = F.pad(v, [p for q in reversed(pads) for p in (0, q)])
        for i, (k, w) in enumerate(zip(self.spectral, self.pointwise)):
            v = k(v) + w(v)
            if i < len(self.spectral) - 1:
                v = F.gelu(v)
        if any(pads):
            v = v[(..., *(slice(0, n) for n in grid))]
        return self.project(v)


@final
class FNO(nn.Module):
    """The Fourier neural operator of an :class:`FNOConfig`, seeded.

    Example:
        >>> net = FNO(FNOConfig(modes=4, width=8, layers=2), seed=0)
        >>> net(torch.zeros(3, 1, 32)).shape
        torch.Size([3, 1, 32])
    """

    def __init__(self, config: FNOConfig, *, seed: int) -> None:
        super().__init__()
        self.config = config
        with seeded(seed):
            self.net = FNOBackbone(
                dim=config.dim,
                in_channels=config.in_channels,
                out_channels=config.out_channels,
                modes=config.modes,
                width=config.width,
                layers=config.layers,
                padding=config.padding,
                positional=config.positional,
                projection=config.projection,
                make_weights=DenseWeights,
                label="FNOConfig.modes",
            )
        self.to(_DTYPES[config.dtype])

    def forward(self, a: Tensor) -> Tensor:
        """``(batch, in_channels, *grid)`` → ``(batch, out_channels, *grid)``."""
        return self.net(a)
