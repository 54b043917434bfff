"""Kuramoto–Sivashinsky equation on a periodic interval: spatio-temporal chaos."""

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

__all__ = ["KuramotoSivashinsky"]

# Written for the default period 32π.
_PRESETS = {
    "kassam-trefethen": "cos(x/16)*(1 + sin(x/16))",
    "sine": "sin(x/16)",
    "two-modes": "cos(x/16) + 0.5*sin(3*x/16)",
    "small": "0.01*cos(x/16)*(1 + sin(x/16))",
}


@final
@dataclass(frozen=True)
class KuramotoSivashinsky(AbstractSemilinearProblem):
    """Kuramoto–Sivashinsky equation  uₜ + α u uₓ + β uₓₓ + γ uₓₓₓₓ = 0  on [0, L).

    Periodic in x; u(x, 0) = u₀(x), default cos(x/16)(1 + sin(x/16)) on L = 32π
    (Kassam & Trefethen 2005).

    No closed form; the reference is the Fourier/ETDRK4 solver.

    Notes:
        Modes with 0 < k < √(β/γ) grow (β uₓₓ is anti-diffusion), faster modes are
        damped by γ uₓₓₓₓ, and α u uₓ moves energy between them. The dynamics depend
        on the single group L̃ = L √(β/γ)/(2π), the number of unstable wavelengths
        (16 for the defaults): the flow is chaotic for L̃ ≳ 3.5. Solutions are
        analytic, so Fourier coefficients decay exponentially once past √(β/γ);
        the mean of u is conserved.
        Spectral split: L = βk² − γk⁴ (exact), N = −α(u²/2)ₓ (explicit, dealiased).
    """

    name = "ks"
    title = "Kuramoto–Sivashinsky (periodic)"
    equation = r"u_t + \alpha\, u\,u_x + \beta\, u_{xx} + \gamma\, u_{xxxx} = 0"
    default_grid = {"x": 256, "t": 100}

    alpha: float = parameter(1.0, bounds=(0.0, 10.0), doc="advection coefficient α")
    beta: float = parameter(1.0, bounds=(0.0, 10.0), doc="anti-diffusion coefficient β")
    gamma: float = parameter(
        1.0, bounds=(0.01, 10.0), doc="hyper-diffusion coefficient γ"
    )
    length: float = parameter(
        32 * math.pi, bounds=(1.0, 500.0), doc="period L of the domain"
    )
    t_final: float = parameter(50.0, bounds=(0.01, 500.0), doc="final time T")
    u0: str = expression(
        "kassam-trefethen",
        doc="initial condition u₀(x)",
        variables=("x",),
        presets=_PRESETS,
    )

    def domain(self) -> Box:
        return Box(("x", "t"), (0.0, 0.0), (self.length, self.t_final), frozenset("x"))

    def residual(
        self, u: Field, xt: Tensor, coeffs: Mapping[str, Tensor] | None = None
    ) -> Tensor:
        d = Partials(u, xt, ("x", "t"), orders={"x": 4, "t": 1})
        alpha = self.coefficient("alpha", coeffs)
        beta = self.coefficient("beta", coeffs)
        gamma = self.coefficient("gamma", coeffs)
        return d("t") + alpha * d.u * d("x") + beta * d("xx") + gamma * d("xxxx")

    def initial_condition(self, x: Tensor) -> Tensor:
        return self.field_expr("u0")(x=x[..., 0])

    def exact_solution(self, xt: Tensor) -> None:
        return None

    # ---- spectral split -------------------------------------------------------------
    def linear_symbol(self, k: Tensor) -> Tensor:
        k2 = k**2
        return self.beta * k2 - self.gamma * k2**2

    def nonlinear_term(self, grid: FourierGrid) -> NonlinearTerm:
        g = -0.5j * self.alpha * grid.k
        return lambda v: g * grid.spectral(grid.physical(v).square())

    def nonlinear_rate(self, amplitude: float, k_max: float) -> float:
        # Advection at k has rate αU·k; once γk⁴ exceeds it the (exact) damping wins.
        # The chaotic state has |u| of a few β^{3/2}/(α√γ) whatever u₀ is.
        if self.alpha == 0:
            return 0.0
        u = max(amplitude, 3 * self.beta**1.5 / (self.alpha * math.sqrt(self.gamma)))
        k = (self.alpha * u / self.gamma) ** (1 / 3) + math.sqrt(self.beta / self.gamma)
        return self.alpha * u * min(k_max, k)

    def layer_width(self, amplitude: float) -> float:
        # The spectrum decays like e^{-3.3k} past √(β/γ) (measured for the defaults),
        # so this asks for dealiased modes up to k ≈ 5√(β/γ).
        return 1.2 * math.sqrt(self.gamma / self.beta) if self.beta > 0 else math.inf
