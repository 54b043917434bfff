"""Nonlinear Schrödinger: soliton (residual, solve), mass, the complex layout."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from explorer.problems import make_problem
from explorer.problems.nls import nls_soliton
from explorer.solvers import solve
from explorer.solvers.spectral import SpectralETDRK4


def _as_components(h: torch.Tensor) -> torch.Tensor:
    return torch.stack([h.real, h.imag], dim=-1)


@pytest.mark.parametrize("a", [1.0, 2.5])
def test_soliton_has_zero_residual(a: float, generator: torch.Generator) -> None:
    p = make_problem("nls")
    xt = p.domain().sample(256, generator=generator)

    def soliton(z: torch.Tensor) -> torch.Tensor:
        return _as_components(nls_soliton(z[:, 0], z[:, 1], a=a))

    r = p.residual(soliton, xt).detach()
    assert r.shape == (256, 2)
    assert float(r.abs().max()) < 1e-12 * a**3


def test_residual_rejects_a_wrong_phase_speed(generator: torch.Generator) -> None:
    p = make_problem("nls")
    xt = p.domain().sample(64, generator=generator)

    def wrong(z: torch.Tensor) -> torch.Tensor:  # e^{it} instead of e^{it/2}
        return _as_components(nls_soliton(z[:, 0], 2 * z[:, 1], a=1.0))

    assert float(p.residual(wrong, xt).detach().abs().max()) > 0.1


@pytest.mark.parametrize(
    ("values", "a", "tol"),
    [
        # 4 sech(4x) on [−5, 5): tails 8e^{−20}; measured error 3.6e-6 (height 4).
        ({"u0": "narrow-soliton"}, 4.0, 2e-5),
        # sech(x) on [−20, 20): tails 2e^{−20}; measured 4.5e-9.
        ({"u0": "soliton", "length": 40.0}, 1.0, 1e-7),
    ],
)
def test_solver_keeps_the_soliton(values: dict, a: float, tol: float) -> None:
    ds = solve(make_problem("nls", values))
    h = ds.u.values + 1j * ds.v.values
    x, t = torch.tensor(ds.x.values), torch.tensor(ds.t.values)
    exact = nls_soliton(x[None], t[:, None], a=a).numpy()
    assert np.abs(h - exact).max() < tol


def test_mass_is_conserved_for_the_two_soliton_breather() -> None:
    ds = solve(make_problem("nls"))
    h = ds.u.values + 1j * ds.v.values
    mass = (np.abs(h) ** 2).sum(axis=1) * (10 / 256)
    assert mass[0] == pytest.approx(8 * math.tanh(5), rel=1e-3)  # ∫ 4 sech²
    assert np.abs(mass / mass[0] - 1).max() < 1e-6  # measured 1.5e-8
    assert 3.5 < np.abs(h).max() < 4.5  # the breather focuses to |h| ≈ 3.9


def test_initial_condition_has_real_and_imaginary_parts() -> None:
    # A moving soliton sech(x) e^{ix}: periodic when the period is a multiple of 2π.
    values = {"u0": "sech(x)*cos(x)", "v0": "sech(x)*sin(x)", "length": 4 * math.pi}
    p = make_problem("nls", values)
    x = torch.linspace(-5, 5, 11, dtype=torch.float64)
    torch.testing.assert_close(
        p.initial_state(x), torch.exp(1j * x) / torch.cosh(x), rtol=0, atol=1e-15
    )
    assert p.initial_condition(x[:, None]).shape == (11, 2)


def test_batched_complex_trajectories_match_the_solve() -> None:
    p = make_problem("nls")
    ds = solve(p, {"x": 128, "t": 5})
    x = torch.tensor(ds.x.values)
    u0 = torch.stack([p.initial_state(x), 0.5 * p.initial_state(x)])
    out = SpectralETDRK4().trajectories(p, u0, ds.t.values)
    assert out.dtype == torch.complex128 and out.shape == (2, 5, 128)
    h = ds.u.values + 1j * ds.v.values
    np.testing.assert_allclose(out[0].numpy(), h, rtol=0, atol=1e-12)
