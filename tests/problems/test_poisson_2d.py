"""Poisson 2-D: manufactured modes, the expression-forcing mode and its reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from explorer.problems import Poisson2D, make_problem
from explorer.solvers import reference_solver, solve
from explorer.solvers.elliptic import EllipticSolver


@pytest.mark.parametrize("values", [{}, {"a": 2, "b": 3, "c": 0.5, "p": 7, "q": 5}])
def test_manufactured_solution_has_zero_residual(
    values: dict, generator: torch.Generator
) -> None:
    p = Poisson2D(**values)
    assert p.has_exact
    xy = p.domain().sample(300, generator=generator)
    r = p.residual(p.exact_solution, xy).detach()
    assert r.abs().max() <= 1e-12 * p.rhs(xy).abs().max()


def test_manufactured_solution_vanishes_on_the_boundary() -> None:
    p = Poisson2D(a=3, b=2, c=1.0, p=5, q=6)
    s = torch.linspace(0, 1, 17, dtype=torch.float64)
    edges = torch.cat(
        [
            torch.stack([s, torch.zeros_like(s)], 1),
            torch.stack([s, torch.ones_like(s)], 1),
            torch.stack([torch.zeros_like(s), s], 1),
            torch.stack([torch.ones_like(s), s], 1),
        ]
    )
    assert p.exact_solution(edges).abs().max() < 1e-14


def test_expression_forcing_has_no_exact_solution_and_a_sparse_reference() -> None:
    p = Poisson2D(forcing="gaussian-source")
    assert not p.has_exact
    xy = torch.tensor([[0.5, 0.5]], dtype=torch.float64)
    assert p.exact_solution(xy) is None
    torch.testing.assert_close(p.rhs(xy), torch.tensor([100.0], dtype=torch.float64))
    assert isinstance(reference_solver(p), EllipticSolver)
    ds = solve(p)
    assert ds["u"].dims == ("x", "y") and ds["u"].shape == (64, 64)
    assert ds.attrs["param_forcing"] == "gaussian-source"
    u = ds["u"].values
    assert u[32, 32] > 0 and np.allclose(u, u.T, atol=1e-14)  # symmetric source


def test_typed_forcing_is_evaluated() -> None:
    p = Poisson2D(forcing="x*y + 2")
    xy = torch.tensor([[0.5, 0.25]], dtype=torch.float64)
    torch.testing.assert_close(p.rhs(xy), torch.tensor([2.125], dtype=torch.float64))


@pytest.mark.parametrize(
    ("name", "value"), [("a", 0), ("q", 17), ("c", 11.0), ("forcing", "sin(x")]
)
def test_bad_values_name_the_parameter(name: str, value: object) -> None:
    with pytest.raises(ValueError, match=repr(name)):
        make_problem("poisson-2d", {name: value})


def test_reference_dataset_for_the_manufactured_default() -> None:
    ds = solve(Poisson2D(), {"x": 33, "y": 17})
    assert ds["u"].dims == ("x", "y") and ds["u"].shape == (33, 17)
    assert ds.attrs["solver"] == "exact"
    x, y = np.meshgrid(ds["x"], ds["y"], indexing="ij")
    np.testing.assert_allclose(
        ds["u"].values, np.sin(math.pi * x) * np.sin(math.pi * y), atol=1e-15
    )
