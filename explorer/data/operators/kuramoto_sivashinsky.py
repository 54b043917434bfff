"""Kuramoto–Sivashinsky trajectories: pairs u(tₖ) ↦ u(tₖ₊₁) and rollouts."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import final

import torch
from torch import Tensor

from explorer.data.operators.base import AbstractDatasetConfig, Variables
from explorer.data.operators.random_functions import (
    finer_grid,
    grf_coefficients,
    point_std,
    synthesize,
)
from explorer.problems.kuramoto_sivashinsky import KuramotoSivashinsky
from explorer.solvers.grf import GaussianRandomField
from explorer.solvers.spectral import SpectralETDRK4

__all__ = ["KSDataConfig"]

_COURANT = 0.25


@final
@dataclass(frozen=True)
class KSDataConfig(AbstractDatasetConfig):
    """Trajectories of  uₜ + u uₓ + uₓₓ + uₓₓₓₓ = 0  on x ∈ [0, L) periodic.

    u(·, 0) ~ N(0, σ²(−Δ + τ²I)^{−α}) on the period L (modes 0 < |k| < K); after a
    burn-in t_burn the field is on the chaotic attractor and is recorded at
    t = t_burn + j·dt_record, j = 0 … n_times − 1 (stored as t = j·dt_record).

    Attributes:
        resolution: output grid points x_j = jL/n (16 to 4096).
        n_samples, seed, dtype: as for every dataset.
        length: the period L (the default 32π has 16 unstable wavelengths: chaos).
        t_burn: burn-in time (0 to 400).
        dt_record: time between records (0.01 to 50).
        n_times: records per trajectory (2 to 1000).
        alpha, tau, sigma, input_modes: the initial measure (τ in units of 1/x).

    Notes:
        The reference is the Fourier/ETDRK4 solver with a fixed step (¼ over the
        problem's rate bound) on resolution·2ʲ points, the fewest with the solver's
        resolution rule. Trajectories separate like e^{λt} with λ ≈ 0.05–0.1 for
        L = 32π, so rollouts are meaningful for a few tens of time units.
    """

    family = "ks"
    kind = "trajectory"
    BOUNDS = (
        ("resolution", 16, 4096),
        ("length", 1.0, 500.0),
        ("t_burn", 0.0, 400.0),
        ("dt_record", 0.01, 50.0),
        ("n_times", 2, 1000),
        ("alpha", 0.5, 10.0),
        ("tau", 0.01, 100.0),
        ("sigma", 1e-3, 1e4),
        ("input_modes", 4, 1024),
    )

    resolution: int = 128
    n_samples: int = 32
    seed: int = 0
    length: float = 32 * math.pi
    t_burn: float = 20.0
    dt_record: float = 1.0
    n_times: int = 21
    alpha: float = 2.0
    tau: float = 1.0
    sigma: float = 1.0
    input_modes: int = 32
    dtype: str = "float32"

    def __post_init__(self) -> None:
        self.check()
        t_end = self.t_burn + (self.n_times - 1) * self.dt_record
        if t_end > 500:
            raise ValueError(
                f"KSDataConfig: t_burn + (n_times − 1)·dt_record = {t_end:g}; "
                "allowed: at most 500"
            )

    def problem(self) -> KuramotoSivashinsky:
        t_end = self.t_burn + (self.n_times - 1) * self.dt_record
        # u0 is ours (a GRF): the problem's own preset is not used.
        return KuramotoSivashinsky(length=self.length, t_final=max(t_end, 0.01), u0="0")

    def coords(self) -> dict[str, Tensor]:
        n = self.resolution
        x = torch.arange(n, dtype=torch.float64) * self.length / n
        t = torch.arange(self.n_times, dtype=torch.float64) * self.dt_record
        return {"x": x, "t": t}

    def solve_chunk(self, indices: range, device: torch.device) -> Variables:
        field = GaussianRandomField(
            alpha=self.alpha, tau=self.tau, sigma=self.sigma, length=self.length
        )
        c = grf_coefficients(field, indices, self.input_modes, self.seed)
        c[:, 0] = 0  # the usual KS setting: a mean would only shift (Galilean)
        problem = self.problem()
        amplitude = 6 * point_std(field, self.input_modes)
        fine = SpectralETDRK4().resolution(problem, self.resolution, amplitude)
        n = finer_grid(fine, 2 * self.input_modes)
        u0 = synthesize(c.to(device), n, dim=1)
        k_eff = (2 / 3) * math.pi * n / self.length
        dt = _COURANT / problem.nonlinear_rate(amplitude, k_eff)
        times = [self.t_burn + j * self.dt_record for j in range(self.n_times)]
        u = SpectralETDRK4(dt=dt, refine=False).trajectories(problem, u0, times)
        return {"u": (("t", "x"), u[..., :: n // self.resolution])}
