"""Helmholtz equation on the square [−1, 1]² with a manufactured solution."""

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

__all__ = ["Helmholtz2D"]


@final
@dataclass(frozen=True)
class Helmholtz2D(AbstractProblem):
    """Helmholtz equation  Δu + κ²u = f  on (x, y) ∈ (−1, 1)²,  u = 0 on the boundary.

    Manufactured solution  u = sin(a₁πx) sin(a₂πy),  so that
    f = (κ² − (a₁² + a₂²)π²) u.

    The square [−1, 1]² and the defaults a₁ = 1, a₂ = 4, κ = 1 follow the PINN
    literature (Wang, Teng & Perdikaris, "Understanding and mitigating gradient
    pathologies in physics-informed neural networks", SIAM J. Sci. Comput. 2021).

    Notes:
        Lengths are in units of the half side. The problem is singular when κ² is a
        Dirichlet eigenvalue (π/2)²(m² + n²) of −Δ on the square (m, n ≥ 1); such κ
        are rejected, and κ close to one make the discrete system ill-conditioned.
        κ·h (h the grid step) should stay well below 1 for a resolved reference.
    """

    name = "helmholtz-2d"
    title = "Helmholtz equation (2-D)"
    equation = r"\Delta u + \kappa^2 u = f"
    kind = "steady"
    default_grid: ClassVar[Mapping[str, int]] = {"x": 64, "y": 64}
    has_exact = True

    a1: int = parameter(1, bounds=(1, 10), doc="x-frequency a₁ of sin(a₁πx)")
    a2: int = parameter(4, bounds=(1, 10), doc="y-frequency a₂ of sin(a₂πy)")
    kappa: float = parameter(1.0, bounds=(0.0, 30.0), doc="wavenumber κ")

    def validate(self) -> None:
        lam = self.kappa**2 / (math.pi / 2) ** 2  # κ² in units of (π/2)²
        m_max = math.isqrt(int(lam)) + 1
        for m in range(1, m_max + 1):
            n2 = lam - m * m
            n = round(math.sqrt(n2)) if n2 > 0 else 0
            if n >= 1 and abs(m * m + n * n - lam) <= 1e-9 * max(lam, 1.0):
                raise ValueError(
                    f"{self.name}: parameter 'kappa' = {self.kappa!r} is resonant "
                    f"(κ² = (π/2)²({m}² + {n}²) is a Dirichlet eigenvalue); "
                    "allowed: any other value in [0, 30]"
                )

    def domain(self) -> Box:
        return Box(("x", "y"), (-1.0, -1.0), (1.0, 1.0))

    def rhs(self, xy: Tensor) -> Tensor:
        """The forcing f at points ``xy`` ``(n, 2)``."""
        lam = (self.a1**2 + self.a2**2) * math.pi**2
        return (self.kappa**2 - lam) * self.exact_solution(xy)

    def residual(
        self, u: Field, xt: Tensor, coeffs: Mapping[str, Tensor] | None = None
    ) -> Tensor:
        d = Partials(u, xt, ("x", "y"), orders={"x": 2, "y": 2})
        kappa = self.coefficient("kappa", coeffs)
        return d("xx") + d("yy") + kappa**2 * d.u - self.rhs(xt)

    def boundary_condition(self, xt: Tensor) -> Tensor:
        return torch.zeros_like(xt[..., 0])

    def exact_solution(self, xt: Tensor) -> Tensor:
        x, y = xt[..., 0], xt[..., 1]
        return torch.sin(self.a1 * math.pi * x) * torch.sin(self.a2 * math.pi * y)
