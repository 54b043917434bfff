"""The sparse finite-difference solver: exactness, convergence order, bad inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import linregress

from explorer.problems import Heat, Helmholtz2D, Poisson1D, Poisson2D
from explorer.problems.base import AbstractProblem
from explorer.solvers.elliptic import EllipticSolver, _dirichlet_solve
from explorer.solvers.exact import ExactSolver

SOLVER = EllipticSolver()


def _axes(problem: AbstractProblem, n: int, dtype=torch.float64) -> dict:
    box = problem.domain()
    return {name: box.axis(name, n, dtype=dtype) for name in box.names}


def _error(problem: AbstractProblem, n: int) -> float:
    axes = _axes(problem, n)
    u = SOLVER.solve(problem, axes)["u"][1]
    return float((u - ExactSolver().solve(problem, axes)["u"][1]).abs().max())


@pytest.mark.parametrize(
    ("problem", "ks"),
    [
        (Poisson1D(), range(5, 10)),
        (Poisson1D(k=2, K=7, a=0.5), range(5, 10)),
        (Poisson2D(), range(3, 7)),
        (Poisson2D(a=2, b=1, c=0.3, p=3, q=5), range(4, 8)),
        (Helmholtz2D(), range(4, 8)),
        (Helmholtz2D(a1=2, a2=3, kappa=6.0), range(4, 8)),
    ],
    ids=lambda v: getattr(v, "name", ""),
)
def test_convergence_order(problem: AbstractProblem, ks: range) -> None:
    # n = 2^k + 1 points: h halves exactly with k.
    h = [2.0**-k for k in ks]
    err = [_error(problem, 2**k + 1) for k in ks]
    slope = linregress(np.log(h), np.log(err)).slope
    assert abs(slope - SOLVER.order_space) < 0.3, (slope, err)


def test_default_grids_are_accurate() -> None:
    # The error constant of the 3-/5-point stencils: ≈ max|u''''| h² / 12.
    assert _error(Poisson1D(), 256) < 2e-4
    assert _error(Poisson2D(), 64) < 3e-4
    assert _error(Helmholtz2D(), 64) < 2e-2


def test_expression_forcing_converges_to_the_torsion_series() -> None:
    """-Δu = 1 on the unit square; u(½, ½) by the rapidly converging single series."""
    m = np.arange(1, 60, 2.0)
    exact = 1 / 8 - np.sum(
        4 / (np.pi**3 * m**3) * (-1) ** ((m - 1) / 2) / np.cosh(m * np.pi / 2)
    )
    problem = Poisson2D(forcing="constant")
    ks = range(4, 8)
    err = []
    for k in ks:
        u = SOLVER.solve(problem, _axes(problem, 2**k + 1))["u"][1]
        err.append(abs(float(u[2 ** (k - 1), 2 ** (k - 1)]) - exact))
    slope = linregress(np.log([2.0**-k for k in ks]), np.log(err)).slope
    assert abs(slope - 2) < 0.3
    assert err[-1] < 5e-6


def test_quadratics_are_exact_with_boundary_values_and_reaction() -> None:
    """The 3-point formula is exact for quadratics, on unequal steps too."""
    x = np.array([0.0, 0.1, 0.35, 0.5, 0.8, 1.0])
    y = np.linspace(-1.0, 2.0, 7)
    xx, yy = np.meshgrid(x, y, indexing="ij")
    u = 1 + xx**2 - 3 * xx * yy + 2 * yy**2
    c = 2.5
    f = -(2 + 4) + c * u  # −Δu + c·u
    got = _dirichlet_solve([x, y], c, f.ravel(), u.ravel())
    np.testing.assert_allclose(got, u, atol=1e-12)


def test_float32_axes_give_float32_results() -> None:
    problem = Poisson2D()
    u = SOLVER.solve(problem, _axes(problem, 17, dtype=torch.float32))["u"]
    assert u[0] == ("x", "y") and u[1].dtype == torch.float32 and u[1].shape == (17, 17)


def test_progress_is_reported() -> None:
    seen: list[float] = []
    SOLVER.solve(Poisson1D(), _axes(Poisson1D(), 33), progress=seen.append)
    assert seen[-1] == 1.0


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="not a steady problem"):
        SOLVER.solve(
            Heat(), {"x": torch.linspace(0, 1, 9), "t": torch.linspace(0, 1, 3)}
        )
    p = Poisson1D()
    with pytest.raises(ValueError, match="must run from 0 to 1"):
        SOLVER.solve(p, {"x": torch.linspace(0.1, 1, 9, dtype=torch.float64)})
    with pytest.raises(ValueError, match="at least 3 increasing"):
        SOLVER.solve(p, {"x": torch.tensor([0.0, 1.0], dtype=torch.float64)})
