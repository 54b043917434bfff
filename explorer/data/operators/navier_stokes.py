"""2-D Navier–Stokes vorticity on the torus: trajectories as in the FNO paper."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, final

import torch
from torch import Tensor

from explorer.data.operators.base import AbstractDatasetConfig, Variables
from explorer.data.operators.random_functions import (
    finer_grid,
    grf_coefficients,
    synthesize,
)
from explorer.solvers.grf import GaussianRandomField
from explorer.solvers.navier_stokes_2d import (
    kolmogorov_forcing,
    li_forcing,
    navier_stokes_2d,
)

__all__ = ["NavierStokesDataConfig"]

_FORCINGS = {"li": li_forcing, "kolmogorov": kolmogorov_forcing}


@final
@dataclass(frozen=True)
class NavierStokesDataConfig(AbstractDatasetConfig):
    """Trajectories of  ωₜ + u·∇ω = νΔω + f,  ∇·u = 0,  on the unit torus.

    ω(·, 0) ~ N(0, σ²(−Δ + 49 I)^{−2.5}) with σ = 7^{3/2} (the FNO code's
    ``GaussianRF(2, s, alpha=2.5, tau=7)``), modes |kᵢ| < K; f = A(sin 2π(x + y) +
    cos 2π(x + y)) (``"li"``, the paper's) or A sin 8πy (``"kolmogorov"``) or none.
    ω is recorded at t = j·dt_record, j = 0 … n_times − 1 (t = 0 included).

    Attributes:
        resolution: output grid points per side, x_i = i/n (16 to 1024).
        n_samples, seed, dtype: as for every dataset.
        nu: viscosity ν (1e-6 to 1); the paper used 1e-3, 1e-4, 1e-5.
        forcing: ``"li"``, ``"kolmogorov"`` or ``"none"``; amplitude A.
        dt_record: time between records (0.01 to 10); n_times records (2 to 500).
        dt: the solver's largest step (1e-5 to 0.1).
        solver_resolution: the solve runs on resolution·2ʲ ≥ this (and ≥ 2K)
            points per side and is sampled back (the paper: 256 → 64).
        input_modes: K (4 to 256).

    Notes:
        The defaults (64², ν = 1e-3, 10 records a unit apart, dt = 1e-3) are sized
        for a CPU: the paper's T = 50 with dt = 1e-4 is 25x the steps per sample.
        Stability needs dt ≲ Δx / max|u|; max|u| stays below about 1 here.
    """

    family = "navier_stokes"
    kind = "trajectory"
    BOUNDS = (
        ("resolution", 16, 1024),
        ("nu", 1e-6, 1.0),
        ("amplitude", 0.0, 10.0),
        ("dt_record", 0.01, 10.0),
        ("n_times", 2, 500),
        ("dt", 1e-5, 0.1),
        ("solver_resolution", 16, 2048),
        ("input_modes", 4, 256),
    )

    resolution: int = 64
    n_samples: int = 16
    seed: int = 0
    nu: float = 1e-3
    forcing: Literal["li", "kolmogorov", "none"] = "li"
    amplitude: float = 0.1
    dt_record: float = 1.0
    n_times: int = 11
    dt: float = 1e-3
    solver_resolution: int = 64
    input_modes: int = 32
    dtype: str = "float32"

    def __post_init__(self) -> None:
        self.check()
        if self.forcing not in (*_FORCINGS, "none"):
            raise ValueError(
                f"NavierStokesDataConfig.forcing = {self.forcing!r} is not allowed; "
                "allowed: 'li', 'kolmogorov', 'none'"
            )
        if self.dt > self.dt_record:
            raise ValueError(
                f"NavierStokesDataConfig.dt = {self.dt!r} exceeds dt_record = "
                f"{self.dt_record!r}; allowed: dt <= dt_record"
            )

    def coords(self) -> dict[str, Tensor]:
        n = self.resolution
        x = torch.arange(n, dtype=torch.float64) / n
        t = torch.arange(self.n_times, dtype=torch.float64) * self.dt_record
        return {"x": x, "y": x, "t": t}

    def solver_points(self) -> int:
        return finer_grid(
            self.resolution, max(self.solver_resolution, 2 * self.input_modes)
        )

    def solve_chunk(self, indices: range, device: torch.device) -> Variables:
        field = GaussianRandomField(alpha=2.5, tau=7.0, dim=2)
        c = grf_coefficients(field, indices, self.input_modes, self.seed)
        c[:, 0, 0] = 0  # ∫ω = ∮u·dl = 0 on the torus (the FNO code drops it too)
        n = self.solver_points()
        w0 = synthesize(c.to(device), n, dim=2)
        x = torch.arange(n, dtype=torch.float64, device=device) / n
        f = None
        if self.forcing != "none":
            f = _FORCINGS[self.forcing](x, x, self.amplitude)
        times = [j * self.dt_record for j in range(self.n_times)]
        w = navier_stokes_2d(w0, times, nu=self.nu, dt=self.dt, forcing=f)
        s = n // self.resolution
        return {"u": (("t", "x", "y"), w[..., ::s, ::s])}
