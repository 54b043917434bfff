"""Allen–Cahn equation on a periodic interval: Raissi et al.'s stiff benchmark."""

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

__all__ = ["AllenCahn"]

_PRESETS = {
    "raissi": "x**2*cos(pi*x)",
    "sine": "0.5*sin(pi*x)",
    "two-bumps": "0.8*sin(pi*x) + 0.3*sin(3*pi*x)",
    "noise-like": "0.1*sin(3*pi*x) - 0.2*cos(5*pi*x) + 0.05*sin(11*pi*x)",
}


@final
@dataclass(frozen=True)
class AllenCahn(AbstractSemilinearProblem):
    """Allen–Cahn equation  uₜ − ε uₓₓ + a u³ − a u = 0  on x ∈ [−1, 1) periodic.

    u(x, 0) = u₀(x), default x² cos(πx); t ∈ (0, T].

    No closed-form solution for general u₀; the reference is the Fourier/ETDRK4
    solver. On the whole line u = ±tanh(x/w), w = √(2ε/a), is a steady solution (the
    interface profile), which the tests use to check the residual.

    Notes:
        u = ±1 are stable states and u = 0 is unstable (growth rate a). Interfaces
        between the phases have width w = √(2ε/a) and move slowly, by curvature-free
        1-D coarsening on the exponentially long time scale e^{ℓ/w}. The defaults
        (ε = 1e-4, a = 5, T = 1) are Raissi, Perdikaris & Karniadakis (2019)'s
        benchmark; ../reference-data/AC.mat holds their solution.
        Spectral split: L = −εk² + a (exact), N = −a u³ (explicit).
    """

    name = "allen-cahn"
    title = "Allen–Cahn (periodic)"
    equation = r"u_t - \varepsilon\, u_{xx} + a\,u^3 - a\,u = 0"
    default_grid = {"x": 256, "t": 100}

    eps: float = parameter(1e-4, bounds=(1e-5, 1.0), doc="diffusion coefficient ε")
    a: float = parameter(5.0, bounds=(0.0, 50.0), doc="reaction coefficient a")
    t_final: float = parameter(1.0, bounds=(0.01, 10.0), doc="final time T")
    u0: str = expression(
        "raissi", doc="initial condition u₀(x)", variables=("x",), presets=_PRESETS
    )

    def domain(self) -> Box:
        return Box(("x", "t"), (-1.0, 0.0), (1.0, self.t_final), frozenset("x"))

    def residual(
        self, u: Field, xt: Tensor, coeffs: Mapping[str, Tensor] | None = None
    ) -> Tensor:
        d = Partials(u, xt, ("x", "t"), orders={"x": 2, "t": 1})
        a = self.coefficient("a", coeffs)
        return d("t") - self.coefficient("eps", coeffs) * d("xx") + a * d.u**3 - a * d.u

    def initial_condition(self, x: Tensor) -> Tensor:
        return self.field_expr("u0")(x=x[..., 0])

    def exact_solution(self, xt: Tensor) -> None:
        return None

    # ---- spectral split -------------------------------------------------------------
    def linear_symbol(self, k: Tensor) -> Tensor:
        return -self.eps * k**2 + self.a

    def nonlinear_term(self, grid: FourierGrid) -> NonlinearTerm:
        a = self.a
        return lambda v: -a * grid.spectral(grid.physical(v) ** 3)

    def nonlinear_rate(self, amplitude: float, k_max: float) -> float:
        return 3 * self.a * max(1.0, amplitude) ** 2

    def layer_width(self, amplitude: float) -> float:
        return math.sqrt(2 * self.eps / self.a) if self.a > 0 else math.inf
