"""Darcy flow on the unit square: permeability a ↦ pressure u (FNO paper's 2-D map)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, final

import numpy as np
import torch
from torch import Tensor

from explorer._validate import check_choice
from explorer.data.operators.base import AbstractDatasetConfig, Variables
from explorer.data.operators.random_functions import (
    cosine_coefficients,
    evaluate_coefficients,
    evaluate_cosine,
    grf_coefficients,
)
from explorer.solvers.darcy import solve_darcy
from explorer.solvers.grf import GaussianRandomField

__all__ = ["DarcyDataConfig", "LevelSet"]

LevelSet = Literal["neumann", "periodic"]


@final
@dataclass(frozen=True)
class DarcyDataConfig(AbstractDatasetConfig):
    """a ↦ u for  −∇·(a ∇u) = 1  on (0, 1)², u = 0 on the boundary.

    a = ψ(g) with g ~ N(0, σ²(−Δ + τ²I)^{−α}) and ψ mapping positive values to
    ``a_high`` and the rest to ``a_low``: the FNO paper's piecewise-constant 12/3
    permeabilities (Li et al. 2021, §5.2, τ = 3, α = 2). The paper's g has zero
    Neumann conditions on (0, 1)²: a series in cos(πkx) cos(πly), k, l < K
    (``level_set="neumann"``). ``"periodic"`` takes the period-1 Fourier series
    (|kᵢ| < K) instead: its lowest wavenumber is 2π, not π, so its phases are
    smaller and their boundaries longer (1.4x on the 64² grid of
    ``bench/fno_darcy.py``), and the map is harder to learn: that benchmark's FNO
    trained 200 epochs on the relative L2 loss reaches test relative L2 1.35e-2 on
    it and 1.09e-2 on the Neumann field.

    Attributes:
        resolution: s nodes per side, x_i = i/(s − 1), boundary included (5 to 1025).
        n_samples, seed, dtype: as for every dataset.
        a_high, a_low: the two permeabilities (1e-3 to 1e3).
        alpha, tau, input_modes: the level-set field (its σ does not matter).
        level_set: its basis, ``"neumann"`` (the paper's) or ``"periodic"``.

    Notes:
        The solve is the five-point finite-difference scheme of
        :mod:`explorer.solvers.darcy` on the s × s grid itself, on the CPU (scipy's
        SuperLU), so a coarse dataset carries that grid's discretisation error (about
        first order where a jumps). Grids with (s_fine − 1)/(s − 1) an integer
        subsample exactly; the FNO data were solved at s = 421 and subsampled.
    """

    family = "darcy"
    kind = "map"
    BOUNDS = (
        ("resolution", 5, 1025),
        ("a_high", 1e-3, 1e3),
        ("a_low", 1e-3, 1e3),
        ("alpha", 0.5, 10.0),
        ("tau", 0.1, 100.0),
        ("input_modes", 2, 256),
    )

    resolution: int = 33
    n_samples: int = 64
    seed: int = 0
    a_high: float = 12.0
    a_low: float = 3.0
    alpha: float = 2.0
    tau: float = 3.0
    input_modes: int = 16
    level_set: LevelSet = "neumann"
    dtype: str = "float32"

    def __post_init__(self) -> None:
        self.check()
        check_choice("DarcyDataConfig.level_set", self.level_set, LevelSet)

    def subsample_factor(self, finer: int) -> int | None:
        n = self.resolution - 1
        if finer > self.resolution and (finer - 1) % n == 0:
            return (finer - 1) // n
        return None

    def coords(self) -> dict[str, Tensor]:
        x = torch.linspace(0, 1, self.resolution, dtype=torch.float64)
        return {"x": x, "y": x}

    def solve_chunk(self, indices: range, device: torch.device) -> Variables:
        field = GaussianRandomField(alpha=self.alpha, tau=self.tau, dim=2)
        x = self.coords()["x"]
        neumann = self.level_set == "neumann"
        draw = cosine_coefficients if neumann else grf_coefficients
        c = draw(field, indices, self.input_modes, self.seed)
        c[:, 0, 0] = 0  # a mean-zero level set: both phases about equally likely
        g = (evaluate_cosine if neumann else evaluate_coefficients)(c, x, x)
        a = torch.where(g > 0, self.a_high, self.a_low).to(torch.float64)
        u = np.stack([solve_darcy(ai) for ai in a.numpy()])
        dims = ("x", "y")
        return {"a": (dims, a.to(device)), "u": (dims, torch.from_numpy(u).to(device))}
