"""The Fourier/ETDRK4 solver: coefficients, exactness, time order, batching, options."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from explorer.problems import make_problem
from explorer.problems.semilinear import FourierGrid
from explorer.solvers import solve
from explorer.solvers.etdrk4 import etdrk4, etdrk4_coefficients
from explorer.solvers.grf import GaussianRandomField
from explorer.solvers.spectral import SpectralETDRK4, fourier_interpolate


def _run(problem, solver: SpectralETDRK4, nx: int, nt: int) -> torch.Tensor:
    """(nt, nx) solution, complex for complex problems."""
    box = problem.domain()
    f = solver.solve(problem, {"x": box.axis("x", nx), "t": box.axis("t", nt)})
    u = f["u"][1]
    return torch.complex(u, f["v"][1]) if "v" in f else u


def _phi_direct(z: np.ndarray, h: float) -> list[np.ndarray]:
    """The explicit formulas (Cox–Matthews): cancellation costs ~1e-12 at |z| = 1."""
    e = np.exp(z)
    return [
        e,
        np.exp(z / 2),
        h * (np.exp(z / 2) - 1) / z,
        h * (-4 - z + e * (4 - 3 * z + z**2)) / z**3,
        2 * h * (2 + z + e * (z - 2)) / z**3,
        h * (-4 - 3 * z - z**2 + e * (4 - z)) / z**3,
    ]


@pytest.mark.parametrize("complex_symbol", [False, True])
def test_contour_coefficients_match_the_explicit_formulas(complex_symbol: bool) -> None:
    h = 0.1
    lam = -np.logspace(1, 4, 40)
    if complex_symbol:
        lam = lam * np.exp(0.7j)
    c = etdrk4_coefficients(torch.tensor(lam), h)
    assert c.e.is_complex() == complex_symbol
    for got, want in zip(c, _phi_direct(lam * h, h)):
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-10, atol=1e-15)


def test_contour_coefficients_have_the_right_limits_at_zero() -> None:
    # φ-functions at z → 0: Q → h/2, f1 → h/6, 2·f2 → 2h/6, f3 → h/6 (no cancellation).
    h = 0.3
    c = etdrk4_coefficients(torch.tensor([0.0, 1e-9, -1e-7]), h)
    for got, want in zip(c, [1.0, 1.0, h / 2, h / 6, h / 3, h / 6]):
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-6)


def test_linear_problems_are_integrated_exactly() -> None:
    # N = 0: u_t = u_xx - u_x on [0, 2π), every mode exp((-k² - ik) t).
    n, t = 64, 0.7
    x = 2 * math.pi * torch.arange(n, dtype=torch.float64) / n
    u0 = torch.stack([torch.sin(3 * x), torch.cos(x) + 0.5 * torch.sin(5 * x)])
    k = torch.fft.rfftfreq(n, d=1 / n, dtype=torch.float64)
    out = etdrk4(u0, -(k**2) - 1j * k, lambda v: 0 * v, dt=t / 7, n_steps=7)
    want = torch.stack(
        [
            math.exp(-9 * t) * torch.sin(3 * (x - t)),
            math.exp(-t) * torch.cos(x - t)
            + 0.5 * math.exp(-25 * t) * torch.sin(5 * (x - t)),
        ]
    )
    assert out.shape == (2, 8, n)
    torch.testing.assert_close(out[:, -1], want, rtol=0, atol=1e-13)


def test_scalar_ode_is_fourth_order() -> None:
    # u' = -u + u² (one Fourier mode): u = 1 / (1 + (1/u0 - 1) e^t).
    u0 = torch.full((1, 1), 0.5, dtype=torch.float64)
    exact = 1 / (1 + math.exp(1.0))
    errs = []
    steps = [4, 8, 16, 32]
    for m in steps:
        out = etdrk4(
            u0.to(torch.complex128), torch.tensor([-1.0]), lambda v: v * v, 1 / m, m
        )
        errs.append(abs(complex(out[0, -1, 0]) - exact))
    slope = np.polyfit(np.log(1 / np.array(steps)), np.log(errs), 1)[0]
    assert abs(slope - 4) < 0.3, (errs, slope)


# (problem, values, nx, t points, step sizes): smooth cases whose errors sit well
# above rounding and below the pre-asymptotic range.
ORDER_CASES = [
    ("ks", {"t_final": 2.0}, 128, [0.5, 0.25, 0.125, 0.0625]),
    ("nls", {"t_final": 1.0}, 128, [0.02, 0.01, 0.005, 0.0025]),
    ("allen-cahn", {"t_final": 0.5, "eps": 1e-3}, 128, [0.1, 0.05, 0.025, 0.0125]),
    ("burgers-periodic", {"nu": 0.05, "t_final": 0.5}, 128, [0.02, 0.01, 0.005]),
    ("reaction-diffusion", {}, 64, [0.2, 0.1, 0.05, 0.025]),
]


@pytest.mark.parametrize("case", ORDER_CASES, ids=[c[0] for c in ORDER_CASES])
def test_fourth_order_in_time(case) -> None:
    name, values, nx, steps = case
    p = make_problem(name, values)
    ref = _run(p, SpectralETDRK4(dt=steps[-1] / 8, refine=False), nx, 3)[-1]
    errs = [
        float(
            (_run(p, SpectralETDRK4(dt=h, refine=False), nx, 3)[-1] - ref).abs().max()
        )
        for h in steps
    ]
    slope = np.polyfit(np.log(steps), np.log(errs), 1)[0]
    assert abs(slope - SpectralETDRK4.order_time) < 0.3, (errs, slope)


def test_batched_solve_equals_per_sample_solves() -> None:
    p = make_problem("burgers-periodic", {"nu": 0.02, "t_final": 0.5})
    u0 = GaussianRandomField(length=2.0).sample(
        3, 128, generator=torch.Generator().manual_seed(0)
    )
    t = torch.linspace(0, 0.5, 6, dtype=torch.float64)
    fixed = SpectralETDRK4(dt=2e-3, refine=False)
    batch = fixed.trajectories(p, u0, t)
    assert batch.shape == (3, 6, 128)
    for i in range(3):
        torch.testing.assert_close(
            batch[i], fixed.trajectories(p, u0[i : i + 1], t)[0], rtol=0, atol=1e-13
        )
    # The default picks one step (and grid) for the batch from its largest |u|, so a
    # sample's trajectory matches its own solve to the discretisation error only.
    adaptive = SpectralETDRK4().trajectories(p, u0, t)
    one = SpectralETDRK4().trajectories(p, u0[:1], t)
    assert float((adaptive[0] - one[0]).abs().max()) < 1e-5


def test_trajectories_reproduce_the_problem_solve_and_the_low_level_stepper() -> None:
    p = make_problem("kdv")
    ds = solve(p, {"x": 128, "t": 11})
    x = torch.tensor(ds.x.values)
    traj = SpectralETDRK4().trajectories(p, p.initial_state(x)[None], ds.t.values)
    np.testing.assert_allclose(traj[0].numpy(), ds.u.values, rtol=0, atol=1e-12)
    # etdrk4 with the solver's own pieces and a fixed step gives the same answer.
    solver = SpectralETDRK4(dt=1e-3, refine=False)
    grid = FourierGrid.build(128, p.length, complex_field=False)
    low = etdrk4(
        p.initial_state(x)[None],
        p.linear_symbol(grid.k),
        solver.nonlinear(p, grid),
        dt=1e-3,
        n_steps=1000,
        save_every=100,
    )
    ref = solver.trajectories(p, p.initial_state(x)[None], ds.t.values)
    torch.testing.assert_close(low, ref, rtol=0, atol=1e-11)


def test_float32_and_progress() -> None:
    p = make_problem("allen-cahn")
    x = p.domain().axis("x", 128)
    seen: list[float] = []
    u = SpectralETDRK4().trajectories(
        p, p.initial_state(x)[None].float(), [0.0, 0.5, 1.0], progress=seen.append
    )
    assert u.dtype == torch.float32
    ref = SpectralETDRK4().trajectories(p, p.initial_state(x)[None], [0.0, 0.5, 1.0])
    assert float((u.double() - ref).abs().max()) < 1e-4
    assert seen == sorted(seen) and seen[-1] == 1.0


@pytest.mark.parametrize("complex_field", [False, True])
@pytest.mark.parametrize("n", [16, 15])
def test_trigonometric_interpolation_is_exact_for_band_limited_data(
    complex_field: bool, n: int
) -> None:
    def f(x: torch.Tensor) -> torch.Tensor:
        u = 1 + torch.sin(x) - 0.3 * torch.cos(3 * x) + 0.2 * torch.cos(7 * x)
        return u * (1 + 0.5j) if complex_field else u

    x = 2 * math.pi * torch.arange(n, dtype=torch.float64) / n
    xf = 2 * math.pi * torch.arange(64, dtype=torch.float64) / 64
    torch.testing.assert_close(fourier_interpolate(f(x), 64), f(xf), rtol=0, atol=1e-13)
    torch.testing.assert_close(fourier_interpolate(f(x), n), f(x), rtol=0, atol=1e-14)


def test_refinement_follows_the_layer_width() -> None:
    solver = SpectralETDRK4()
    # Allen–Cahn: w = √(2ε/a) = 6.3e-3 needs (2/3)πn/2 · w ≥ 6, i.e. n ≥ 906.
    assert solver.resolution(make_problem("allen-cahn"), 256, 1.0) == 1024
    assert solver.resolution(make_problem("allen-cahn", {"eps": 1e-2}), 256, 1.0) == 256
    assert (
        SpectralETDRK4(refine=False).resolution(make_problem("allen-cahn"), 256, 1)
        == 256
    )
    assert (
        SpectralETDRK4(max_points=512).resolution(make_problem("allen-cahn"), 256, 1)
        == 512
    )


def test_bad_inputs_raise_value_errors() -> None:
    with pytest.raises(ValueError, match="courant"):
        SpectralETDRK4(courant=0.0)
    with pytest.raises(ValueError, match="dt"):
        SpectralETDRK4(dt=-1.0)
    with pytest.raises(ValueError, match="semilinear"):
        solve_heat = SpectralETDRK4().solve
        box = make_problem("heat").domain()
        solve_heat(make_problem("heat"), {"x": box.axis("x", 8), "t": box.axis("t", 3)})
    p = make_problem("kdv")
    u0 = p.initial_state(p.domain().axis("x", 32))[None]
    with pytest.raises(ValueError, match="increasing"):
        SpectralETDRK4().trajectories(p, u0, [0.0, 0.5, 0.2])
