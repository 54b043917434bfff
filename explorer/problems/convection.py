"""Linear convection on a periodic domain: the PINN failure-mode benchmark."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import final

from torch import Tensor

from explorer.autodiff import Field, Partials
from explorer.domains import Box
from explorer.problems.base import AbstractProblem, expression, parameter

__all__ = ["Convection"]

_PRESETS = {
    "sine": "sin(x)",
    "gaussian": "exp(-(x - pi)**2 / (2*(pi/4)**2))",
    "two-modes": "sin(x) + 0.5*sin(3*x)",
}


@final
@dataclass(frozen=True)
class Convection(AbstractProblem):
    """Convection  uₜ + β uₓ = 0  on x ∈ [0, 2π) periodic, t ∈ (0, T].

    u(x, 0) = u₀(x), a preset or an expression in x (made periodic by the domain).
    Exact solution by characteristics:  u(x, t) = u₀((x − βt) mod 2π).

    Notes:
        With u₀ = sin(x), PINNs train well for β ≲ 10 and fail for β ≳ 30
        (Krishnapriyan et al., NeurIPS 2021): the residual loss landscape becomes
        ill-conditioned as β grows. β·T/2π is the number of times the profile
        crosses the domain.
    """

    name = "convection"
    title = "Convection (periodic)"
    equation = r"u_t + \beta\, u_x = 0"
    kind = "evolution"
    default_grid = {"x": 256, "t": 100}
    has_exact = True

    beta: float = parameter(1.0, bounds=(-50.0, 50.0), doc="convection speed β")
    t_final: float = parameter(1.0, bounds=(0.01, 10.0), doc="final time T")
    u0: str = expression(
        "sine", doc="initial condition u₀(x)", variables=("x",), presets=_PRESETS
    )

    def domain(self) -> Box:
        return Box(("x", "t"), (0.0, 0.0), (2 * math.pi, self.t_final), frozenset("x"))

    def residual(
        self, u: Field, xt: Tensor, coeffs: Mapping[str, Tensor] | None = None
    ) -> Tensor:
        d = Partials(u, xt, ("x", "t"), orders={"x": 1, "t": 1})
        return d("t") + self.coefficient("beta", coeffs) * d("x")

    def initial_condition(self, x: Tensor) -> Tensor:
        return self.field_expr("u0")(x=x[..., 0])

    def exact_solution(self, xt: Tensor) -> Tensor:
        foot = (xt[..., 0] - self.beta * xt[..., 1]).remainder(2 * math.pi)
        return self.field_expr("u0")(x=foot)
