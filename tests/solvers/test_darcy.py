"""Darcy FD: second order by refinement on a manufactured solution; symmetric SPD."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import linregress

from explorer.solvers.darcy import darcy_matrix, solve_darcy


def _manufactured(s: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """a = 2 + sin(2πx)cos(πy), u = sin(πx) sin(2πy) x; f = −∇·(a∇u) in closed form."""
    x = np.linspace(0, 1, s)
    X, Y = np.meshgrid(x, x, indexing="ij")
    pi = np.pi
    a = 2 + np.sin(2 * pi * X) * np.cos(pi * Y)
    ax = 2 * pi * np.cos(2 * pi * X) * np.cos(pi * Y)
    ay = -pi * np.sin(2 * pi * X) * np.sin(pi * Y)
    u = X * np.sin(pi * X) * np.sin(2 * pi * Y)
    ux = (np.sin(pi * X) + pi * X * np.cos(pi * X)) * np.sin(2 * pi * Y)
    uxx = (2 * pi * np.cos(pi * X) - pi**2 * X * np.sin(pi * X)) * np.sin(2 * pi * Y)
    uy = 2 * pi * X * np.sin(pi * X) * np.cos(2 * pi * Y)
    uyy = -4 * pi**2 * u
    f = -(ax * ux + a * uxx + ay * uy + a * uyy)
    return a, f, u


def test_second_order_on_a_manufactured_solution() -> None:
    sizes = [17, 33, 65, 129]
    errors = []
    for s in sizes:
        a, f, u = _manufactured(s)
        errors.append(np.abs(solve_darcy(a, f) - u).max())
    h = [1 / (s - 1) for s in sizes]
    slope = linregress(np.log(h), np.log(errors)).slope
    assert slope == pytest.approx(2.0, abs=0.2)
    assert errors[-1] < 1e-3


def test_constant_coefficient_is_the_poisson_matrix_and_spd() -> None:
    s = 9
    A = darcy_matrix(np.full((s, s), 3.0)).toarray()
    h2 = (1 / (s - 1)) ** 2
    assert np.allclose(A, A.T)
    assert np.all(np.linalg.eigvalsh(A) > 0)
    assert A[10, 10] == pytest.approx(12 / h2)
    assert A[10, 11] == pytest.approx(-3 / h2)


def test_refuses_a_nonpositive_coefficient() -> None:
    a = np.ones((5, 5))
    a[2, 2] = 0.0
    with pytest.raises(ValueError, match="positive"):
        solve_darcy(a)
