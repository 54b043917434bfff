"""Periodic Burgers: the DeepXDE data, Cole–Hopf, exponential convergence in nx."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from explorer.problems import make_problem
from explorer.solvers import solve
from explorer.solvers.spectral import SpectralETDRK4, fourier_interpolate


def test_matches_the_dirichlet_benchmark_data(data_dir: Path) -> None:
    # Burgers.npz has x = linspace(−1, 1, 256), i.e. x_i = −1 + i/127.5: every other
    # point of the 510-point periodic grid −1 + j/255, plus x = 1 ≡ −1.
    data = np.load(data_dir / "Burgers.npz")
    ds = solve(
        make_problem("burgers-periodic", {"t_final": 0.99}), {"x": 510, "t": 100}
    )
    u = ds.u.values[:, ::2]
    u = np.concatenate([u, u[:, :1]], axis=1).T  # (x, t) like the data
    np.testing.assert_allclose(ds.x.values[::2], data["x"].ravel()[:-1], atol=1e-14)
    np.testing.assert_allclose(ds.t.values, data["t"].ravel(), atol=1e-14)
    ref = data["usol"]
    assert np.linalg.norm(u - ref) / np.linalg.norm(ref) <= 1e-4  # measured 1.7e-6


def test_cole_hopf_solution_has_zero_residual(generator: torch.Generator) -> None:
    dirichlet = make_problem("burgers", {"nu": 0.02})
    p = make_problem("burgers-periodic", {"nu": 0.02})
    xt = p.domain().sample(128, generator=generator)
    xt[:, 1] = 0.05 + 0.95 * xt[:, 1]
    r = p.residual(dirichlet.exact_solution, xt).detach()
    assert float(r.abs().max()) < 1e-7


def test_spectral_solution_converges_to_cole_hopf() -> None:
    p = make_problem("burgers-periodic", {"nu": 0.02})
    box = p.domain()
    axes = {"x": box.axis("x", 128), "t": box.axis("t", 11)}
    x, t = np.meshgrid(axes["x"].numpy(), axes["t"].numpy())
    xt = torch.tensor(np.stack([x.ravel(), t.ravel()], -1))
    exact = make_problem("burgers", {"nu": 0.02}).exact_solution(xt).reshape(x.shape)
    errors = []
    for courant in (0.5, 0.1):  # the default, then a 5× smaller step
        u = SpectralETDRK4(courant=courant).solve(p, axes)["u"][1]
        errors.append(float((u - exact).abs().max()))
    assert errors[0] < 1e-5 and errors[1] < 5e-8, errors  # measured 3.8e-6, 1.3e-8


def test_exponential_convergence_in_nx() -> None:
    p = make_problem("burgers-periodic", {"nu": 0.05, "t_final": 0.5})
    solver = SpectralETDRK4(dt=2e-3, refine=False)

    def final(n: int) -> torch.Tensor:
        box = p.domain()
        u = solver.solve(p, {"x": box.axis("x", n), "t": box.axis("t", 2)})["u"][1][-1]
        return fourier_interpolate(u, 256)

    ref = final(256)
    ns = np.array([24, 32, 40, 48, 56, 64])
    errs = np.array([float((final(n) - ref).abs().max()) for n in ns])
    assert np.all(errs[1:] < 0.6 * errs[:-1]), errs
    rate, _ = np.polyfit(ns, np.log(errs), 1)  # err ∝ e^{rate·n}; measured −0.19
    assert rate < -0.12, errs
    assert errs[-1] < 1e-5


def test_mean_is_conserved() -> None:
    ds = solve(make_problem("burgers-periodic", {"u0": "0.3 + sin(pi*x)", "nu": 0.01}))
    mean = ds.u.values.mean(axis=1)
    np.testing.assert_allclose(mean, 0.3, rtol=0, atol=1e-12)
