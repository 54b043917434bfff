"""DeepONet: an operator as an inner product of a branch and a trunk network.

    G(v)(y) ≈ Σₖ bₖ(v(s₁), …, v(s_m)) · tₖ(y) + b₀

The branch net reads the input function at m fixed sensors s_i, the trunk net the
query point y (Lu, Jin, Pang, Zhang & Karniadakis, "Learning nonlinear operators via
DeepONet", Nature Machine Intelligence 3, 2021; the "unstacked" form).

Layout: like the other operators, ``(batch, 1, n)`` → ``(batch, 1, n)``: the input
is read at the sensors by linear interpolation on its grid, and the output is
evaluated at the same grid's points (:meth:`DeepONet.evaluate` takes any points).
1-D only.
"""

from __future__ import annotations

import itertools
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

__all__ = ["DeepONet", "DeepONetConfig", "check_sensors"]

Activation = Literal["tanh", "gelu", "relu", "silu"]
Grid = Literal["closed", "periodic"]
_ACT = {"tanh": torch.tanh, "gelu": F.gelu, "relu": F.relu, "silu": F.silu}


@final
@dataclass(frozen=True)
class DeepONetConfig:
    """An unstacked DeepONet for 1-D functions on [0, 1].

    Attributes:
        sensors: m, points where the branch reads the input (2 to 4096); at most
            the input grid's size (checked at each forward pass).
        width: hidden units of both nets (4 to 1024).
        branch_depth: hidden layers of the branch (1 to 10).
        trunk_depth: hidden layers of the trunk (1 to 10).
        basis: p, the number of basis functions tₖ (1 to 1024).
        activation: of the hidden layers.
        grid: where sensors and grid points lie: ``"closed"`` x_i = i/(n − 1) (both
            ends, as in the antiderivative data) or ``"periodic"`` x_i = i/n.
        dtype: parameter dtype; inputs must have it.
    """

    BOUNDS: ClassVar[Mapping[str, tuple[int, int]]] = MappingProxyType(
        {
            "sensors": (2, 4096),
            "width": (4, 1024),
            "branch_depth": (1, 10),
            "trunk_depth": (1, 10),
            "basis": (1, 1024),
        }
    )

    sensors: int = 100
    width: int = 64
    branch_depth: int = 2
    trunk_depth: int = 2
    basis: int = 64
    activation: Activation = "relu"
    grid: Grid = "closed"
    dtype: DType = "float32"

    def __post_init__(self) -> None:
        for field, (lo, hi) in self.BOUNDS.items():
            check_range(f"DeepONetConfig.{field}", getattr(self, field), lo, hi)
        check_choice("DeepONetConfig.activation", self.activation, Activation)
        check_choice("DeepONetConfig.grid", self.grid, Grid)
        check_choice("DeepONetConfig.dtype", self.dtype, DType)


def check_sensors(sensors: int, n: int) -> None:
    """Refuse more sensors than the input grid's ``n`` points, naming the fix."""
    if sensors > n:
        raise ValueError(
            f"DeepONetConfig.sensors = {sensors} exceeds the {n} points of the input "
            f"grid; use sensors <= {n} or give the input on a finer grid"
        )


def _mlp(sizes: list[int]) -> nn.ModuleList:
    return nn.ModuleList(nn.Linear(a, b) for a, b in itertools.pairwise(sizes))


def points(n: int, grid: str, like: Tensor) -> Tensor:
    """The n grid points of ``grid`` (see :class:`DeepONetConfig`)."""
    if grid == "closed":
        return torch.linspace(0, 1, n, dtype=like.dtype, device=like.device)
    return torch.arange(n, dtype=like.dtype, device=like.device) / n


@final
class DeepONet(nn.Module):
    """The DeepONet of a :class:`DeepONetConfig`, seeded.

    Example:
        >>> net = DeepONet(DeepONetConfig(sensors=10, width=8, basis=4), seed=0)
        >>> net(torch.zeros(2, 1, 21)).shape
        torch.Size([2, 1, 21])
    """

    def __init__(self, config: DeepONetConfig, *, seed: int) -> None:
        super().__init__()
        self.config = config
        self._act = _ACT[config.activation]
        w, p = config.width, config.basis
        with seeded(seed):
            self.branch = _mlp([config.sensors] + [w] * config.branch_depth + [p])
            self.trunk = _mlp([1] + [w] * config.trunk_depth + [p])
            self.bias = nn.Parameter(torch.zeros(()))
        self.to(_DTYPES[config.dtype])

    def _run(self, layers: nn.ModuleList, z: Tensor, *, last_act: bool) -> Tensor:
        for i, layer in enumerate(layers):
            z = layer(z)
            if i < len(layers) - 1 or last_act:
                z = self._act(z)
        return z

    def sensor_values(self, a: Tensor) -> Tensor:
        """``(batch, 1, n)`` → ``(batch, m)``: a at the sensors, interpolated."""
        m, n = self.config.sensors, a.shape[-1]
        if a.ndim != 3 or a.shape[1] != 1:
            raise ValueError(
                f"DeepONet expects input (batch, 1, n); got {tuple(a.shape)}"
            )
        check_sensors(m, n)
        v = a[:, 0]
        if self.config.grid == "periodic":
            v = torch.cat([v, v[:, :1]], dim=1)  # the wrap-around point x = 1
            pos = torch.arange(m, dtype=a.dtype, device=a.device) * (n / m)
        else:
            pos = torch.linspace(0, n - 1, m, dtype=a.dtype, device=a.device)
        lo = pos.floor().long().clamp(max=v.shape[1] - 2)
        frac = pos - lo
        return v[:, lo] * (1 - frac) + v[:, lo + 1] * frac

    def evaluate(self, a: Tensor, y: Tensor) -> Tensor:
        """G(a) at points ``y`` ``(n_points,)`` in [0, 1]: ``(batch, n_points)``."""
        b = self._run(self.branch, self.sensor_values(a), last_act=False)
        t = self._run(self.trunk, y[:, None].to(a.dtype), last_act=True)
        return b @ t.T + self.bias

    def forward(self, a: Tensor) -> Tensor:
        """``(batch, 1, n)`` → ``(batch, 1, n)`` at the input's grid points."""
        return self.evaluate(a, points(a.shape[-1], self.config.grid, a))[:, None]
