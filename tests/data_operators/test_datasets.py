"""Operator datasets: each family against exact answers or the reference solvers,
and the properties the cache and the super-resolution tests rely on (the same
functions at every resolution, independence of chunking)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch
import xarray as xr

from explorer.data.operators import (
    DATASETS,
    AntiderivativeDataConfig,
    BurgersDataConfig,
    DarcyDataConfig,
    HeatDataConfig,
    KSDataConfig,
    NavierStokesDataConfig,
    dataset_config_from_dict,
    generate_dataset,
)
from explorer.data.operators.antiderivative import antiderivative, evaluate_series
from explorer.data.operators.heat import heat_multiplier
from explorer.data.operators.random_functions import (
    cosine_coefficients,
    evaluate_cosine,
    synthesize,
)
from explorer.problems.burgers_periodic import BurgersPeriodic
from explorer.problems.heat import Heat
from explorer.solvers.grf import GaussianRandomField
from explorer.solvers.spectral import SpectralETDRK4

CPU = torch.device("cpu")

TINY = {
    "burgers": BurgersDataConfig(
        resolution=32, n_samples=3, input_modes=16, dtype="float64"
    ),
    "heat": HeatDataConfig(resolution=32, n_samples=3, dtype="float64"),
    "ks": KSDataConfig(resolution=64, n_samples=2, n_times=3, t_burn=1.0),
    "darcy": DarcyDataConfig(resolution=9, n_samples=2, input_modes=4),
    "navier_stokes": NavierStokesDataConfig(
        resolution=16,
        n_samples=2,
        n_times=2,
        dt_record=0.1,
        dt=0.01,
        solver_resolution=16,
        input_modes=8,
    ),
    "antiderivative": AntiderivativeDataConfig(resolution=11, n_samples=3),
}


def test_registry_covers_every_family() -> None:
    assert set(DATASETS) == set(TINY)


@pytest.mark.parametrize("family", sorted(TINY))
def test_layout_attrs_and_round_trip(family: str) -> None:
    config = TINY[family]
    ds = generate_dataset(config, device=CPU, chunk_size=1)
    assert ds.sizes["sample"] == config.n_samples
    grid = ("x", "y") if family in ("darcy", "navier_stokes") else ("x",)
    time = ("t",) if config.kind == "trajectory" else ()
    assert ds["u"].dims == ("sample", *time, *grid)
    if config.kind == "map":
        assert ds["a"].dims == ("sample", *grid)
    assert all(ds.sizes[d] == config.resolution for d in grid)
    assert ds.attrs["family"] == family and ds.attrs["kind"] == config.kind
    assert dataset_config_from_dict(ds.attrs["config"]) == config
    assert np.isfinite(ds["u"].values).all()
    # Chunking does not change a sample: sample 1 alone equals sample 1 of the lot.
    alone = generate_dataset(config, start=1, stop=2, device=CPU)
    np.testing.assert_allclose(
        alone["u"].values[0], ds["u"].values[1], rtol=0, atol=1e-6
    )


def test_bad_configs_are_refused_with_the_field_named() -> None:
    with pytest.raises(ValueError, match=r"BurgersDataConfig.nu = 5.0 is out of range"):
        BurgersDataConfig(nu=5.0)
    with pytest.raises(ValueError, match="dtype"):
        HeatDataConfig(dtype="float16")
    with pytest.raises(ValueError, match="forcing"):
        NavierStokesDataConfig(forcing="wind")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="family 'nope'"):
        dataset_config_from_dict({"family": "nope"})
    older = {**TINY["heat"].to_dict(), "generator": 0}
    with pytest.raises(ValueError, match=r"heat dataset generator = 0 .* allowed: 1"):
        dataset_config_from_dict(older)
    with pytest.raises(ValueError, match="sample range"):
        generate_dataset(TINY["heat"], start=2, stop=9)


def test_heat_is_the_exact_solution() -> None:
    # sin 2πx = (e^{2πix} − e^{−2πix})/2i: c₁ = −i/2 in the rfft layout.
    nu, t, n = 0.05, 0.3, 64
    c = torch.zeros(1, 9, dtype=torch.complex128)
    c[0, 1] = -0.5j
    c[0, 3] = 0.25  # + 0.5 cos 6πx
    u = synthesize(heat_multiplier(c, nu=nu, t=t), n, dim=1)[0]
    problem = Heat(
        nu=nu,
        length=1.0,
        t_final=1.0,
        boundary_type="periodic",
        u0="sin(2*pi*x) + 0.5*cos(6*pi*x)",
    )
    x = torch.arange(n, dtype=torch.float64) / n
    exact = problem.exact_solution(torch.stack([x, torch.full_like(x, t)], -1))
    assert torch.allclose(u, exact, atol=1e-13)


def test_same_functions_at_every_resolution() -> None:
    coarse = generate_dataset(TINY["heat"], device=CPU)
    fine = generate_dataset(TINY["heat"].with_resolution(128), device=CPU)
    for name in ("a", "u"):
        np.testing.assert_allclose(
            fine[name].values[:, ::4], coarse[name].values, rtol=0, atol=1e-12
        )


def test_burgers_matches_the_adaptive_spectral_solver() -> None:
    config = TINY["burgers"]
    ds = generate_dataset(config, start=0, stop=1, device=CPU)
    a = torch.from_numpy(ds["a"].values)
    problem = BurgersPeriodic(nu=config.nu, length=1.0, t_final=1.0, u0="0")
    # The solver's own choices: refined grid, Courant-limited steps.
    ref = SpectralETDRK4().trajectories(problem, a, [config.t_final])[:, -1]
    assert float((ref - torch.from_numpy(ds["u"].values)).abs().max()) < 1e-6
    # The mean is conserved and the field decays (ν = 0.1 smooths it).
    assert float(ref.mean()) == pytest.approx(float(a.mean()), abs=1e-12)
    assert float(ref.abs().max()) < float(a.abs().max())


def test_ks_matches_the_adaptive_spectral_solver() -> None:
    config = TINY["ks"]
    ds = generate_dataset(config, start=0, stop=1, device=CPU)
    u = torch.from_numpy(ds["u"].values).double()  # (1, t, x) stored float32
    problem = config.problem()
    # Restart from the stored t_burn state (float32) on the same grid: one record.
    n = config.resolution
    ref = SpectralETDRK4(dt=0.01).trajectories(problem, u[:, 0], [0.0, 1.0])
    # Same dynamics: the stored next record, within float32 storage and resolution.
    scale = float(u.abs().max())
    assert float((ref[:, 1] - u[:, 1]).abs().max()) < 1e-4 * scale
    assert ds.sizes["x"] == n and float(ds["t"][1]) == config.dt_record
    assert float(u[0, -1].mean()) == pytest.approx(float(u[0, 0].mean()), abs=1e-5)


def test_antiderivative_is_exact() -> None:
    c = torch.zeros(1, 5, dtype=torch.complex128)
    c[0, 0], c[0, 1] = 0.3, 0.5  # v = 0.3 + cos 2πx
    x = torch.linspace(0, 1, 41, dtype=torch.float64)
    u = antiderivative(c, x)[0]
    assert torch.allclose(evaluate_series(c, x)[0], 0.3 + torch.cos(2 * math.pi * x))
    assert torch.allclose(u, 0.3 * x + torch.sin(2 * math.pi * x) / (2 * math.pi))
    # A GRF sample: the trapezoid rule converges to it at second order.
    ds = generate_dataset(
        dataclasses.replace(TINY["antiderivative"], resolution=2049, dtype="float64"),
        device=CPU,
    )
    v, exact = ds["a"].values, ds["u"].values
    trap = np.concatenate(
        [np.zeros((3, 1)), np.cumsum((v[:, 1:] + v[:, :-1]) / 2, axis=1) / 2048], 1
    )
    assert np.abs(trap - exact).max() < 1e-5


@pytest.mark.parametrize("level_set", ["neumann", "periodic"])
def test_darcy_fields(level_set: str) -> None:
    config = dataclasses.replace(TINY["darcy"], level_set=level_set)
    ds = generate_dataset(config, device=CPU)
    a, u = ds["a"].values, ds["u"].values
    assert set(np.unique(a)) <= {3.0, 12.0} and len(np.unique(a)) == 2
    assert np.all(u[:, 0, :] == 0) and np.all(u[:, :, -1] == 0)
    assert np.all(u[:, 1:-1, 1:-1] > 0)  # f = 1 > 0: a positive pressure inside
    assert config.subsample_factor(17) == 2 and config.subsample_factor(16) is None
    # Same permeability at a nested finer grid (the input is a function of x).
    fine = generate_dataset(config.with_resolution(17), device=CPU)
    np.testing.assert_array_equal(fine["a"].values[:, ::2, ::2], a)


def test_cosine_series_is_the_orthonormal_inverse_dct() -> None:
    # At the DCT-II points x_j = (j + ½)/n, Σ c_kl φ_k(x) φ_l(y) with φ_k the
    # orthonormal Neumann eigenfunctions is n · scipy's orthonormal DCT-III of c.
    from scipy.fft import dctn

    field = GaussianRandomField(alpha=2.0, tau=3.0, dim=2)
    c = cosine_coefficients(field, range(3), 8, seed=5)
    x = (torch.arange(8, dtype=torch.float64) + 0.5) / 8
    expected = 8 * dctn(c.numpy(), type=3, axes=(1, 2), norm="ortho")
    np.testing.assert_allclose(evaluate_cosine(c, x, x).numpy(), expected, atol=1e-12)
    # φ_k are orthonormal on (0, 1): the midpoint rule is exact for these products.
    basis = evaluate_cosine(torch.eye(64, dtype=torch.float64).view(64, 8, 8), x, x)
    gram = torch.einsum("axy,bxy->ab", basis, basis) / 64
    torch.testing.assert_close(gram, torch.eye(64, dtype=torch.float64))


def test_cosine_coefficients_have_the_covariance_spectrum() -> None:
    # E c_kl² = λ(π²(k² + l²)): the sample variance over 4000 draws is within
    # 4 standard errors (√(2/n) relative) at every mode.
    field = GaussianRandomField(alpha=2.0, tau=3.0, dim=2)
    n = 4000
    c = cosine_coefficients(field, range(n), 4, seed=0)
    k = math.pi * torch.arange(4, dtype=torch.float64)
    lam = field.eigenvalues(k[:, None] ** 2 + k[None, :] ** 2)
    ratio = (c**2).mean(0) / lam
    assert torch.all((ratio - 1).abs() < 4 * math.sqrt(2 / n))
    # Per-sample seeds: sample 7 is the same drawn alone or in a batch.
    alone = cosine_coefficients(field, range(7, 8), 4, seed=0)
    torch.testing.assert_close(alone[0], c[7], rtol=0, atol=0)


def test_neumann_level_sets_have_zero_normal_derivative() -> None:
    # ∂g/∂x = 0 on x = 0 and x = 1 (and in y): the paper's Neumann field.
    field = GaussianRandomField(alpha=2.0, tau=3.0, dim=2)
    c = cosine_coefficients(field, range(2), 6, seed=1)
    h = 1e-6
    y = torch.linspace(0, 1, 7, dtype=torch.float64)
    for x0 in (0.0, 1.0):
        xs = torch.tensor([x0 - h, x0 + h], dtype=torch.float64)
        g = evaluate_cosine(c, xs, y)
        assert (g[:, 1] - g[:, 0]).abs().max() / (2 * h) < 1e-6
        g = evaluate_cosine(c, y, xs)
        assert (g[:, :, 1] - g[:, :, 0]).abs().max() / (2 * h) < 1e-6


def test_darcy_level_set_is_checked() -> None:
    with pytest.raises(ValueError, match=r"DarcyDataConfig.level_set = 'dirichlet'"):
        DarcyDataConfig(level_set="dirichlet")  # type: ignore[arg-type]


def test_navier_stokes_records_start_from_the_input() -> None:
    config = TINY["navier_stokes"]
    ds = generate_dataset(config, device=CPU)
    w = ds["u"]
    assert list(w["t"].values) == pytest.approx([0.0, 0.1])
    assert not np.allclose(w.isel(t=0).values, w.isel(t=1).values)
    # The mean vorticity is zero on the torus, and stays zero.
    assert np.abs(w.mean(dim=("x", "y")).values).max() < 1e-6
    assert isinstance(ds, xr.Dataset)


def test_zero_mean_drops_the_random_mean() -> None:
    # 8 modes on 32 points: the grid mean is the function's mean.
    base = dataclasses.replace(TINY["heat"], input_modes=8)
    ds = generate_dataset(dataclasses.replace(base, zero_mean=True), device=CPU)
    assert np.abs(ds["a"].mean("x").values).max() < 1e-12
    assert np.abs(ds["u"].mean("x").values).max() < 1e-12
    kept = generate_dataset(base, device=CPU)
    assert np.abs(kept["a"].mean("x").values).max() > 1e-3  # the measure as written
    with pytest.raises(ValueError, match=r"BurgersDataConfig.zero_mean = 1"):
        BurgersDataConfig(zero_mean=1)  # type: ignore[arg-type]
