"""2-D incompressible Navier–Stokes in vorticity form on the torus, pseudo-spectral.

    ωₜ + u·∇ω = ν Δω + f,   u = (ψ_y, −ψ_x),   −Δψ = ω,   x ∈ [0, 1)², periodic,

as in the Fourier neural operator paper (Li et al., ICLR 2021), whose data use
f = 0.1 (sin 2π(x + y) + cos 2π(x + y)) and ν = 10⁻³ … 10⁻⁵.

Time stepping: Crank–Nicolson for ν Δω (unconditionally stable) and Heun's
predictor–corrector for the advection and the forcing, so the scheme is second
order in dt (the FNO code's CN with explicit Euler advection is first order); the
products are dealiased by the 2/3 rule. Everything is torch, batched, on the
device of the initial vorticity.

Cost per step: two advection evaluations of five FFTs each on ``(batch, n, n)``.
Stability: the explicit advection needs dt ≲ Δx / max|u| (CFL); viscosity sets no
limit.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence

import torch
from torch import Tensor

__all__ = [
    "kolmogorov_forcing",
    "li_forcing",
    "navier_stokes_2d",
    "vorticity_advection",
]


def li_forcing(x: Tensor, y: Tensor, amplitude: float = 0.1) -> Tensor:
    """The FNO paper's forcing  A (sin 2π(x + y) + cos 2π(x + y)) on the grid x × y."""
    s = 2 * math.pi * (x[:, None] + y[None, :])
    return amplitude * (torch.sin(s) + torch.cos(s))


def kolmogorov_forcing(x: Tensor, y: Tensor, amplitude: float = 0.1) -> Tensor:
    """A shear forcing  A sin(2π·4y), the Kolmogorov flow's, on the grid x × y."""
    return amplitude * torch.sin(8 * math.pi * y)[None, :].expand(x.numel(), -1)


def _wavenumbers(n: int, like: Tensor) -> tuple[Tensor, Tensor]:
    k = 2 * math.pi * torch.fft.fftfreq(n, d=1 / n, dtype=torch.float64)
    kr = 2 * math.pi * torch.fft.rfftfreq(n, d=1 / n, dtype=torch.float64)
    return k.to(like.device)[:, None], kr.to(like.device)[None, :]


def vorticity_advection(n: int, like: Tensor, *, dealias: bool = True) -> Callable:
    """ω̂ ↦ the spectrum of −u·∇ω on an n × n grid (``rfft2`` layout), batched."""
    kx, ky = _wavenumbers(n, like)
    k2 = kx**2 + ky**2
    inv_k2 = torch.where(k2 > 0, 1 / k2.clamp_min(1e-30), torch.zeros_like(k2))
    kmax = 2 * math.pi * (n // 2)
    keep = (kx.abs() <= (2 / 3) * kmax) & (ky.abs() <= (2 / 3) * kmax)
    mask = keep.to(like.dtype) if dealias else torch.ones_like(k2, dtype=like.dtype)
    ikx, iky = 1j * kx, 1j * ky

    def advection(w_hat: Tensor) -> Tensor:
        w_hat = w_hat * mask
        psi = w_hat * inv_k2
        u = torch.fft.irfft2(iky * psi, s=(n, n))  # ψ_y
        v = torch.fft.irfft2(-ikx * psi, s=(n, n))  # −ψ_x
        wx = torch.fft.irfft2(ikx * w_hat, s=(n, n))
        wy = torch.fft.irfft2(iky * w_hat, s=(n, n))
        return -torch.fft.rfft2(u * wx + v * wy) * mask

    return advection


def navier_stokes_2d(
    w0: Tensor,
    times: Sequence[float],
    *,
    nu: float,
    dt: float,
    forcing: Tensor | None = None,
    dealias: bool = True,
    progress: Callable[[float], None] | None = None,
) -> Tensor:
    """Vorticity at ``times`` from ``w0``.

    Args:
        w0: ``(batch, n, n)`` real vorticity at the grid x_i = i/n (axis 1 is x).
        times: increasing output times ≥ 0.
        nu: viscosity ν ≥ 0.
        dt: the largest time step; each output interval takes equal steps ≤ dt.
        forcing: ``(n, n)`` forcing f on the grid (time independent), or None.
        dealias: 2/3 rule on the advection.
        progress: called with the fraction done after each output time.

    Returns:
        ``(batch, len(times), n, n)`` in the dtype of ``w0``.
    """
    if w0.ndim != 3 or w0.shape[1] != w0.shape[2]:
        raise ValueError(f"w0 has shape {tuple(w0.shape)}; allowed: (batch, n, n)")
    if not dt > 0 or nu < 0:
        raise ValueError(f"dt = {dt!r}, nu = {nu!r}; allowed: dt > 0, nu >= 0")
    ts = [float(t) for t in times]
    if not ts or ts[0] < 0 or any(b <= a for a, b in itertools.pairwise(ts)):
        raise ValueError("output times must be increasing and >= 0")
    n = w0.shape[-1]
    advection = vorticity_advection(n, w0, dealias=dealias)
    kx, ky = _wavenumbers(n, w0)
    lap = -(kx**2 + ky**2)
    f_hat = 0 if forcing is None else torch.fft.rfft2(forcing.to(w0))
    w_hat = torch.fft.rfft2(w0)
    out = w0.new_empty((w0.shape[0], len(ts), n, n))
    now = 0.0
    for i, t in enumerate(ts):
        steps = max(1, math.ceil((t - now) / dt * (1 - 1e-12))) if t > now else 0
        if steps:
            h = (t - now) / steps
            explicit = 1 + 0.5 * h * nu * lap
            implicit = 1 / (1 - 0.5 * h * nu * lap)
            for _ in range(steps):
                n0 = advection(w_hat) + f_hat
                pred = (explicit * w_hat + h * n0) * implicit
                n1 = advection(pred) + f_hat
                w_hat = (explicit * w_hat + 0.5 * h * (n0 + n1)) * implicit
        out[:, i] = torch.fft.irfft2(w_hat, s=(n, n))
        now = t
        if progress is not None:
            progress((i + 1) / len(ts))
    return out
