"""Viscous Burgers equation with Dirichlet walls: the classic PINN benchmark."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import final

import numpy as np
import torch
from torch import Tensor

from explorer.autodiff import Field, Partials
from explorer.domains import Box
from explorer.problems.base import AbstractProblem, parameter

__all__ = ["Burgers"]

# Gauss–Hermite nodes for the Cole–Hopf integrals. After η = √(4νt)·z the peak of the
# integrand has width ≈ 0.4/√t in z whatever ν is, so a fixed rule suffices: 64 nodes
# match the DeepXDE data to 1e-11 (32 nodes: 4e-4).
_NODES = 64


@final
@dataclass(frozen=True)
class Burgers(AbstractProblem):
    """Viscous Burgers equation  uₜ + u uₓ = ν uₓₓ  on x ∈ (−1, 1), t ∈ (0, T].

    u(x, 0) = −sin(πx),  u(−1, t) = u(1, t) = 0.

    Exact solution by the Cole–Hopf transform (the whole-line solution of this odd,
    2-periodic initial condition vanishes at x = ±1):

        u = −∫ sin(π(x−η)) f(x−η) G(η) dη / ∫ f(x−η) G(η) dη,
        f(y) = exp(−cos(πy) / (2πν)),  G(η) = exp(−η² / (4νt)),

    by Gauss–Hermite quadrature with a log-sum-exp shift (f spans e^{±1/(2πν)}).

    Notes:
        The Reynolds number is 1/ν (unit speed and length); a steep layer of width ≈ ν
        forms at x = 0 for t ≳ 1/π. The default ν = 0.01/π is Raissi et al. (2019)'s
        benchmark; ../reference-data/Burgers.npz (DeepXDE) holds its solution.
        For operator learning with other initial data see ``burgers-periodic``.
    """

    name = "burgers"
    title = "Viscous Burgers (Dirichlet)"
    equation = r"u_t + u\,u_x = \nu\, u_{xx}"
    kind = "evolution"
    default_grid = {"x": 256, "t": 100}
    has_exact = True

    nu: float = parameter(
        0.01 / math.pi, bounds=(1e-3, 1.0), doc="viscosity ν (1/Reynolds number)"
    )
    t_final: float = parameter(1.0, bounds=(0.01, 2.0), doc="final time T")

    def domain(self) -> Box:
        return Box(("x", "t"), (-1.0, 0.0), (1.0, self.t_final))

    def residual(
        self, u: Field, xt: Tensor, coeffs: Mapping[str, Tensor] | None = None
    ) -> Tensor:
        d = Partials(u, xt, ("x", "t"), orders={"x": 2, "t": 1})
        return d("t") + d.u * d("x") - self.coefficient("nu", coeffs) * d("xx")

    def initial_condition(self, x: Tensor) -> Tensor:
        return -torch.sin(math.pi * x[..., 0])

    def boundary_condition(self, xt: Tensor) -> Tensor:
        return torch.zeros_like(xt[..., 0])

    def exact_solution(self, xt: Tensor) -> Tensor:
        z, w = np.polynomial.hermite.hermgauss(_NODES)
        z = torch.as_tensor(z, dtype=xt.dtype, device=xt.device)
        logw = torch.as_tensor(np.log(w), dtype=xt.dtype, device=xt.device)
        x, t = xt[..., 0:1], xt[..., 1:2]
        y = x - torch.sqrt(4 * self.nu * t) * z  # (n, nodes)
        logf = logw - torch.cos(math.pi * y) / (2 * math.pi * self.nu)
        # Softmax = the normalised weights f·w / Σ f·w, overflow-free.
        return -(torch.sin(math.pi * y) * torch.softmax(logf, dim=-1)).sum(-1)
