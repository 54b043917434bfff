"""Time-independent Schrödinger equation in 1-D: bound states of a potential."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar, Literal, final

import numpy as np
import torch
from torch import Tensor

from explorer.autodiff import Field, Partials
from explorer.domains import Box
from explorer.problems.base import AbstractProblem, expression, parameter

__all__ = ["Schrodinger1D"]

_STEP_POTENTIALS = ("finite-well", "barrier")  # piecewise constant: V jumps at ±w/2
_PRESETS = {
    "quartic": "x**4",
    "v-shaped": "10*abs(x)",
    "tilted-double-well": "20*(x**2 - 1)**2 + 2*x",
    "morse": "50*(1 - exp(-(x + 1)))**2",
}
_GAUSS = np.polynomial.legendre.leggauss(3)  # exact cell means up to degree 5


@final
@dataclass(frozen=True)
class Schrodinger1D(AbstractProblem):
    """Stationary Schrödinger equation  −ψ'' + V(x) ψ = E ψ,  ψ = 0 at the walls.

    Dimensionless units: ħ²/(2m) = 1 with lengths in a unit ℓ (the width of the
    default infinite well), so energies are in units of ħ²/(2mℓ²). The lowest
    ``n_states`` eigenpairs (E_n, ψ_n) are sought, each normalised to ∫ψ² dx = 1
    and signed so that ψ is positive in its leftmost lobe (the ground state is
    positive everywhere).

    Potentials (V₀ = ``depth``, w = ``width``, L = ``half_width``):
        infinite-well: V = 0 on [0, w] with hard walls; E_n = n²π²/w² (n ≥ 1),
            ψ₁ = √(2/w) sin(πx/w). With w = 1, E₁ = π².
        finite-well: V = 0 for |x| < w/2, V₀ outside, on [−L, L]. On the whole
            line the even states solve k tan(kw/2) = √(V₀ − k²), E = k².
        barrier: V = V₀ for |x| < w/2, 0 outside, in the hard-walled box [−L, L]
            (a double well of flat bottoms; tunnelling splits the states in pairs).
        harmonic: V = ω²x²/4 (the oscillator ½mω²x² in these units) on [−L, L];
            E_n = ω(n + ½) (n ≥ 0), so V = x² (ω = 2) gives E = 1, 3, 5, …;
            ψ₀ = (ω/2π)^{1/4} exp(−ωx²/4). The box must hold the states:
            ωL²/4 ≥ n_states + 12 (else ``half_width`` is refused).
        double-well: V = V₀ (4x²/w² − 1)², minima at ±w/2, barrier V₀ at 0, on [−L, L].
        custom: V = ``custom_potential``, an expression in x, on [−L, L].

    Exact solutions (ground state and energies) exist for the infinite well and the
    oscillator; the oscillator's are those of the whole line, which differ from
    the box [−L, L] by about ψ(L)²: below 1e-10 relative for the defaults, about
    1e-6 at the limit ωL²/4 = n_states + 12.

    Notes:
        The residual needs the energy: ``coeffs["energy"]`` (a trainable scalar in a
        PINN). ``has_exact`` is False because the reference is always the
        eigensolver's set of ``n_states`` states and energies;
        :meth:`exact_solution` and :meth:`exact_energies` give the closed forms
        where they exist.
    """

    name = "schrodinger"
    title = "Schrödinger eigenstates (1-D)"
    equation = r"-\psi'' + V(x)\,\psi = E\,\psi"
    kind = "eigen"
    default_grid: ClassVar[Mapping[str, int]] = {"x": 512}
    has_exact = False

    potential: Literal[
        "infinite-well", "finite-well", "barrier", "harmonic", "double-well", "custom"
    ] = parameter("infinite-well", doc="shape of the potential V")
    depth: float = parameter(
        100.0,
        bounds=(0.0, 1e4),
        doc="depth or height V₀ (finite-well, barrier, double-well)",
        units="ħ²/(2mℓ²)",
    )
    width: float = parameter(
        1.0, bounds=(0.05, 10.0), doc="width w of the well or barrier", units="ℓ"
    )
    omega: float = parameter(
        2.0, bounds=(0.1, 100.0), doc="oscillator frequency ω (harmonic)"
    )
    half_width: float = parameter(
        7.0, bounds=(0.5, 50.0), doc="box half-width L: the domain is [−L, L]"
    )
    n_states: int = parameter(4, bounds=(1, 10), doc="number of lowest states sought")
    custom_potential: str = expression(
        "quartic", doc="V(x) for potential = custom", variables=("x",), presets=_PRESETS
    )

    def validate(self) -> None:
        if self.potential in (*_STEP_POTENTIALS, "double-well"):
            if self.width >= 2 * self.half_width:
                raise ValueError(
                    f"{self.name}: parameter 'width' = {self.width!r} does not fit in "
                    f"the box [−L, L] with half_width = {self.half_width!r}; allowed: "
                    "width < 2·half_width"
                )
        if self.potential == "harmonic":
            least = math.sqrt(4 * (self.n_states + 12) / self.omega)
            if self.half_width < least:
                raise ValueError(
                    f"{self.name}: parameter 'half_width' = {self.half_width!r} is too "
                    f"small for {self.n_states} oscillator states with omega = "
                    f"{self.omega!r} (they would touch the walls); allowed: "
                    f"half_width >= {least:.3g}, or raise omega"
                )
        if self.potential == "custom":
            x = torch.linspace(
                -self.half_width, self.half_width, 257, dtype=torch.float64
            )
            v = self.field_expr("custom_potential")(x=x)
            if not bool(torch.isfinite(v).all()):
                raise ValueError(
                    f"{self.name}: parameter 'custom_potential' = "
                    f"{self.custom_potential!r} is not finite on [−L, L]; allowed: "
                    "an expression finite on the whole domain"
                )

    def domain(self) -> Box:
        if self.potential == "infinite-well":
            return Box(("x",), (0.0,), (self.width,))
        return Box(("x",), (-self.half_width,), (self.half_width,))

    def potential_energy(self, x: Tensor) -> Tensor:
        """V at positions ``x`` (any shape), differentiable."""
        w, v0 = self.width, self.depth
        if self.potential == "infinite-well":
            return torch.zeros_like(x)
        if self.potential == "finite-well":
            return torch.where(x.abs() < w / 2, 0.0, v0) + torch.zeros_like(x)
        if self.potential == "barrier":
            return torch.where(x.abs() < w / 2, v0, 0.0) + torch.zeros_like(x)
        if self.potential == "harmonic":
            return self.omega**2 * x**2 / 4
        if self.potential == "double-well":
            return v0 * (4 * x**2 / w**2 - 1) ** 2
        return self.field_expr("custom_potential")(x=x)

    def discontinuities(self) -> tuple[float, ...]:
        """Positions inside the domain where V jumps (solvers put grid nodes there)."""
        if self.potential in _STEP_POTENTIALS:
            return (-self.width / 2, self.width / 2)
        return ()

    def potential_average(self, left: Tensor, right: Tensor) -> Tensor:
        """Mean of V over each cell [left, right]: exact for the built-in potentials.

        Step potentials use the overlap with the step; the others a 3-point
        Gauss–Legendre rule (exact for the polynomial ones, O(h⁶) for smooth custom V).
        """
        if self.potential in _STEP_POTENTIALS:
            half = self.width / 2
            inside = (
                torch.minimum(right, right.new_tensor(half))
                - torch.maximum(left, left.new_tensor(-half))
            ).clamp(min=0)
            frac = inside / (right - left)
            return self.depth * (frac if self.potential == "barrier" else 1 - frac)
        nodes, weights = (
            torch.as_tensor(a, dtype=left.dtype, device=left.device) for a in _GAUSS
        )
        mid, rad = (left + right) / 2, (right - left) / 2
        x = mid[..., None] + rad[..., None] * nodes
        return (self.potential_energy(x) * weights).sum(-1) / 2

    def residual(
        self, u: Field, xt: Tensor, coeffs: Mapping[str, Tensor] | None = None
    ) -> Tensor:
        if coeffs is None or "energy" not in coeffs:
            raise ValueError(
                f"{self.name}: the residual needs the eigenvalue as coeffs['energy'] "
                "(a scalar tensor, trainable in a PINN); allowed: coeffs={'energy': E}"
            )
        d = Partials(u, xt, ("x",), orders={"x": 2})
        return -d("xx") + (self.potential_energy(xt[..., 0]) - coeffs["energy"]) * d.u

    def boundary_condition(self, xt: Tensor) -> Tensor:
        return torch.zeros_like(xt[..., 0])

    def exact_energies(
        self, n: int | None = None, *, device: str | torch.device = "cpu"
    ) -> Tensor | None:
        """The lowest ``n`` (default ``n_states``) exact energies, float64, or None."""
        n = self.n_states if n is None else n
        k = torch.arange(n, dtype=torch.float64, device=device)
        if self.potential == "infinite-well":
            return ((k + 1) * math.pi / self.width) ** 2
        if self.potential == "harmonic":
            return self.omega * (k + 0.5)
        return None

    def exact_solution(self, xt: Tensor) -> Tensor | None:
        """The exact ground state ψ (∫ψ² = 1, positive) where known, else None."""
        x = xt[..., 0]
        if self.potential == "infinite-well":
            return math.sqrt(2 / self.width) * torch.sin(math.pi * x / self.width)
        if self.potential == "harmonic":
            norm = (self.omega / (2 * math.pi)) ** 0.25
            return norm * torch.exp(-self.omega * x**2 / 4)
        return None
