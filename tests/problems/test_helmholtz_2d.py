"""Helmholtz 2-D: manufactured solution, trainable κ, resonance and the reference."""

from __future__ import annotations

import math

import pytest
import torch

from explorer.problems import Helmholtz2D, make_problem
from explorer.solvers import solve


@pytest.mark.parametrize("values", [{}, {"a1": 3, "a2": 2, "kappa": 7.5}])
def test_manufactured_solution_has_zero_residual(
    values: dict, generator: torch.Generator
) -> None:
    p = Helmholtz2D(**values)
    xy = p.domain().sample(300, generator=generator)
    r = p.residual(p.exact_solution, xy).detach()
    scale = (p.a1**2 + p.a2**2) * math.pi**2
    assert r.abs().max() <= 1e-12 * scale


def test_kappa_can_be_a_trainable_coefficient(generator: torch.Generator) -> None:
    p = Helmholtz2D(kappa=2.0)
    xy = p.domain().sample(64, generator=generator)
    kappa = torch.tensor(2.5, dtype=torch.float64, requires_grad=True)
    r = p.residual(p.exact_solution, xy, {"kappa": kappa})
    # With the wrong κ the residual is (κ² − 4) u exactly.
    torch.testing.assert_close(r, (2.5**2 - 4.0) * p.exact_solution(xy))
    r.square().mean().backward()
    assert kappa.grad is not None and kappa.grad.abs() > 0


def test_domain_is_the_symmetric_square() -> None:
    box = Helmholtz2D().domain()
    assert box.names == ("x", "y")
    assert box.lows == (-1.0, -1.0) and box.highs == (1.0, 1.0)


def test_resonant_kappa_is_refused() -> None:
    kappa = math.pi / 2 * math.sqrt(1**2 + 2**2)  # an eigenvalue of −Δ on [−1, 1]²
    with pytest.raises(ValueError, match=r"'kappa'.*resonant"):
        Helmholtz2D(kappa=kappa)
    Helmholtz2D(kappa=kappa * 1.01)  # nearby values are allowed


@pytest.mark.parametrize(("name", "value"), [("a1", 0), ("a2", 11), ("kappa", -1.0)])
def test_bad_values_name_the_parameter(name: str, value: float) -> None:
    with pytest.raises(ValueError, match=repr(name)):
        make_problem("helmholtz-2d", {name: value})


def test_reference_dataset() -> None:
    ds = solve(Helmholtz2D())
    assert ds["u"].dims == ("x", "y") and ds["u"].shape == (64, 64)
    assert float(ds["x"][0]) == -1.0 and float(ds["y"][-1]) == 1.0
