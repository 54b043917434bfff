"""Poisson equation on the unit square: manufactured modes or a typed-in forcing."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar, final

import torch
from torch import Tensor

from explorer.autodiff import Field, Partials
from explorer.domains import Box
from explorer.problems.base import AbstractProblem, expression, parameter

__all__ = ["Poisson2D"]

MANUFACTURED = "manufactured"
_PRESETS = {
    # A placeholder so the name validates as an expression; the problem never
    # evaluates it and derives f from the manufactured solution instead.
    MANUFACTURED: "0",
    "constant": "1",
    "gaussian-source": "100*exp(-100*((x - 0.5)**2 + (y - 0.5)**2))",
    "dipole": (
        "100*exp(-200*((x - 0.3)**2 + (y - 0.5)**2))"
        " - 100*exp(-200*((x - 0.7)**2 + (y - 0.5)**2))"
    ),
    "checkerboard": "sign(sin(2*pi*x)*sin(2*pi*y))",
}


@final
@dataclass(frozen=True)
class Poisson2D(AbstractProblem):
    """Poisson equation  −Δu = f  on (x, y) ∈ (0, 1)²,  u = 0 on the boundary.

    With ``forcing = "manufactured"`` (the default) the solution is
    u = sin(aπx) sin(bπy) + c·sin(pπx) sin(qπy), exact, and
    f = (a² + b²)π² sin(aπx) sin(bπy) + c (p² + q²)π² sin(pπx) sin(qπy).
    Any other ``forcing`` (a preset or an expression in x, y) has no closed-form
    solution; the reference comes from the sparse finite-difference solver.

    Notes:
        Lengths are in units of the side of the square. The frequency ratio
        max(p, q)/max(a, b) sets how multi-scale the manufactured solution is.
    """

    name = "poisson-2d"
    title = "Poisson equation (2-D)"
    equation = r"-\Delta u = f"
    kind = "steady"
    default_grid: ClassVar[Mapping[str, int]] = {"x": 64, "y": 64}

    a: int = parameter(1, bounds=(1, 16), doc="x-frequency a of the main mode")
    b: int = parameter(1, bounds=(1, 16), doc="y-frequency b of the main mode")
    c: float = parameter(
        0.0, bounds=(-10.0, 10.0), doc="amplitude c of the second mode"
    )
    p: int = parameter(4, bounds=(1, 16), doc="x-frequency p of the second mode")
    q: int = parameter(4, bounds=(1, 16), doc="y-frequency q of the second mode")
    forcing: str = expression(
        MANUFACTURED,
        doc='forcing f(x, y); "manufactured" derives it from the modes a, b, c, p, q',
        variables=("x", "y"),
        presets=_PRESETS,
    )

    @property
    def manufactured(self) -> bool:
        """True when f comes from the manufactured solution (which is then exact)."""
        return self.forcing.strip() == MANUFACTURED

    @property
    def has_exact(self) -> bool:  # type: ignore[override]
        return self.manufactured

    def domain(self) -> Box:
        return Box(("x", "y"), (0.0, 0.0), (1.0, 1.0))

    def rhs(self, xy: Tensor) -> Tensor:
        """The forcing f at points ``xy`` ``(n, 2)``."""
        x, y = xy[..., 0], xy[..., 1]
        if not self.manufactured:
            return self.field_expr("forcing")(x=x, y=y)
        return (self.a**2 + self.b**2) * math.pi**2 * _mode(
            x, y, self.a, self.b
        ) + self.c * (self.p**2 + self.q**2) * math.pi**2 * _mode(x, y, self.p, self.q)

    def residual(
        self, u: Field, xt: Tensor, coeffs: Mapping[str, Tensor] | None = None
    ) -> Tensor:
        d = Partials(u, xt, ("x", "y"), orders={"x": 2, "y": 2})
        return -(d("xx") + d("yy")) - self.rhs(xt)

    def boundary_condition(self, xt: Tensor) -> Tensor:
        return torch.zeros_like(xt[..., 0])

    def exact_solution(self, xt: Tensor) -> Tensor | None:
        if not self.manufactured:
            return None
        x, y = xt[..., 0], xt[..., 1]
        return _mode(x, y, self.a, self.b) + self.c * _mode(x, y, self.p, self.q)


def _mode(x: Tensor, y: Tensor, m: int, n: int) -> Tensor:
    return torch.sin(m * math.pi * x) * torch.sin(n * math.pi * y)
