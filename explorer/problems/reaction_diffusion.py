"""Reaction–diffusion (Fisher–KPP) on a periodic interval: a PINN failure mode."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import final

import torch
from torch import Tensor

from explorer.autodiff import Field, Partials
from explorer.domains import Box
from explorer.problems.base import expression, parameter
from explorer.problems.semilinear import (
    AbstractSemilinearProblem,
    FourierGrid,
    NonlinearTerm,
)

__all__ = ["ReactionDiffusion", "logistic"]

_PRESETS = {
    "gaussian": "exp(-(x - pi)**2 / (2*(pi/4)**2))",
    "sine-bump": "0.5 + 0.4*sin(x)",
    "two-bumps": "0.5*exp(-4*(x - 2.2)**2) + 0.5*exp(-4*(x - 4.1)**2)",
}


def logistic(u0: Tensor, t: Tensor, rho: float) -> Tensor:
    """The ν = 0 solution u = u₀ e^{ρt} / (1 − u₀ + u₀ e^{ρt}), pointwise in x."""
    g = torch.exp(rho * t)
    return u0 * g / (1 - u0 + u0 * g)


@final
@dataclass(frozen=True)
class ReactionDiffusion(AbstractSemilinearProblem):
    """Reaction–diffusion  uₜ = ν uₓₓ + ρ u (1 − u)  on x ∈ [0, 2π) periodic.

    u(x, 0) = u₀(x), default exp(−(x − π)² / (2 (π/4)²)) (Krishnapriyan et al. 2021);
    t ∈ (0, T].

    No closed form for ν > 0 (the reference is the Fourier/ETDRK4 solver); for ν = 0
    each x follows the logistic ODE, u = u₀e^{ρt}/(1 − u₀ + u₀e^{ρt})
    (:func:`logistic`).

    Notes:
        The groups are ρT (logistic growth, e^{ρT}) and νT/(2π)² (diffusion across the
        period). Pulled fronts move at speed 2√(νρ) with width ≈ √(ν/ρ). Values stay
        in [0, 1] when u₀ does (maximum principle), which validation requires.
        Spectral split: L = −νk² + ρ (exact), N = −ρu² (explicit, dealiased).
    """

    name = "reaction-diffusion"
    title = "Reaction–diffusion (periodic)"
    equation = r"u_t = \nu\, u_{xx} + \rho\, u\,(1 - u)"
    default_grid = {"x": 256, "t": 100}

    nu: float = parameter(3.0, bounds=(0.0, 10.0), doc="diffusion coefficient ν")
    rho: float = parameter(5.0, bounds=(0.0, 20.0), doc="reaction rate ρ")
    t_final: float = parameter(1.0, bounds=(0.01, 10.0), doc="final time T")
    u0: str = expression(
        "gaussian",
        doc="initial condition u₀(x), values in [0, 1]",
        variables=("x",),
        presets=_PRESETS,
    )

    def validate(self) -> None:
        super().validate()
        x = torch.linspace(0, 2 * math.pi, 512, dtype=torch.float64)
        self.require_within("u0", 0.0, 1.0, x, "where the logistic term blows up")

    def domain(self) -> Box:
        return Box(("x", "t"), (0.0, 0.0), (2 * math.pi, self.t_final), frozenset("x"))

    def residual(
        self, u: Field, xt: Tensor, coeffs: Mapping[str, Tensor] | None = None
    ) -> Tensor:
        d = Partials(u, xt, ("x", "t"), orders={"x": 2, "t": 1})
        rho = self.coefficient("rho", coeffs)
        return d("t") - self.coefficient("nu", coeffs) * d("xx") - rho * d.u * (1 - d.u)

    def initial_condition(self, x: Tensor) -> Tensor:
        return self.field_expr("u0")(x=x[..., 0])

    def exact_solution(self, xt: Tensor) -> None:
        return None

    # ---- spectral split -------------------------------------------------------------
    def linear_symbol(self, k: Tensor) -> Tensor:
        return -self.nu * k**2 + self.rho

    def nonlinear_term(self, grid: FourierGrid) -> NonlinearTerm:
        rho = self.rho
        return lambda v: -rho * grid.spectral(grid.physical(v).square())

    def nonlinear_rate(self, amplitude: float, k_max: float) -> float:
        return 2 * self.rho * max(1.0, amplitude)

    def layer_width(self, amplitude: float) -> float:
        # Fisher fronts; for ν → 0 there is no front and u₀'s own scales govern.
        if self.nu == 0 or self.rho == 0:
            return math.inf
        return 2 * math.sqrt(self.nu / self.rho)
