"""Poisson equation on the unit interval with a two-frequency manufactured solution."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar, final

import torch
from torch import Tensor

from explorer.autodiff import Field, Partials
from explorer.domains import Box
from explorer.problems.base import AbstractProblem, parameter

__all__ = ["Poisson1D"]


@final
@dataclass(frozen=True)
class Poisson1D(AbstractProblem):
    """Poisson equation  −u'' = f  on x ∈ (0, 1),  u(0) = u(1) = 0.

    Manufactured solution  u = sin(kπx) + a·sin(Kπx),  so that
    f = (kπ)² sin(kπx) + a (Kπ)² sin(Kπx).

    Notes:
        The spectral-bias demonstration: a PINN fits the low mode k long before the
        high mode K, and the (Kπ)² weight makes the high mode dominate the residual
        even for a small amplitude a. The one non-dimensional group is K/k, the
        ratio of the frequencies; with a = 0 the solution is a single sine.
    """

    name = "poisson-1d"
    title = "Poisson equation (1-D)"
    equation = r"-u'' = f"
    kind = "steady"
    default_grid: ClassVar[Mapping[str, int]] = {"x": 256}
    has_exact = True

    k: int = parameter(1, bounds=(1, 32), doc="frequency k of the main mode sin(kπx)")
    K: int = parameter(
        10, bounds=(1, 64), doc="frequency K of the second mode sin(Kπx)"
    )
    a: float = parameter(
        0.1, bounds=(-10.0, 10.0), doc="amplitude a of the second mode"
    )

    def domain(self) -> Box:
        return Box(("x",), (0.0,), (1.0,))

    def rhs(self, x: Tensor) -> Tensor:
        """The forcing f at points ``x`` ``(n, 1)``."""
        s = x[..., 0] * math.pi
        return (self.k * math.pi) ** 2 * torch.sin(self.k * s) + self.a * (
            self.K * math.pi
        ) ** 2 * torch.sin(self.K * s)

    def residual(
        self, u: Field, xt: Tensor, coeffs: Mapping[str, Tensor] | None = None
    ) -> Tensor:
        d = Partials(u, xt, ("x",), orders={"x": 2})
        return -d("xx") - self.rhs(xt)

    def boundary_condition(self, xt: Tensor) -> Tensor:
        return torch.zeros_like(xt[..., 0])

    def exact_solution(self, xt: Tensor) -> Tensor:
        s = xt[..., 0] * math.pi
        return torch.sin(self.k * s) + self.a * torch.sin(self.K * s)
