"""Heat equation in one space dimension."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, final

import torch
from torch import Tensor

from explorer.autodiff import Field, Partials
from explorer.domains import Box
from explorer.problems.base import AbstractProblem, expression, parameter

__all__ = ["Heat"]

_PRESETS = {
    "mode-1": "sin(pi*x)",
    "modes-1-4": "sin(pi*x) + 0.5*sin(4*pi*x)",
    "bump": "exp(-50*(x - 0.5)**2)",
    "hat": "1 - abs(2*x - 1)",
}
_MODES = 256  # series terms: enough for kinks (1/n² decay) to fall below 1e-5
_QUAD = 4096  # quadrature points for the series coefficients


@final
@dataclass(frozen=True)
class Heat(AbstractProblem):
    """Heat equation  uₜ = ν uₓₓ  on x ∈ (0, L), t ∈ (0, T].

    Boundary ``"dirichlet"``: u(0, t) = u(L, t) = 0; ``"periodic"``: u(0) = u(L).
    Initial condition u(x, 0) = u₀(x), a preset or an expression in x.

    Exact solution by eigenfunction series (computed from u₀ by quadrature):
    Dirichlet  u = Σₙ bₙ sin(nπx/L) exp(−ν(nπ/L)² t);
    periodic   u = Σₖ cₖ exp(2πikx/L) exp(−ν(2πk/L)² t).
    For u₀ = sin(kπx/L) the series is a single term and exact to rounding.

    Notes:
        The one non-dimensional group is the Fourier number ν·T/L²: the slowest
        Dirichlet mode decays by exp(−π² ν T / L²) over the run.
    """

    name = "heat"
    title = "Heat equation"
    equation = r"u_t = \nu\, u_{xx}"
    kind = "evolution"
    default_grid = {"x": 256, "t": 100}
    has_exact = True

    nu: float = parameter(
        0.1, bounds=(1e-4, 10.0), doc="diffusivity ν", units="length²/time"
    )
    length: float = parameter(1.0, bounds=(0.1, 10.0), doc="domain length L")
    t_final: float = parameter(1.0, bounds=(0.01, 10.0), doc="final time T")
    boundary_type: Literal["dirichlet", "periodic"] = parameter(
        "dirichlet", doc="boundary condition in x"
    )
    u0: str = expression(
        "mode-1", doc="initial condition u₀(x)", variables=("x",), presets=_PRESETS
    )

    def validate(self) -> None:
        if self.boundary_type == "dirichlet":
            self.require_vanishing(
                "u0",
                (0.0, self.length),
                "the walls hold u = 0 (or use boundary_type='periodic')",
            )

    def domain(self) -> Box:
        periodic = frozenset({"x"}) if self.boundary_type == "periodic" else frozenset()
        return Box(("x", "t"), (0.0, 0.0), (self.length, self.t_final), periodic)

    def residual(
        self, u: Field, xt: Tensor, coeffs: Mapping[str, Tensor] | None = None
    ) -> Tensor:
        d = Partials(u, xt, ("x", "t"), orders={"x": 2, "t": 1})
        return d("t") - self.coefficient("nu", coeffs) * d("xx")

    def initial_condition(self, x: Tensor) -> Tensor:
        return self.field_expr("u0")(x=x[..., 0])

    def boundary_condition(self, xt: Tensor) -> Tensor:
        return torch.zeros_like(xt[..., 0])

    def exact_solution(self, xt: Tensor) -> Tensor:
        x, t = xt[..., 0], xt[..., 1]
        L = self.length
        kw = {"dtype": xt.dtype, "device": xt.device}
        if self.boundary_type == "dirichlet":
            # bₙ = (2/L) ∫₀ᴸ u₀ sin(nπx/L) dx by the midpoint rule: spectrally accurate
            # for u₀ vanishing at the walls (the odd periodic extension is smooth).
            k = torch.arange(1, _MODES + 1, **kw) * math.pi / L
            q = (torch.arange(_QUAD, **kw) + 0.5) * L / _QUAD
            b = (2.0 / _QUAD) * (
                torch.sin(torch.outer(k, q)) @ self.field_expr("u0")(x=q)
            )
            shift = torch.zeros_like(k)
        else:
            # Re Σ wₖcₖe^{ikx} = Σ wₖ(Re cₖ cos kx − Im cₖ sin kx), cos kx = sin(kx+π/2)
            q = torch.arange(_QUAD, **kw) * L / _QUAD
            c = torch.fft.rfft(self.field_expr("u0")(x=q))[: _MODES + 1] / _QUAD
            c[1:] *= 2
            k = 2 * math.pi * torch.arange(c.numel(), **kw) / L
            b, k = torch.cat([c.real, -c.imag]), torch.cat([k, k])
            shift = torch.cat(
                [torch.full_like(c.real, math.pi / 2), torch.zeros_like(c.real)]
            )
        # Drop negligible terms: smooth u₀ needs a handful of modes, not _MODES.
        keep = b.abs() > 1e-13 * b.abs().max().clamp_min(1e-300)
        b, k, shift = b[keep], k[keep], shift[keep]
        basis = torch.sin(x[..., None] * k + shift)
        return (basis * torch.exp(-self.nu * k**2 * t[..., None])) @ b
