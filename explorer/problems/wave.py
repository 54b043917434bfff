"""The 1-D wave equation: standing waves between walls, travelling waves on a ring."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, final

import torch
from torch import Tensor

from explorer.autodiff import Field, Partials
from explorer.domains import Box
from explorer.problems.base import AbstractProblem, expression, parameter

__all__ = ["Wave"]

_PRESETS = {
    "mode-1": "sin(pi*x)",
    "two-modes": "sin(pi*x) + 0.5*sin(4*pi*x)",  # Wang, Yu & Perdikaris (2022), c = 2
    "pulse": "exp(-200*(x - 0.5)**2)",
}


@final
@dataclass(frozen=True)
class Wave(AbstractProblem):
    """Wave equation  uₜₜ = c² uₓₓ  on x ∈ (0, L), t ∈ (0, T].

    ``standing``: u(0, t) = u(L, t) = 0, u(x, 0) = u₀(x), uₜ(x, 0) = 0. Exact by
    d'Alembert with the odd 2L-periodic extension ũ₀ of u₀:
    u = ½[ũ₀(x − ct) + ũ₀(x + ct)]; for u₀ = sin(kπx/L) it is the standing wave
    sin(kπx/L)·cos(kπct/L).

    ``travelling``: x periodic, u(x, 0) = u₀(x), uₜ(x, 0) = −c u₀′(x). Exact:
    u = u₀((x − ct) mod L), a wave moving right at speed c.

    Notes:
        cT/L counts the wall-to-wall transits; PINNs find high cT/L hard because
        the residual and initial-condition losses train at very different rates
        (Wang, Yu & Perdikaris 2022, the NTK view).
    """

    name = "wave"
    title = "Wave equation"
    equation = r"u_{tt} = c^2\, u_{xx}"
    kind = "evolution"
    default_grid = {"x": 256, "t": 100}
    has_exact = True

    c: float = parameter(1.0, bounds=(0.1, 10.0), doc="wave speed c")
    length: float = parameter(1.0, bounds=(0.1, 10.0), doc="domain length L")
    t_final: float = parameter(1.0, bounds=(0.01, 10.0), doc="final time T")
    mode: Literal["standing", "travelling"] = parameter(
        "standing", doc="walls with u_t(x,0)=0, or a periodic travelling wave"
    )
    u0: str = expression(
        "mode-1", doc="initial displacement u₀(x)", variables=("x",), presets=_PRESETS
    )

    def validate(self) -> None:
        if self.mode == "standing":
            self.require_vanishing(
                "u0",
                (0.0, self.length),
                "the walls hold u = 0 (or use mode='travelling')",
            )

    def domain(self) -> Box:
        periodic = frozenset({"x"}) if self.mode == "travelling" else frozenset()
        return Box(("x", "t"), (0.0, 0.0), (self.length, self.t_final), periodic)

    def residual(
        self, u: Field, xt: Tensor, coeffs: Mapping[str, Tensor] | None = None
    ) -> Tensor:
        d = Partials(u, xt, ("x", "t"), orders={"x": 2, "t": 2})
        return d("tt") - self.coefficient("c", coeffs) ** 2 * d("xx")

    def initial_condition(self, x: Tensor) -> Tensor:
        return self.field_expr("u0")(x=x[..., 0])

    def initial_velocity(self, x: Tensor) -> Tensor:
        """uₜ(x, 0): zero for standing waves, −c u₀′(x) for travelling ones."""
        if self.mode == "standing":
            return torch.zeros_like(x[..., 0])
        xt = torch.cat([x[..., :1], torch.zeros_like(x[..., :1])], dim=-1)
        return Partials(self.exact_solution, xt, ("x", "t"))("t")

    def boundary_condition(self, xt: Tensor) -> Tensor:
        return torch.zeros_like(xt[..., 0])

    def exact_solution(self, xt: Tensor) -> Tensor:
        x, t = xt[..., 0], xt[..., 1]
        u0 = self.field_expr("u0")
        L = self.length
        if self.mode == "travelling":
            return u0(x=(x - self.c * t).remainder(L))

        def odd_extension(s: Tensor) -> Tensor:
            s = s.remainder(2 * L)
            inside = s <= L
            # Evaluate u₀ only on [0, L]: the reflected branch uses 2L − s ∈ [0, L].
            v = u0(x=torch.where(inside, s, 2 * L - s))
            return torch.where(inside, v, -v)

        return 0.5 * (odd_extension(x - self.c * t) + odd_extension(x + self.c * t))
