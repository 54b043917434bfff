"""Allen–Cahn: the Raissi et al. data, the interface profile, validation."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import torch

from explorer.problems import make_problem
from explorer.solvers import solve


def test_matches_raissi_data(data_dir: Path) -> None:
    data = scipy.io.loadmat(data_dir / "AC.mat")
    ds = solve(make_problem("allen-cahn"), {"x": 512, "t": 201})
    np.testing.assert_allclose(ds.x.values, data["x"].ravel(), rtol=0, atol=1e-14)
    np.testing.assert_allclose(ds.t.values, data["tt"].ravel(), rtol=0, atol=1e-14)
    u, ref = ds.u.values.T, data["uu"]  # the data are (x, t)
    assert np.linalg.norm(u - ref) / np.linalg.norm(ref) <= 1e-4  # measured 8.2e-6
    np.testing.assert_allclose(u[:, 0], ref[:, 0], rtol=0, atol=1e-14)


@pytest.mark.parametrize(("eps", "a"), [(1e-4, 5.0), (1e-2, 1.0)])
def test_interface_profile_has_zero_residual(
    eps: float, a: float, generator: torch.Generator
) -> None:
    p = make_problem("allen-cahn", {"eps": eps, "a": a})
    w = math.sqrt(2 * eps / a)
    xt = p.domain().sample(256, generator=generator)
    xt[:, 0] *= 5 * w  # points across the interface, where all terms are large

    def interface(z: torch.Tensor) -> torch.Tensor:
        return torch.tanh(z[:, 0] / w)

    r = p.residual(interface, xt).detach()
    assert float(r.abs().max()) < 1e-10 * a


def test_residual_terms_have_the_stated_signs(generator: torch.Generator) -> None:
    # u = t x²: u_t = x², u_xx = 2t, so r = x² − 2εt + a t³x⁶ − a t x².
    p = make_problem("allen-cahn", {"eps": 0.3, "a": 2.0})
    xt = p.domain().sample(64, generator=generator)
    x, t = xt[:, 0], xt[:, 1]
    r = p.residual(lambda z: z[:, 1] * z[:, 0] ** 2, xt).detach()
    want = x**2 - 2 * 0.3 * t + 2.0 * t**3 * x**6 - 2.0 * t * x**2
    torch.testing.assert_close(r, want, rtol=0, atol=1e-12)


def test_solution_stays_between_the_stable_states() -> None:
    ds = solve(make_problem("allen-cahn", {"u0": "two-bumps", "t_final": 2.0}))
    # Maximum principle, up to the discretisation error (measured overshoot 2.4e-6).
    assert float(abs(ds.u).max()) <= 1 + 1e-4


def test_non_periodic_initial_condition_is_refused() -> None:
    with pytest.raises(ValueError, match=r"u0.*not periodic"):
        make_problem("allen-cahn", {"u0": "x"})
