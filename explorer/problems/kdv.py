"""Korteweg–de Vries equation on a periodic interval: solitons from smooth data."""

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

__all__ = ["KdV", "kdv_soliton"]

# Solitons are written for the default δ = 0.022²: width 2√(δ/c) = 0.044/√c.
_PRESETS = {
    "zabusky-kruskal": "cos(pi*x)",
    "soliton": "3*sech((x - 1)/0.044)**2",
    "two-solitons": "3*sech((x - 0.5)/0.044)**2 + 0.75*sech((x - 1.2)/0.088)**2",
    "bump": "exp(-20*(x - 1)**2)",
}


def kdv_soliton(
    x: Tensor, t: Tensor, *, c: float, delta: float, x0: float, length: float
) -> Tensor:
    """The KdV soliton u = 3c sech²(√(c/δ)/2 · (x − ct − x₀)), wrapped onto a period.

    Exact on the whole line; on a period L ≫ √(δ/c) the neighbouring images add
    ≈ 12c·e^{−√(c/δ) L/2}, below rounding for the presets' widths.
    """
    s = torch.remainder(x - c * t - x0 + length / 2, length) - length / 2
    # 1 − tanh² = sech², without cosh's overflow (and nan derivatives) far out.
    return 3 * c * (1 - torch.tanh(0.5 * math.sqrt(c / delta) * s) ** 2)


@final
@dataclass(frozen=True)
class KdV(AbstractSemilinearProblem):
    """Korteweg–de Vries equation  uₜ + u uₓ + δ uₓₓₓ = 0  on x ∈ [0, L) periodic.

    u(x, 0) = u₀(x), default cos(πx) (Zabusky & Kruskal 1965, δ = 0.022², L = 2).

    No closed form for general u₀ (the reference is the Fourier/ETDRK4 solver). A
    single soliton u = 3c sech²(√(c/δ)/2 (x − ct − x₀)) is exact on the whole line
    and, to rounding, on a period much wider than it (:func:`kdv_soliton`); the preset
    ``soliton`` is the one with c = 1, x₀ = 1 for the default δ.

    Notes:
        √δ is the ratio of dispersive length to domain length; Zabusky–Kruskal's cos
        steepens until t_B = 1/π and then breaks into a train of solitons (about eight
        by t = 3.6 t_B). Mass ∫u and energy ∫u² are conserved.
        Spectral split: L = iδk³ (exact), N = −(u²/2)ₓ (explicit, dealiased).
    """

    name = "kdv"
    title = "Korteweg–de Vries (periodic)"
    equation = r"u_t + u\,u_x + \delta\, u_{xxx} = 0"
    default_grid = {"x": 256, "t": 100}

    delta: float = parameter(
        0.022**2, bounds=(1e-5, 1.0), doc="dispersion coefficient δ"
    )
    length: float = parameter(2.0, bounds=(0.5, 100.0), doc="period L of the domain")
    t_final: float = parameter(1.0, bounds=(0.01, 10.0), doc="final time T")
    u0: str = expression(
        "zabusky-kruskal",
        doc="initial condition u₀(x)",
        variables=("x",),
        presets=_PRESETS,
    )

    def domain(self) -> Box:
        return Box(("x", "t"), (0.0, 0.0), (self.length, self.t_final), frozenset("x"))

    def residual(
        self, u: Field, xt: Tensor, coeffs: Mapping[str, Tensor] | None = None
    ) -> Tensor:
        d = Partials(u, xt, ("x", "t"), orders={"x": 3, "t": 1})
        return d("t") + d.u * d("x") + self.coefficient("delta", coeffs) * d("xxx")

    def initial_condition(self, x: Tensor) -> Tensor:
        return self.field_expr("u0")(x=x[..., 0])

    def exact_solution(self, xt: Tensor) -> None:
        return None

    # ---- spectral split -------------------------------------------------------------
    def linear_symbol(self, k: Tensor) -> Tensor:
        return 1j * self.delta * k**3

    def nonlinear_term(self, grid: FourierGrid) -> NonlinearTerm:
        g = -0.5j * grid.k
        return lambda v: g * grid.spectral(grid.physical(v).square())

    def nonlinear_rate(self, amplitude: float, k_max: float) -> float:
        # Dispersion does not damp, so every resolved wavenumber advects at U·k.
        return amplitude * k_max

    def layer_width(self, amplitude: float) -> float:
        # Smooth data of amplitude U shed solitons of height up to ≈ 3U, i.e. c ≈ U.
        return 2 * math.sqrt(self.delta / amplitude) if amplitude > 0 else math.inf
