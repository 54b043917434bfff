"""Reaction–diffusion: the ν = 0 logistic solution, self-convergence, validation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from explorer.problems import make_problem
from explorer.problems.reaction_diffusion import logistic
from explorer.solvers import solve
from explorer.solvers.spectral import SpectralETDRK4, fourier_interpolate


def test_logistic_solution_has_zero_residual(generator: torch.Generator) -> None:
    p = make_problem("reaction-diffusion", {"nu": 0.0, "rho": 7.0})
    xt = p.domain().sample(128, generator=generator)

    def u(z: torch.Tensor) -> torch.Tensor:
        return logistic(p.initial_condition(z[:, :1]), z[:, 1], 7.0)

    assert float(p.residual(u, xt).detach().abs().max()) < 1e-12


def test_residual_diffusion_term(generator: torch.Generator) -> None:
    # u = sin(x) e^{−νt} solves the heat part; the residual is then −ρu(1 − u).
    p = make_problem("reaction-diffusion", {"nu": 2.0, "rho": 3.0})
    xt = p.domain().sample(64, generator=generator)

    def u(z: torch.Tensor) -> torch.Tensor:
        return torch.sin(z[:, 0]) * torch.exp(-2.0 * z[:, 1])

    v = u(xt)
    torch.testing.assert_close(
        p.residual(u, xt).detach(), -3.0 * v * (1 - v), rtol=0, atol=1e-12
    )


@pytest.mark.parametrize(
    ("u0", "solver", "tol"),
    [
        # Smooth periodic data: dealiasing is harmless (measured 3e-9).
        ("sine-bump", SpectralETDRK4(), 1e-7),
        # The Gaussian has a 3e-3 kink at x = 0 ≡ 2π that the reaction amplifies;
        # without dealiasing the ν = 0 scheme is pointwise, so exact up to dt⁴.
        ("gaussian", SpectralETDRK4(dealias=False), 1e-6),
    ],
)
def test_nu_zero_is_the_pointwise_logistic(
    u0: str, solver: SpectralETDRK4, tol: float
) -> None:
    p = make_problem("reaction-diffusion", {"nu": 0.0, "u0": u0})
    box = p.domain()
    axes = {"x": box.axis("x", 256), "t": box.axis("t", 100)}
    u = solver.solve(p, axes)["u"][1]
    exact = logistic(
        p.initial_condition(axes["x"][:, None])[None], axes["t"][:, None], p.rho
    )
    assert float((u - exact).abs().max()) < tol


def test_exponential_convergence_in_nx() -> None:
    p = make_problem("reaction-diffusion", {"nu": 0.5, "u0": "sine-bump"})
    solver = SpectralETDRK4(dt=0.01, refine=False)

    def final(n: int) -> torch.Tensor:
        box = p.domain()
        u = solver.solve(p, {"x": box.axis("x", n), "t": box.axis("t", 2)})["u"][1][-1]
        return fourier_interpolate(u, 128)

    ref = final(128)
    ns = np.array([8, 12, 16, 20])
    errs = np.array([float((final(n) - ref).abs().max()) for n in ns])
    assert np.all(errs[1:] < 0.1 * errs[:-1]), errs  # measured 3e-4, 1e-6, 5e-8, 2e-9
    assert errs[-1] < 1e-8


def test_default_solution_stays_in_the_unit_interval() -> None:
    u = solve(make_problem("reaction-diffusion")).u.values
    assert u.min() > -1e-8 and u.max() < 1 + 1e-8
    assert u[-1].min() > 0.9  # diffusion and growth have filled the domain


@pytest.mark.parametrize("u0", ["2*sin(x)**2", "-0.1 + exp(-(x-pi)**2)"])
def test_initial_values_outside_the_unit_interval_are_refused(u0: str) -> None:
    with pytest.raises(ValueError, match=r"u0.*allowed"):
        make_problem("reaction-diffusion", {"u0": u0})
