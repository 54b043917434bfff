"""Band-limited Gaussian random functions that are the same at every resolution.

Operator datasets need the *same* input function on a 256- and a 1024-point grid
(zero-shot super-resolution is tested on the functions the model was tested on at
its training resolution). So a sample is not grid noise but a trigonometric
polynomial: the Fourier coefficients of :class:`GaussianRandomField` for the modes
|kᵢ| < K, drawn once per sample from a generator seeded by (seed, sample index),
and then evaluated on any grid. The draw is the grid sampler's own (its spectrum is
exact on every mode of a 2K grid); only the Nyquist modes are dropped, so the
function is real and band-limited.

Per-sample seeds make sample i independent of how samples are batched or chunked,
and of the device: noise is drawn on the CPU and moved.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from explorer.solvers.grf import GaussianRandomField

__all__ = [
    "cosine_coefficients",
    "evaluate_coefficients",
    "evaluate_cosine",
    "finer_grid",
    "grf_coefficients",
    "point_std",
    "sample_seed",
    "synthesize",
]


def sample_seed(seed: int, index: int) -> int:
    """A 63-bit seed for sample ``index`` of the dataset seeded with ``seed``."""
    state = np.random.SeedSequence([int(seed), int(index)]).generate_state(2)
    return int((int(state[0]) << 31) ^ int(state[1])) & (2**63 - 1)


def grf_coefficients(
    field: GaussianRandomField, indices: range, modes: int, seed: int
) -> Tensor:
    """Fourier coefficients of band-limited GRF samples, normalised as û/n^d.

    Args:
        field: the Gaussian measure (its ``dim`` is 1 or 2).
        indices: the sample indices; sample i uses :func:`sample_seed` (seed, i).
        modes: K: the modes |kᵢ| < K are kept.
        seed: the dataset seed.

    Returns:
        complex128 ``(len(indices), K + 1)`` (the ``rfft`` layout of a 2K grid) or
        ``(len(indices), 2K, K + 1)`` (``rfft2``), CPU, with the Nyquist modes
        zeroed; u(x) = Σ_k c_k e^{2πi k·x/L} summed over the full (Hermitian) set.
    """
    n = 2 * modes
    dims = tuple(range(1, field.dim + 1))
    out = []
    for i in indices:
        g = torch.Generator().manual_seed(sample_seed(seed, i))
        u = field.sample(1, n, generator=g)
        out.append(torch.fft.rfftn(u, dim=dims) / n**field.dim)
    c = torch.cat(out)
    c[..., modes] = 0  # the last rfft mode is the Nyquist mode
    if field.dim == 2:
        c[:, modes, :] = 0
    return c


def synthesize(coefficients: Tensor, n: int, *, dim: int) -> Tensor:
    """Values at the periodic grid x_j = jL/n of the functions with ``coefficients``.

    Args:
        coefficients: from :func:`grf_coefficients`, on any device.
        n: grid points per dimension, at least 2K.
        dim: 1 or 2.

    Returns:
        Real ``(batch, n)`` or ``(batch, n, n)`` on the coefficients' device.
    """
    modes = coefficients.shape[-1] - 1
    if n < 2 * modes:
        raise ValueError(f"grid of {n} points is coarser than 2K = {2 * modes}")
    if dim == 1:
        pad = coefficients.new_zeros((coefficients.shape[0], n // 2 + 1))
        pad[:, : modes + 1] = coefficients
        return torch.fft.irfft(pad * n, n=n)
    pad = coefficients.new_zeros((coefficients.shape[0], n, n // 2 + 1))
    pad[:, :modes, : modes + 1] = coefficients[:, :modes]
    pad[:, n - modes :, : modes + 1] = coefficients[:, modes:]
    return torch.fft.irfft2(pad * n * n, s=(n, n))


def evaluate_coefficients(coefficients: Tensor, x: Tensor, y: Tensor) -> Tensor:
    """2-D band-limited functions at the tensor grid x × y (any points, period 1).

    Used where the grid is not periodic (Darcy's vertex grid includes x = 1).

    Returns:
        Real ``(batch, len(x), len(y))``.
    """
    modes = coefficients.shape[-1] - 1
    kx = torch.fft.fftfreq(2 * modes, d=1 / (2 * modes), dtype=torch.float64)
    kx = kx.to(coefficients.device)
    ky = torch.arange(modes + 1, dtype=torch.float64, device=coefficients.device)
    ex = torch.exp(2j * math.pi * x.to(torch.float64)[:, None] * kx)  # (nx, 2K)
    ey = torch.exp(2j * math.pi * y.to(torch.float64)[:, None] * ky)  # (ny, K+1)
    w = torch.full_like(ky, 2.0)
    w[0] = 1.0  # the ky = 0 column holds its own conjugates
    vals = torch.einsum("xa,bay,zy->bxz", ex, coefficients * w, ey)
    return vals.real


def cosine_coefficients(
    field: GaussianRandomField, indices: range, modes: int, seed: int
) -> Tensor:
    """Coefficients of 2-D GRF samples in the Neumann eigenbasis of (0, 1)².

    g(x, y) = Σ_{0 ≤ k, l < K} c_kl φ_k(x) φ_l(y) with the orthonormal eigenfunctions
    φ_0 = 1, φ_k = √2 cos(πkx) of −Δ with zero normal derivative, and
    c_kl = ξ_kl √λ(π²(k² + l²)), ξ_kl ~ N(0, 1) i.i.d.: the field of the FNO paper's
    Darcy data (its MATLAB ``GRF.m`` sums the same series with an orthonormal
    inverse DCT, up to a constant factor). Sample i draws from :func:`sample_seed`
    (seed, i), as the Fourier series do.

    Returns:
        float64 ``(len(indices), K, K)``, CPU.
    """
    k = math.pi * torch.arange(modes, dtype=torch.float64)
    scale = field.eigenvalues(k[:, None] ** 2 + k[None, :] ** 2).sqrt()
    out = []
    for i in indices:
        g = torch.Generator().manual_seed(sample_seed(seed, i))
        out.append(torch.randn(modes, modes, generator=g, dtype=torch.float64))
    return torch.stack(out) * scale


def evaluate_cosine(coefficients: Tensor, x: Tensor, y: Tensor) -> Tensor:
    """The series of :func:`cosine_coefficients` at the tensor grid x × y.

    Returns:
        Real ``(batch, len(x), len(y))``.
    """
    k = torch.arange(coefficients.shape[-1]).to(coefficients)
    norm = torch.full_like(k, math.sqrt(2.0))
    norm[0] = 1.0
    cx = norm * torch.cos(math.pi * x.to(coefficients)[:, None] * k)
    cy = norm * torch.cos(math.pi * y.to(coefficients)[:, None] * k)
    return torch.einsum("xa,bac,yc->bxy", cx, coefficients, cy)


def point_std(field: GaussianRandomField, modes: int) -> float:
    """Standard deviation of u(x) for the band-limited field (|kᵢ| < K)."""
    m = torch.arange(-modes + 1, modes, dtype=torch.float64)
    k2 = (2 * math.pi / field.length * m) ** 2
    if field.dim == 2:
        k2 = k2[:, None] + k2[None, :]
    return math.sqrt(float(field.eigenvalues(k2).sum()) / field.length**field.dim)


def finer_grid(resolution: int, minimum: int) -> int:
    """The smallest resolution·2ʲ ≥ ``minimum`` (a grid that subsamples exactly)."""
    n = resolution
    while n < minimum:
        n *= 2
    return n
