"""Viscous Burgers equation on a periodic interval: the operator-learning variant."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import final

from torch import Tensor

from explorer.autodiff import Field, Partials
from explorer.domains import Box
from explorer.problems.base import expression, parameter
from explorer.problems.semilinear import (
    AbstractSemilinearProblem,
    FourierGrid,
    NonlinearTerm,
)

__all__ = ["BurgersPeriodic"]

_PRESETS = {
    "benchmark": "-sin(pi*x)",
    "sine": "sin(pi*x)",
    "two-modes": "sin(pi*x) + 0.5*sin(2*pi*x)",
    "bump": "exp(-10*x**2) - exp(-10)",
}


@final
@dataclass(frozen=True)
class BurgersPeriodic(AbstractSemilinearProblem):
    """Viscous Burgers equation  uₜ + u uₓ = ν uₓₓ  on x ∈ [−L/2, L/2) periodic.

    u(x, 0) = u₀(x), default −sin(πx) (L = 2); t ∈ (0, T].

    No closed form for general u₀; the reference is the Fourier/ETDRK4 solver. For
    u₀ = −sin(πx) and L = 2 the solution is odd about x = 0 and x = ±1, so it vanishes
    at x = ±1 and equals the Dirichlet benchmark ``burgers`` (Cole–Hopf).

    Notes:
        The Reynolds number is U·L/ν with U = max|u₀|. A viscous shock of width
        ≈ 2ν/U forms where u₀ decreases, after t ≈ 1/max(−u₀'); the solver refines its
        internal grid to resolve it. The mean of u is conserved.
        Spectral split: L = −νk² (exact), N = −(u²/2)ₓ (explicit, dealiased).
    """

    name = "burgers-periodic"
    title = "Viscous Burgers (periodic)"
    equation = r"u_t + u\,u_x = \nu\, u_{xx}"
    default_grid = {"x": 256, "t": 100}

    nu: float = parameter(
        0.01 / math.pi, bounds=(1e-3, 1.0), doc="viscosity ν (1/Reynolds number)"
    )
    length: float = parameter(2.0, bounds=(0.5, 20.0), doc="period L of the domain")
    t_final: float = parameter(1.0, bounds=(0.01, 10.0), doc="final time T")
    u0: str = expression(
        "benchmark", doc="initial condition u₀(x)", variables=("x",), presets=_PRESETS
    )

    def domain(self) -> Box:
        h = self.length / 2
        return Box(("x", "t"), (-h, 0.0), (h, self.t_final), frozenset("x"))

    def residual(
        self, u: Field, xt: Tensor, coeffs: Mapping[str, Tensor] | None = None
    ) -> Tensor:
        d = Partials(u, xt, ("x", "t"), orders={"x": 2, "t": 1})
        return d("t") + d.u * d("x") - self.coefficient("nu", coeffs) * d("xx")

    def initial_condition(self, x: Tensor) -> Tensor:
        return self.field_expr("u0")(x=x[..., 0])

    def exact_solution(self, xt: Tensor) -> None:
        return None

    # ---- spectral split -------------------------------------------------------------
    def linear_symbol(self, k: Tensor) -> Tensor:
        return -self.nu * k**2

    def nonlinear_term(self, grid: FourierGrid) -> NonlinearTerm:
        g = -0.5j * grid.k
        return lambda v: g * grid.spectral(grid.physical(v).square())

    def nonlinear_rate(self, amplitude: float, k_max: float) -> float:
        # Advection at wavenumber k has rate U·k; above U/ν viscosity (exact) wins.
        return amplitude * min(k_max, amplitude / self.nu)

    def layer_width(self, amplitude: float) -> float:
        return 2 * self.nu / amplitude if amplitude > 0 else math.inf
