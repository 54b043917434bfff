"""The periodic heat equation: u₀ ↦ u(·, T), exact by its Fourier multiplier."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import final

import torch
from torch import Tensor

from explorer.data.operators.base import AbstractDatasetConfig, Variables, check_flag
from explorer.data.operators.random_functions import (
    finer_grid,
    grf_coefficients,
    synthesize,
)
from explorer.solvers.grf import GaussianRandomField

__all__ = ["HeatDataConfig", "heat_multiplier"]


def heat_multiplier(coefficients: Tensor, *, nu: float, t: float) -> Tensor:
    """Fourier coefficients (``rfft`` layout on [0, 1)) multiplied by e^{−ν(2πk)²t}."""
    k = torch.arange(coefficients.shape[-1], dtype=torch.float64)
    decay = torch.exp(-nu * (2 * math.pi * k) ** 2 * t).to(coefficients.device)
    return coefficients * decay


@final
@dataclass(frozen=True)
class HeatDataConfig(AbstractDatasetConfig):
    """u₀ ↦ u(·, T) for  uₜ = ν uₓₓ  on the unit circle x ∈ [0, 1).

    Exact: û(k, T) = û₀(k) e^{−ν(2πk)²T} for the band-limited GRF inputs (|k| < K),
    evaluated pointwise on the grid (no discretisation error).

    Attributes:
        resolution: grid points x_j = j/n (8 to 16384).
        n_samples, seed, dtype: as for every dataset.
        nu: diffusivity ν (1e-5 to 10).
        t_final: T (1e-4 to 10).
        alpha, tau, sigma: the input measure N(0, σ²(−Δ + τ²I)^{−α}).
        input_modes: K (4 to 1024).
        zero_mean: drop the k = 0 mode (the mean, which the heat flow keeps).
    """

    family = "heat"
    kind = "map"
    BOUNDS = (
        ("resolution", 8, 16384),
        ("nu", 1e-5, 10.0),
        ("t_final", 1e-4, 10.0),
        ("alpha", 0.5, 10.0),
        ("tau", 0.1, 100.0),
        ("sigma", 1e-3, 1e4),
        ("input_modes", 4, 1024),
    )

    resolution: int = 256
    n_samples: int = 64
    seed: int = 0
    nu: float = 0.01
    t_final: float = 0.5
    alpha: float = 2.0
    tau: float = 5.0
    sigma: float = 25.0
    input_modes: int = 64
    zero_mean: bool = False
    dtype: str = "float32"

    def __post_init__(self) -> None:
        self.check()
        check_flag(self, "zero_mean")

    def coords(self) -> dict[str, Tensor]:
        n = self.resolution
        return {"x": torch.arange(n, dtype=torch.float64) / n}

    def solve_chunk(self, indices: range, device: torch.device) -> Variables:
        field = GaussianRandomField(alpha=self.alpha, tau=self.tau, sigma=self.sigma)
        c = grf_coefficients(field, indices, self.input_modes, self.seed).to(device)
        if self.zero_mean:
            c[:, 0] = 0
        n = finer_grid(self.resolution, 2 * self.input_modes)
        f = n // self.resolution
        a = synthesize(c, n, dim=1)[:, ::f]
        u = synthesize(heat_multiplier(c, nu=self.nu, t=self.t_final), n, dim=1)
        return {"a": (("x",), a), "u": (("x",), u[:, ::f])}
