"""Poisson 1-D: the manufactured solution, its forcing, bounds and the reference."""

from __future__ import annotations

import math

import pytest
import torch

from explorer.problems import Poisson1D, make_problem
from explorer.solvers import solve


@pytest.mark.parametrize(
    "values", [{}, {"k": 3, "K": 17, "a": -0.7}, {"k": 2, "K": 2, "a": 0.0}]
)
def test_manufactured_solution_has_zero_residual(
    values: dict, generator: torch.Generator
) -> None:
    p = Poisson1D(**values)
    x = p.domain().sample(300, generator=generator)
    r = p.residual(p.exact_solution, x).detach()
    scale = (p.k * math.pi) ** 2 + abs(p.a) * (p.K * math.pi) ** 2
    assert r.abs().max() <= 1e-12 * scale


def test_forcing_matches_the_closed_form() -> None:
    p = Poisson1D(k=1, K=10, a=0.1)
    x = torch.tensor([[0.05], [0.5]], dtype=torch.float64)
    expected = [
        math.pi**2 * math.sin(0.05 * math.pi)
        + 0.1 * 100 * math.pi**2 * math.sin(0.5 * math.pi),
        math.pi**2 + 0.0,
    ]
    torch.testing.assert_close(p.rhs(x), torch.tensor(expected, dtype=torch.float64))


def test_walls_hold_zero() -> None:
    p = Poisson1D(k=3, K=11, a=0.4)
    walls = torch.tensor([[0.0], [1.0]], dtype=torch.float64)
    assert p.exact_solution(walls).abs().max() < 1e-14
    assert p.boundary_condition(walls).abs().max() == 0


@pytest.mark.parametrize(("name", "value"), [("k", 0), ("K", 65), ("a", math.nan)])
def test_bad_values_name_the_parameter(name: str, value: float) -> None:
    with pytest.raises(ValueError, match=repr(name)):
        make_problem("poisson-1d", {name: value})


def test_reference_dataset() -> None:
    ds = solve(Poisson1D())
    assert ds["u"].dims == ("x",) and ds["u"].shape == (256,)
    assert ds.attrs["solver"] == "exact" and ds.attrs["param_K"] == 10
