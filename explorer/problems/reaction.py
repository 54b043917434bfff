"""Logistic reaction, pointwise in x: the ODE part of reaction–diffusion."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import final

import torch
from torch import Tensor

from explorer.autodiff import Field, Partials
from explorer.domains import Box
from explorer.problems.base import AbstractProblem, expression, parameter

__all__ = ["Reaction"]

_PRESETS = {
    "gaussian": "exp(-(x - pi)**2 / (2*(pi/4)**2))",
    "sine-bump": "0.5 + 0.4*sin(x)",
}


@final
@dataclass(frozen=True)
class Reaction(AbstractProblem):
    """Logistic reaction  uₜ = ρ u (1 − u)  on x ∈ [0, 2π) periodic, t ∈ (0, T].

    u(x, 0) = u₀(x). Each x evolves independently; the exact solution is

        u(x, t) = u₀ e^{ρt} / (1 − u₀ + u₀ e^{ρt}),

    finite for all t when 0 ≤ u₀ ≤ 1 (values outside blow up in finite time).

    Notes:
        ρT sets how far the logistic front has progressed; PINNs fail for large ρ
        (Krishnapriyan et al. 2021) because the solution sharpens into plateaus.
    """

    name = "reaction"
    title = "Reaction (logistic)"
    equation = r"u_t = \rho\, u\,(1 - u)"
    kind = "evolution"
    default_grid = {"x": 256, "t": 100}
    has_exact = True

    rho: float = parameter(1.0, bounds=(0.0, 20.0), doc="reaction rate ρ")
    t_final: float = parameter(1.0, bounds=(0.01, 10.0), doc="final time T")
    u0: str = expression(
        "gaussian",
        doc="initial condition u₀(x), values in [0, 1]",
        variables=("x",),
        presets=_PRESETS,
    )

    def validate(self) -> None:
        x = torch.linspace(0, 2 * math.pi, 512, dtype=torch.float64)
        self.require_within("u0", 0.0, 1.0, x, "so the logistic solution blows up")

    def domain(self) -> Box:
        return Box(("x", "t"), (0.0, 0.0), (2 * math.pi, self.t_final), frozenset("x"))

    def residual(
        self, u: Field, xt: Tensor, coeffs: Mapping[str, Tensor] | None = None
    ) -> Tensor:
        d = Partials(u, xt, ("x", "t"), orders={"t": 1})
        return d("t") - self.coefficient("rho", coeffs) * d.u * (1 - d.u)

    def initial_condition(self, x: Tensor) -> Tensor:
        return self.field_expr("u0")(x=x[..., 0])

    def exact_solution(self, xt: Tensor) -> Tensor:
        u0 = self.field_expr("u0")(x=xt[..., 0])
        g = torch.exp(self.rho * xt[..., 1])
        return u0 * g / (1 - u0 + u0 * g)
