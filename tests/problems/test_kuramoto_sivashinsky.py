"""Kuramoto–Sivashinsky: residual terms, convergence in nx, the attractor."""

from __future__ import annotations

import numpy as np
import torch

from explorer.problems import make_problem
from explorer.solvers import solve
from explorer.solvers.spectral import SpectralETDRK4, fourier_interpolate


def test_residual_terms_have_the_stated_coefficients(
    generator: torch.Generator,
) -> None:
    # u = A sin(kx) e^{st}: every term has a closed form.
    p = make_problem("ks", {"alpha": 2.0, "beta": 0.5, "gamma": 0.3})
    xt = p.domain().sample(128, generator=generator)
    x, t = xt[:, 0], xt[:, 1]
    a, k, s = 0.7, 0.4, -0.05

    def u(z: torch.Tensor) -> torch.Tensor:
        return a * torch.sin(k * z[:, 0]) * torch.exp(s * z[:, 1])

    v = u(xt)
    ux = a * k * torch.cos(k * x) * torch.exp(s * t)
    want = s * v + 2.0 * v * ux - 0.5 * k**2 * v + 0.3 * k**4 * v
    torch.testing.assert_close(p.residual(u, xt).detach(), want, rtol=0, atol=1e-11)


def test_exponential_convergence_in_nx() -> None:
    p = make_problem("ks", {"t_final": 10.0})
    solver = SpectralETDRK4(dt=0.05, refine=False)

    def final(n: int) -> torch.Tensor:
        box = p.domain()
        u = solver.solve(p, {"x": box.axis("x", n), "t": box.axis("t", 2)})["u"][1][-1]
        return fourier_interpolate(u, 384)

    ref = final(384)
    ns = np.array([64, 96, 128, 160, 192, 224])
    errs = np.array([float((final(n) - ref).abs().max()) for n in ns])
    assert np.all(errs[1:] < 0.5 * errs[:-1]), errs
    rate, _ = np.polyfit(ns, np.log(errs), 1)  # err ∝ e^{rate·n}
    assert rate < -0.04, (rate, errs)
    assert errs[-1] < 2e-5, errs  # chaos amplifies: measured 7e-5 at n = 192


def test_default_solve_reaches_the_chaotic_attractor() -> None:
    ds = solve(make_problem("ks"))
    u = ds.u.values
    np.testing.assert_allclose(u.mean(axis=1), u[0].mean(), rtol=0, atol=1e-12)
    assert 2.0 < np.abs(u[-1]).max() < 4.0  # the attractor's |u| (measured 2.6)
    # Resolved: the spectrum at the end has fallen by 1e-6 before the dealiasing cut.
    spec = np.abs(np.fft.rfft(u[-1]))
    assert spec[80:].max() < 1e-6 * spec.max()
