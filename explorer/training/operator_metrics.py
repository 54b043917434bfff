"""Errors and spectra of operator predictions: relative L2 and H1, energy spectra,
relative error per wavenumber band.

Fields are ``(n, c, *grid)`` tensors on a uniform grid of the unit interval
(square); norms are taken per sample over channels and grid, then averaged.
"""

from __future__ import annotations

import itertools
import math

import torch
from torch import Tensor

__all__ = [
    "band_errors",
    "energy_spectrum",
    "relative_h1",
    "relative_l2",
    "wavenumber_magnitude",
]


def _flat(u: Tensor) -> Tensor:
    return u.reshape(u.shape[0], -1)


def relative_l2(pred: Tensor, truth: Tensor) -> Tensor:
    """Mean over samples of ‖pred − truth‖₂ / ‖truth‖₂ (the FNO paper's metric)."""
    diff = _flat(pred - truth).norm(dim=1)
    return (diff / _flat(truth).norm(dim=1).clamp_min(1e-30)).mean()


def _h1_squared(u: Tensor) -> Tensor:
    """‖u‖² + ‖∇u‖² per sample, gradients by forward differences in grid units 1/n."""
    total = _flat(u).square().sum(1)
    for d in range(2, u.ndim):
        n = u.shape[d]
        total = total + (_flat(torch.diff(u, dim=d)) * n).square().sum(1) * (
            n / (n - 1)
        )
    return total


def relative_h1(pred: Tensor, truth: Tensor) -> Tensor:
    """Mean over samples of ‖pred − truth‖_H¹ / ‖truth‖_H¹ (discrete, unit domain)."""
    num = _h1_squared(pred - truth).sqrt()
    return (num / _h1_squared(truth).sqrt().clamp_min(1e-30)).mean()


def wavenumber_magnitude(grid: tuple[int, ...], device: torch.device) -> Tensor:
    """|k| (integer wavenumbers, rounded in 2-D) on the ``rfftn`` layout of ``grid``."""
    if len(grid) == 1:
        return torch.arange(grid[0] // 2 + 1, device=device)
    kx = torch.fft.fftfreq(grid[0], 1 / grid[0], device=device)
    ky = torch.fft.rfftfreq(grid[1], 1 / grid[1], device=device)
    return torch.sqrt(kx[:, None] ** 2 + ky[None, :] ** 2).round().long()


def _power(u: Tensor) -> Tensor:
    """|û(k)|² per sample on the rfftn layout, counting each ± pair (Parseval)."""
    dims = tuple(range(2, u.ndim))
    n = math.prod(u.shape[2:])
    uh = torch.fft.rfftn(u, dim=dims) / n
    p = uh.abs().square().sum(1)  # over channels
    w = torch.full((uh.shape[-1],), 2.0, device=u.device)
    w[0] = 1.0
    if u.shape[-1] % 2 == 0:
        w[-1] = 1.0
    return p * w


def energy_spectrum(u: Tensor) -> Tensor:
    """E(|k|) = mean over samples of Σ_{shell |k|} |û(k)|², k = 0 … kmax.

    Σ_k E(k) = mean over samples of the mean of u² over the grid (Parseval).
    """
    grid = tuple(u.shape[2:])
    k = wavenumber_magnitude(grid, u.device)
    p = _power(u).mean(0)
    kmax = min(grid) // 2
    return torch.zeros(kmax + 1, dtype=p.dtype, device=u.device).index_add_(
        0, k.flatten().clamp(max=kmax), p.flatten()
    )


def band_errors(pred: Tensor, truth: Tensor, edges: tuple[int, ...]) -> Tensor:
    """‖P_b(pred − truth)‖ / ‖P_b truth‖ per band b, bands split at ``edges``.

    Bands: [0, e₀), [e₀, e₁), …, [e_last, ∞) in |k|; means of the per-band ratio
    would blow up where truth has no energy, so the ratio is of sample sums.
    """
    k = wavenumber_magnitude(tuple(pred.shape[2:]), pred.device)
    err, ref = _power(pred - truth).sum(0), _power(truth).sum(0)
    bounds = (0, *edges, 10**9)
    out = []
    for lo, hi in itertools.pairwise(bounds):
        mask = (k >= lo) & (k < hi)
        out.append((err[mask].sum() / ref[mask].sum().clamp_min(1e-30)).sqrt())
    return torch.stack(out)
