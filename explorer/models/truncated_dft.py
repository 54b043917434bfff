"""The truncated Fourier transforms of a Fourier layer, as matrix products.

A Fourier layer needs only the m lowest modes of each dimension, so instead of a
full FFT and a full inverse it multiplies by the m columns of the DFT matrix that it
keeps: O(n·m) work per line in a few large GEMMs, against O(n log n) for an FFT.
For the FNO's sizes (m = 12 to 16, n up to a few hundred) the products are faster,
and far faster backwards: torch's rfft gradient zero-fills a full complex spectrum
and runs a complex FFT over it, which made most of a 64² Darcy step. Results equal
``torch.fft.rfft``/``rfftn`` truncated, and ``irfft``/``irfftn`` of the zero-padded
spectrum, to rounding (tested in float64).

Layout as :mod:`explorer.models.spectral_conv`: the last axis is the real (rfft)
axis with modes k = 0 … m−1; in 2-D the second to last axis keeps rows
kₓ = 0 … m−1 and kₓ = −m … −1 (the ``rfft2`` corner's two blocks, in that order).
"""

from __future__ import annotations

import functools
import math

import torch
from torch import Tensor

__all__ = ["inverse", "truncated"]


def _angles(rows: list[int], n: int) -> Tensor:
    # 2π·(k·j mod n)/n in float64: exact integer phases, no large-argument rounding.
    k = torch.tensor(rows, dtype=torch.float64)[:, None]
    j = torch.arange(n, dtype=torch.float64)[None, :]
    return 2 * math.pi * torch.remainder(k * j, n) / n


@functools.lru_cache(maxsize=64)
@torch.inference_mode(False)  # cached: never an inference tensor autograd refuses
def _real_axis(n: int, m: int, dtype: torch.dtype, device: torch.device):
    """(forward (n, 2m), inverse (2m, n)) real bases, columns/rows interleaved
    (Re, Im) per mode so that a product views as complex directly."""
    a = _angles(list(range(m)), n)  # (m, n)
    forward = torch.stack([a.cos(), -a.sin()], dim=1).reshape(2 * m, n).T
    # irfft: u_j = (1/n) Σ_k c_k (Re ô_k cos − Im ô_k sin), c_0 = 1, c_k = 2 (no
    # Nyquist term: 2m ≤ n keeps k < n/2); the imaginary part of ô_0 drops out.
    c = torch.full((m, 1), 2.0, dtype=torch.float64)
    c[0] = 1.0
    inv = torch.stack([c * a.cos(), -c * a.sin()], dim=1).reshape(2 * m, n) / n
    return (
        forward.contiguous().to(dtype=dtype, device=device),
        inv.to(dtype=dtype, device=device),
    )


@functools.lru_cache(maxsize=64)
@torch.inference_mode(False)
def _complex_axis(n: int, m: int, dtype: torch.dtype, device: torch.device):
    """(forward (2m, n), inverse (n, 2m)) complex bases for rows 0…m−1, −m…−1."""
    a = _angles(list(range(m)) + list(range(n - m, n)), n)
    forward = torch.polar(torch.ones_like(a), -a)
    return (
        forward.to(dtype=dtype, device=device),
        (forward.conj().T / n).contiguous().to(dtype=dtype, device=device),
    )


def _complex_dtype(real: torch.dtype) -> torch.dtype:
    return torch.promote_types(real, torch.complex64)


def truncated(v: Tensor, m: int) -> Tensor:
    """The kept modes of a real ``v``: ``(B, C, n)`` → ``(B, C, m)``, or
    ``(B, C, nx, ny)`` → ``(B, C, 2m, m)``, complex."""
    forward, _ = _real_axis(v.shape[-1], m, v.dtype, v.device)
    vh = torch.view_as_complex((v @ forward).unflatten(-1, (m, 2)))
    if v.ndim == 3:
        return vh
    fx, _ = _complex_axis(v.shape[-2], m, _complex_dtype(v.dtype), v.device)
    # x last, so that the product is one GEMM: a broadcast ``fx @ vh`` runs one
    # small complex GEMM per (batch, channel), with a copy each.
    return (vh.transpose(-1, -2) @ fx.T).transpose(-1, -2)


def inverse(oh: Tensor, grid: tuple[int, ...]) -> Tensor:
    """The real function on ``grid`` whose spectrum is ``oh`` on the kept modes and
    zero elsewhere (``irfft``/``irfftn`` of the zero-padded spectrum)."""
    m = oh.shape[-1]
    if len(grid) == 2:
        _, ix = _complex_axis(grid[0], m, oh.dtype, oh.device)
        oh = (oh.transpose(-1, -2) @ ix.T).transpose(-1, -2)  # one GEMM, as above
    real = torch.view_as_real(oh).flatten(-2)  # (…, 2m): Re, Im interleaved
    _, inv = _real_axis(grid[-1], m, real.dtype, real.device)
    return real @ inv
