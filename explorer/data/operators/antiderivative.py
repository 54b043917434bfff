"""The antiderivative operator v ↦ u, u(x) = ∫₀ˣ v(s) ds: DeepONet's first example."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import final

import torch
from torch import Tensor

from explorer.data.operators.base import AbstractDatasetConfig, Variables
from explorer.data.operators.random_functions import grf_coefficients
from explorer.solvers.grf import GaussianRandomField

__all__ = ["AntiderivativeDataConfig", "antiderivative", "evaluate_series"]


def evaluate_series(coefficients: Tensor, x: Tensor) -> Tensor:
    """v(x) = Σ_k c_k e^{2πikx} (Hermitian sum) at points ``x`` from ``rfft``-layout
    coefficients ``(batch, K + 1)``; returns ``(batch, len(x))``."""
    k = torch.arange(coefficients.shape[-1], dtype=torch.float64, device=x.device)
    e = torch.exp(2j * math.pi * x.to(torch.float64)[:, None] * k)  # (n, K+1)
    w = torch.full_like(k, 2.0)
    w[0] = 1.0
    return ((coefficients * w) @ e.T).real


def antiderivative(coefficients: Tensor, x: Tensor) -> Tensor:
    """u(x) = ∫₀ˣ v, exact for v = Σ_k c_k e^{2πikx}.

    u(x) = c₀x + Σ_{k≠0} c_k (e^{2πikx} − 1)/(2πik).

    Args:
        coefficients: ``(batch, K + 1)`` complex, ``rfft`` layout.
        x: ``(n,)`` points.

    Returns:
        ``(batch, n)`` real.
    """
    x = x.to(torch.float64)
    k = torch.arange(1, coefficients.shape[-1], dtype=torch.float64, device=x.device)
    e = (torch.exp(2j * math.pi * x[:, None] * k) - 1) / (2j * math.pi * k)
    mean = coefficients[:, :1].real * x
    return mean + 2 * (coefficients[:, 1:] @ e.T).real


@final
@dataclass(frozen=True)
class AntiderivativeDataConfig(AbstractDatasetConfig):
    """v ↦ u with  u′ = v,  u(0) = 0  on x ∈ [0, 1] (Lu et al. 2021, DeepONet).

    v ~ N(0, σ²(−Δ + τ²I)^{−α}) (period 1, modes |k| < K); u is exact (the
    antiderivative of a trigonometric polynomial), so the data have no error.

    Attributes:
        resolution: points x_i = i/(n − 1), both ends included (3 to 16385).
        n_samples, seed, dtype: as for every dataset.
        alpha, tau, sigma, input_modes: the input measure.
    """

    family = "antiderivative"
    kind = "map"
    BOUNDS = (
        ("resolution", 3, 16385),
        ("alpha", 0.5, 10.0),
        ("tau", 0.1, 100.0),
        ("sigma", 1e-3, 1e4),
        ("input_modes", 2, 1024),
    )

    resolution: int = 101
    n_samples: int = 64
    seed: int = 0
    alpha: float = 2.0
    tau: float = 5.0
    sigma: float = 25.0
    input_modes: int = 16
    dtype: str = "float32"

    def __post_init__(self) -> None:
        self.check()

    def subsample_factor(self, finer: int) -> int | None:
        n = self.resolution - 1
        if finer > self.resolution and (finer - 1) % n == 0:
            return (finer - 1) // n
        return None

    def coords(self) -> dict[str, Tensor]:
        return {"x": torch.linspace(0, 1, self.resolution, dtype=torch.float64)}

    def solve_chunk(self, indices: range, device: torch.device) -> Variables:
        field = GaussianRandomField(alpha=self.alpha, tau=self.tau, sigma=self.sigma)
        c = grf_coefficients(field, indices, self.input_modes, self.seed).to(device)
        x = self.coords()["x"].to(device)
        return {
            "a": (("x",), evaluate_series(c, x)),
            "u": (("x",), antiderivative(c, x)),
        }
