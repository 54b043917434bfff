"""Exponential time differencing RK4 (ETDRK4) for uₜ = L u + N(u) on periodic grids.

ETDRK4 (Cox & Matthews 2002) integrates the stiff linear part L, diagonal in Fourier
space, exactly and the nonlinear part N with a 4th-order Runge–Kutta-like scheme. Its
coefficients, φ-functions of dt·L, are evaluated by the contour-integral average of
Kassam & Trefethen (SIAM J. Sci. Comput. 26, 2005), which avoids the cancellation of
the explicit formulas when |dt·L| is small.

Everything here is torch, batched over samples, and runs on the device of its inputs;
:class:`explorer.solvers.spectral.SpectralETDRK4` builds L and N from a problem.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import torch
from torch import Tensor

from explorer.solvers.base import Progress

__all__ = [
    "ETDRK4Coefficients",
    "cast_coefficients",
    "etdrk4",
    "etdrk4_coefficients",
    "etdrk4_step",
]


class ETDRK4Coefficients(NamedTuple):
    """ETDRK4 multipliers per Fourier mode, ``(nk,)`` each (f2 already doubled)."""

    e: Tensor
    e2: Tensor
    q: Tensor
    f1: Tensor
    f2: Tensor
    f3: Tensor


def etdrk4_coefficients(
    linear: Tensor, dt: float, *, contour_points: int = 64
) -> ETDRK4Coefficients:
    """ETDRK4 coefficients for the symbol ``linear`` ``(nk,)`` and step ``dt``.

    The φ-functions of z = dt·L are averaged over ``contour_points`` equispaced points
    of the unit circle around each z, in complex128 (Kassam & Trefethen 2005, eq. 2.5
    and §5). For a real symbol the coefficients are real and, by conjugate symmetry,
    the upper half circle suffices (half the points, Kassam–Trefethen's M = 32).

    Returns:
        float64 coefficients for real symbols, complex128 for complex ones.

    Cost: O(nk · contour_points), vectorised; about a time step's worth.
    """
    real = not linear.is_complex()
    m = contour_points // 2 if real else contour_points
    j = torch.arange(m, dtype=torch.float64, device=linear.device)
    r = torch.exp(1j * (math.pi if real else 2 * math.pi) * (j + 0.5) / m)
    z = dt * linear.to(torch.complex128)
    lr = z[:, None] + r  # (nk, m): every contour point lies at distance 1 from z
    ex2 = torch.exp(lr / 2)
    ex = ex2 * ex2
    inv = 1 / lr
    inv3 = inv * inv * inv
    lr2 = lr * lr
    q = ((ex2 - 1) * inv).mean(-1)
    f1 = ((-4 - lr + ex * (4 - 3 * lr + lr2)) * inv3).mean(-1)
    f2 = ((2 + lr + ex * (lr - 2)) * inv3).mean(-1)
    f3 = ((-4 - 3 * lr - lr2 + ex * (4 - lr)) * inv3).mean(-1)
    out = [torch.exp(z), torch.exp(z / 2), dt * q, dt * f1, 2 * dt * f2, dt * f3]
    if real:
        out = [c.real for c in out]
    return ETDRK4Coefficients(*out)


def etdrk4_step(
    v: Tensor, nonlinear: Callable[[Tensor], Tensor], c: ETDRK4Coefficients
) -> Tensor:
    """One ETDRK4 step of the spectrum ``v`` (Cox–Matthews; Kassam–Trefethen eq. 2.1).

    Fused multiply-adds keep the number of tensor operations, which dominates the
    cost on small grids, low.
    """
    nv = nonlinear(v)
    e2v = c.e2 * v
    a = torch.addcmul(e2v, c.q, nv)
    na = nonlinear(a)
    b = torch.addcmul(e2v, c.q, na)
    nb = nonlinear(b)
    cc = torch.addcmul(c.e2 * a, c.q, torch.add(-nv, nb, alpha=2))
    nc = nonlinear(cc)
    out = torch.addcmul(c.e * v, c.f1, nv)
    out.addcmul_(c.f2, na + nb).addcmul_(c.f3, nc)
    return out


def cast_coefficients(c: ETDRK4Coefficients, like: Tensor) -> ETDRK4Coefficients:
    """The coefficients in the (complex) dtype of the spectrum ``like``.

    Complex×complex products are faster than mixed real×complex ones in torch, and
    float32 states stay float32.
    """
    return ETDRK4Coefficients(*(x.to(like.dtype) for x in c))


def etdrk4(
    u0: Tensor,
    linear: Tensor,
    nonlinear: Callable[[Tensor], Tensor],
    dt: float,
    n_steps: int,
    *,
    save_every: int = 1,
    contour_points: int = 64,
    progress: Progress | None = None,
) -> Tensor:
    """Integrate uₜ = L u + N(u) on a periodic grid with ``n_steps`` steps of ``dt``.

    Args:
        u0: initial values ``(batch, n)``; real (``rfft`` layout, ``nk = n//2 + 1``)
            or complex (``fft`` layout, ``nk = n``). Runs on its device and dtype.
        linear: the symbol L(k) on the modes of that layout, ``(nk,)``.
        nonlinear: û ``(batch, nk)`` ↦ spectrum of N(u) ``(batch, nk)``, dealiased as
            the caller wants (see :meth:`SpectralETDRK4.nonlinear`).
        dt: time step.
        n_steps: number of steps.
        save_every: save every this many steps.
        contour_points: points of the Kassam–Trefethen contour.
        progress: called with the fraction done after each save.

    Returns:
        ``(batch, n_steps // save_every + 1, n)``: u at t = 0, s·dt, 2s·dt, ...
    """
    n = u0.shape[-1]
    fwd, inv = (
        (torch.fft.fft, torch.fft.ifft)
        if u0.is_complex()
        else (torch.fft.rfft, lambda w: torch.fft.irfft(w, n=n))
    )
    v = fwd(u0)
    c = cast_coefficients(
        etdrk4_coefficients(linear, dt, contour_points=contour_points), v
    )
    saves = [u0]
    for i in range(1, n_steps + 1):
        v = etdrk4_step(v, nonlinear, c)
        if i % save_every == 0:
            saves.append(inv(v))
            if progress is not None:
                progress(i / n_steps)
    return torch.stack(saves, dim=1)
