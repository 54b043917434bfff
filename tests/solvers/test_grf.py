"""Gaussian random fields: the empirical spectrum and variance match the covariance."""

from __future__ import annotations

import math

import pytest
import torch

from explorer.solvers.grf import GaussianRandomField


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_defaults_follow_the_fno_convention() -> None:
    f = GaussianRandomField()
    assert (f.alpha, f.tau, f.dim, f.length) == (2.0, 7.0, 1, 1.0)
    assert f.amplitude == pytest.approx(7.0**1.5)
    # FNO's Burgers data: 625 (−Δ + 25 I)^{−2} at k = 2π.
    burgers = GaussianRandomField(alpha=2, tau=5, sigma=25)
    k2 = torch.tensor([(2 * math.pi) ** 2], dtype=torch.float64)
    assert float(burgers.eigenvalues(k2)) == pytest.approx(
        625 / (4 * math.pi**2 + 25) ** 2
    )


@pytest.mark.parametrize(
    ("field", "batch", "n"),
    [
        (GaussianRandomField(), 2000, 128),
        (GaussianRandomField(alpha=1.5, tau=3.0, sigma=2.0, length=2.0), 2000, 64),
        (GaussianRandomField(alpha=2.5, tau=7.0, dim=2), 500, 32),
    ],
)
def test_empirical_spectrum_matches_the_covariance(
    field: GaussianRandomField, batch: int, n: int
) -> None:
    u = field.sample(batch, n, generator=_gen(0))
    assert u.shape == (batch,) + (n,) * field.dim and u.dtype == torch.float64
    dims = tuple(range(1, field.dim + 1))
    power = (torch.fft.rfftn(u, dim=dims).abs() ** 2).mean(0)
    want = n ** (2 * field.dim) * field.eigenvalues(field.squared_wavenumbers(n))
    want = want / field.length**field.dim
    ratio = (power / want).flatten()
    # |û|² of one sample is exponential (χ²₁ for real modes): relative std 1/√batch
    # per mode, ~√2/√batch for the real ones. Average and worst mode:
    assert abs(float(ratio.mean()) - 1) < 0.01
    assert float((ratio - 1).abs().max()) < 6 * math.sqrt(2 / batch)


def test_point_variance_and_mean() -> None:
    field = GaussianRandomField(alpha=2, tau=5, sigma=25)
    n = 256
    u = field.sample(4000, n, generator=_gen(1))
    k2 = field.squared_wavenumbers(n)
    lam = field.eigenvalues(k2)
    # Var u(x) = (1/L) Σ_k λ(k) over all grid modes k ∈ (−n/2, n/2].
    weights = torch.full_like(k2, 2.0)
    weights[0] = 1.0
    weights[-1] = 1.0  # the Nyquist mode appears once
    variance = float((weights * lam).sum()) / field.length
    assert float(u.var(0).mean()) == pytest.approx(variance, rel=0.03)
    assert abs(float(u.mean())) < 4 * math.sqrt(variance / 4000)


def test_seeding_is_explicit_and_reproducible() -> None:
    field = GaussianRandomField(dim=2)
    a = field.sample(3, 16, generator=_gen(5))
    b = field.sample(3, 16, generator=_gen(5))
    c = field.sample(3, 16, generator=_gen(6))
    assert torch.equal(a, b)
    assert not torch.allclose(a, c)
    # Samples differ within a batch too.
    assert not torch.allclose(a[0], a[1])
    state = torch.random.get_rng_state()
    field.sample(2, 16, generator=_gen(5))
    assert torch.equal(state, torch.random.get_rng_state())  # global RNG untouched


def test_dtype_and_device_follow_the_arguments() -> None:
    u = GaussianRandomField().sample(2, 32, generator=_gen(0), dtype=torch.float32)
    assert u.dtype == torch.float32 and u.device.type == "cpu"
    assert torch.isfinite(u).all()


@pytest.mark.parametrize(
    "kwargs",
    [{"dim": 3}, {"alpha": 0.0}, {"tau": -1.0}, {"sigma": 0.0}, {"length": 0.0}],
)
def test_bad_parameters_raise_value_errors(kwargs: dict) -> None:
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        GaussianRandomField(**kwargs)


def test_bad_sizes_raise_value_errors() -> None:
    with pytest.raises(ValueError, match="batch"):
        GaussianRandomField().sample(0, 16, generator=_gen(0))
