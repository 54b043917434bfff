"""Exact solutions of the evolution problems against independent closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.integrate import quad

from explorer.autodiff import Partials
from explorer.problems import make_problem


def _points(n: int = 200, t_final: float = 1.0, length: float = 1.0) -> torch.Tensor:
    g = torch.Generator().manual_seed(7)
    return torch.rand(n, 2, generator=g, dtype=torch.float64) * torch.tensor(
        [length, t_final], dtype=torch.float64
    )


def test_standing_wave() -> None:
    p = make_problem("wave", {"c": 2.0, "u0": "two-modes"})
    xt = _points()
    x, t = xt[:, 0], xt[:, 1]
    expected = torch.sin(math.pi * x) * torch.cos(2 * math.pi * t) + 0.5 * torch.sin(
        4 * math.pi * x
    ) * torch.cos(8 * math.pi * t)
    torch.testing.assert_close(p.exact_solution(xt), expected, rtol=0, atol=1e-12)
    assert p.initial_velocity(xt[:, :1]).abs().max() == 0


def test_travelling_wave_moves_right_and_has_its_initial_velocity() -> None:
    p = make_problem("wave", {"mode": "travelling", "u0": "sin(2*pi*x)", "c": 1.5})
    xt = _points()
    x, t = xt[:, 0], xt[:, 1]
    expected = torch.sin(2 * math.pi * (x - 1.5 * t))
    torch.testing.assert_close(p.exact_solution(xt), expected, rtol=0, atol=1e-12)
    v0 = p.initial_velocity(xt[:, :1])
    torch.testing.assert_close(v0, -1.5 * 2 * math.pi * torch.cos(2 * math.pi * x))


def test_plucked_string_by_dalembert_has_zero_residual_away_from_kinks() -> None:
    p = make_problem("wave", {"u0": "pulse"})
    xt = _points(400)
    r = p.residual(p.exact_solution, xt).detach()
    assert r.abs().max() < 1e-8


def test_convection_by_characteristics() -> None:
    p = make_problem("convection", {"beta": 30.0})
    xt = _points(length=2 * math.pi)
    x, t = xt[:, 0], xt[:, 1]
    expected = torch.sin(x - 30 * t)
    torch.testing.assert_close(p.exact_solution(xt), expected, rtol=0, atol=1e-12)


def test_logistic_reaction_solves_its_ode() -> None:
    p = make_problem("reaction", {"rho": 5.0})
    x0 = 1.3
    u0 = math.exp(-((x0 - math.pi) ** 2) / (2 * (math.pi / 4) ** 2))
    # Integrate the ODE u' = ρu(1 − u) independently with scipy.
    from scipy.integrate import solve_ivp

    sol = solve_ivp(lambda t, u: 5 * u * (1 - u), (0, 1), [u0], rtol=1e-12, atol=1e-14)
    xt = torch.tensor([[x0, 1.0]], dtype=torch.float64)
    assert float(p.exact_solution(xt)) == pytest.approx(sol.y[0, -1], rel=1e-9)


@pytest.mark.parametrize("boundary", ["dirichlet", "periodic"])
def test_heat_series_against_quadrature(boundary: str) -> None:
    # Heat kernel check at one point: the series must equal the Green's-function
    # integral computed independently by adaptive quadrature.
    nu, length = 0.05, 2.0
    p = make_problem(
        "heat",
        {"nu": nu, "length": length, "u0": "bump", "boundary_type": boundary},
    )
    x, t = 0.7, 0.3

    def kernel(y: float) -> float:
        shifts = range(-6, 7)
        g = 0.0
        for m in shifts:  # images: odd (Dirichlet) or plain (periodic) extension
            g += math.exp(-((x - y - 2 * m * length) ** 2) / (4 * nu * t))
            if boundary == "dirichlet":
                g -= math.exp(-((x + y - 2 * m * length) ** 2) / (4 * nu * t))
            else:
                g += math.exp(-((x - y - (2 * m + 1) * length) ** 2) / (4 * nu * t))
        return g / math.sqrt(4 * math.pi * nu * t)

    u0 = lambda y: math.exp(-50 * (y - 0.5) ** 2)  # noqa: E731
    expected = quad(lambda y: kernel(y) * u0(y), 0, length, limit=200, epsabs=1e-13)[0]
    value = float(p.exact_solution(torch.tensor([[x, t]], dtype=torch.float64)))
    assert value == pytest.approx(expected, abs=1e-9)


def test_autodiff_partials_against_closed_forms() -> None:
    def u(xt: torch.Tensor) -> torch.Tensor:
        return torch.sin(2 * xt[:, 0]) * torch.exp(-3 * xt[:, 1])

    xt = _points(50)
    x, t = xt[:, 0], xt[:, 1]
    d = Partials(u, xt, ("x", "t"))
    s, c, e = torch.sin(2 * x), torch.cos(2 * x), torch.exp(-3 * t)
    torch.testing.assert_close(d("x"), 2 * c * e)
    torch.testing.assert_close(d("xx"), -4 * s * e)
    torch.testing.assert_close(d("xxx"), -8 * c * e)
    torch.testing.assert_close(d("xxxx"), 16 * s * e)
    torch.testing.assert_close(d("xt"), -6 * c * e)
    torch.testing.assert_close(d("tx"), d("xt"))
    with pytest.raises(ValueError, match="unknown input 'y'"):
        d("y")
    forward = Partials(u, xt, ("x", "t"), method="forward")
    for spec in ("x", "xx", "xxx", "xxxx", "xt", "t"):
        torch.testing.assert_close(forward(spec), d(spec))


def test_laplacian_against_finite_differences() -> None:
    def u(xy: torch.Tensor) -> torch.Tensor:
        return torch.exp(xy[:, 0]) * torch.sin(3 * xy[:, 1]) + xy[:, 0] ** 4

    xy = _points(20)
    d = Partials(u, xy, ("x", "y"))
    lap = d("xx") + d("yy")
    h = 1e-3
    fd = torch.zeros_like(lap)
    for i in range(2):
        e = torch.zeros(2, dtype=torch.float64)
        e[i] = h
        fd += (u(xy + e) - 2 * u(xy) + u(xy - e)) / h**2
    np.testing.assert_allclose(lap.detach().numpy(), fd.numpy(), rtol=1e-5, atol=1e-5)
