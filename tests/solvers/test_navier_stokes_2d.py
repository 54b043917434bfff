"""Navier–Stokes vorticity solver: Taylor–Green decay, the advection term against
its closed form, second order in time, enstrophy conservation without viscosity."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.stats import linregress

from explorer.solvers.navier_stokes_2d import navier_stokes_2d, vorticity_advection


def _grid(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.arange(n, dtype=torch.float64) / n
    return torch.meshgrid(x, x, indexing="ij")


def test_taylor_green_decays_at_the_exact_rate() -> None:
    # ω = cos 2πx cos 2πy: ψ ∝ ω, so u·∇ω = 0 and ω(t) = ω₀ e^{−8π²νt}.
    n, nu = 32, 0.01
    X, Y = _grid(n)
    w0 = (torch.cos(2 * math.pi * X) * torch.cos(2 * math.pi * Y))[None]
    w = navier_stokes_2d(w0, [0.0, 0.5, 1.0], nu=nu, dt=1e-2)
    for i, t in enumerate([0.0, 0.5, 1.0]):
        exact = w0[0] * math.exp(-8 * math.pi**2 * nu * t)
        assert torch.allclose(w[0, i], exact, atol=1e-6)


def test_advection_matches_its_closed_form() -> None:
    # ψ = sin 2πx sin 4πy/(20π²) + cos 2πx/(4π²) ⇒ ω = −Δψ = sin 2πx sin 4πy + cos 2πx.
    n = 32
    X, Y = _grid(n)
    p = 2 * math.pi
    w = torch.sin(p * X) * torch.sin(2 * p * Y) + torch.cos(p * X)
    psi_x = torch.cos(p * X) * torch.sin(2 * p * Y) / (5 * p) - torch.sin(p * X) / p
    psi_y = 2 * torch.sin(p * X) * torch.cos(2 * p * Y) / (5 * p)
    w_x = p * torch.cos(p * X) * torch.sin(2 * p * Y) - p * torch.sin(p * X)
    w_y = 2 * p * torch.sin(p * X) * torch.cos(2 * p * Y)
    exact = -(psi_y * w_x - psi_x * w_y)
    got = torch.fft.irfft2(vorticity_advection(n, w)(torch.fft.rfft2(w[None])))[0]
    assert torch.allclose(got, exact, atol=1e-10)


def _random_vorticity(n: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    c = torch.randn(n, n, generator=g, dtype=torch.float64)
    hat = torch.fft.rfft2(c)
    k = torch.fft.fftfreq(n, 1 / n).abs()[:, None] + torch.fft.rfftfreq(n, 1 / n)
    hat = hat * (k <= 4)
    w = torch.fft.irfft2(hat, s=(n, n))
    return (w / w.abs().max())[None]


def test_second_order_in_time() -> None:
    n, nu = 32, 1e-3
    w0 = _random_vorticity(n)
    ref = navier_stokes_2d(w0, [1.0], nu=nu, dt=1 / 512)[:, -1]
    dts = [1 / 16, 1 / 32, 1 / 64]
    errs = [
        float((navier_stokes_2d(w0, [1.0], nu=nu, dt=dt)[:, -1] - ref).abs().max())
        for dt in dts
    ]
    slope = linregress(np.log(dts), np.log(errs)).slope
    assert slope == pytest.approx(2.0, abs=0.3)


def test_inviscid_flow_keeps_its_enstrophy() -> None:
    w0 = _random_vorticity(32)
    w = navier_stokes_2d(w0, [0.0, 2.0], nu=0.0, dt=1 / 128)
    z = (w**2).mean(dim=(-1, -2))[0]
    assert float(z[1]) == pytest.approx(float(z[0]), rel=1e-4)
    assert not torch.allclose(w[0, 0], w[0, 1], atol=1e-2)  # it did move


def test_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="batch, n, n"):
        navier_stokes_2d(torch.zeros(4, 4), [1.0], nu=1e-3, dt=0.1)
    with pytest.raises(ValueError, match="increasing"):
        navier_stokes_2d(torch.zeros(1, 4, 4), [1.0, 0.5], nu=1e-3, dt=0.1)
