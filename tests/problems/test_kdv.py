"""KdV: the soliton (residual and solve), conservation laws for Zabusky–Kruskal."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from explorer.problems import make_problem
from explorer.problems.kdv import kdv_soliton
from explorer.solvers import solve
from explorer.solvers.spectral import SpectralETDRK4


@pytest.mark.parametrize(("c", "delta"), [(1.0, 0.022**2), (0.3, 0.01)])
def test_soliton_has_zero_residual(
    c: float, delta: float, generator: torch.Generator
) -> None:
    p = make_problem("kdv", {"delta": delta, "length": 40.0})
    xt = p.domain().sample(256, generator=generator)

    def soliton(z: torch.Tensor) -> torch.Tensor:
        return kdv_soliton(z[:, 0], z[:, 1], c=c, delta=delta, x0=20.0, length=40.0)

    assert float(
        p.residual(soliton, xt).detach().abs().max()
    ) < 1e-9 * c**2 / math.sqrt(delta)


def test_soliton_preset_is_the_formula() -> None:
    p = make_problem("kdv", {"u0": "soliton"})
    x = p.domain().axis("x", 256)
    want = kdv_soliton(x, torch.zeros(()), c=1.0, delta=p.delta, x0=1.0, length=2.0)
    torch.testing.assert_close(p.initial_state(x), want, rtol=0, atol=1e-14)


def test_solver_moves_the_soliton_exactly() -> None:
    # The soliton crosses x = 2 ≡ 0 (the wrap) at t = 1.
    p = make_problem("kdv", {"u0": "soliton"})
    box = p.domain()
    axes = {"x": box.axis("x", 256), "t": box.axis("t", 100)}
    exact = kdv_soliton(
        axes["x"][None], axes["t"][:, None], c=1.0, delta=p.delta, x0=1.0, length=2.0
    )
    errors = [
        float((s.solve(p, axes)["u"][1] - exact).abs().max())
        for s in (SpectralETDRK4(), SpectralETDRK4(courant=0.2))
    ]
    # Height 3: measured 2.0e-5 with the default step and 6e-7 with 2.5× smaller.
    assert errors[0] < 1e-4 and errors[1] < 1e-6, errors


def test_zabusky_kruskal_conserves_mass_and_energy() -> None:
    ds = solve(make_problem("kdv"))
    u = ds.u.values
    assert np.abs(u.mean(axis=1)).max() < 1e-13  # ∫ cos(πx) = 0
    energy = (u**2).sum(axis=1)
    assert np.abs(energy / energy[0] - 1).max() < 1e-6  # measured 2.3e-7
    assert 2.0 < np.abs(u[-1]).max() < 3.5  # solitons have formed (height ≈ 2.6)
