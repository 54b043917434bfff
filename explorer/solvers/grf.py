"""Gaussian random fields on periodic grids: random initial data for operator learning.

The field is the mean-zero Gaussian measure N(0, C) on the d-torus of side L with
covariance operator C = σ² (−Δ + τ² I)^{−α}, as in the data of the Fourier neural
operator paper (Li et al., ICLR 2021). In the Fourier basis e^{i k·x}, k ∈ (2π/L) ℤ^d,
C is diagonal with eigenvalues λ(k) = σ² (|k|² + τ²)^{−α}; a sample is white noise
filtered by √λ, done with one FFT pair.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import final

import torch
from torch import Tensor

__all__ = ["GaussianRandomField"]


@final
@dataclass(frozen=True)
class GaussianRandomField:
    """The Gaussian measure N(0, σ² (−Δ + τ² I)^{−α}) on a periodic box of side L.

    Attributes:
        alpha: smoothness α; samples have (α − d/2) Sobolev derivatives, almost.
        tau: inverse length scale τ (correlation length ≈ 1/τ).
        sigma: amplitude σ; None takes the FNO code's τ^{(2α − d)/2}, which makes
            the point variance roughly independent of τ.
        length: side L of the periodic box.
        dim: 1 or 2 space dimensions.

    Notes:
        The defaults (α = 2, τ = 7, σ = τ^{3/2}, L = 1) are the FNO code's
        ``GaussianRF(1, n, alpha=2, tau=7)``; its Burgers data used
        625 (−Δ + 25 I)^{−2}, i.e. ``alpha=2, tau=5, sigma=25``.
        On the grid, the discrete Fourier coefficients û(k) = Σⱼ u(xⱼ) e^{−ik·xⱼ} of a
        sample have E|û(k)|² = n^{2d} λ(k) / L^d for every |kᵢ| ≤ π n/L (the field's
        modes beyond the grid's Nyquist frequency are dropped, not aliased). The
        k = 0 mode is kept, so single samples have a random mean.
    """

    alpha: float = 2.0
    tau: float = 7.0
    sigma: float | None = None
    length: float = 1.0
    dim: int = 1

    def __post_init__(self) -> None:
        if self.dim not in (1, 2):
            raise ValueError(f"GaussianRandomField: dim = {self.dim!r}; allowed: 1, 2")
        for name, lo, hi in (
            ("alpha", 0.0, 20.0),
            ("tau", 0.0, 1e3),
            ("length", 0.0, 1e4),
        ):
            value = getattr(self, name)
            if not lo < value <= hi:
                raise ValueError(
                    f"GaussianRandomField: {name} = {value!r}; allowed: {lo:g} < "
                    f"{name} <= {hi:g}"
                )
        if self.sigma is not None and not self.sigma > 0:
            raise ValueError(
                f"GaussianRandomField: sigma = {self.sigma!r}; allowed: None or > 0"
            )

    @property
    def amplitude(self) -> float:
        """σ, with the default applied."""
        if self.sigma is not None:
            return self.sigma
        return self.tau ** (0.5 * (2 * self.alpha - self.dim))

    def eigenvalues(self, k2: Tensor) -> Tensor:
        """λ = σ² (|k|² + τ²)^{−α} at squared angular wavenumbers ``k2``."""
        return self.amplitude**2 * (k2 + self.tau**2) ** (-self.alpha)

    def squared_wavenumbers(
        self,
        n: int,
        *,
        dtype: torch.dtype = torch.float64,
        device: torch.device | str = "cpu",
    ) -> Tensor:
        """|k|² on the ``rfft``/``rfftn`` layout of an n (or n × n) grid."""
        d = self.length / n
        kr = 2 * math.pi * torch.fft.rfftfreq(n, d=d, dtype=dtype, device=device)
        if self.dim == 1:
            return kr**2
        kf = 2 * math.pi * torch.fft.fftfreq(n, d=d, dtype=dtype, device=device)
        return kf[:, None] ** 2 + kr[None, :] ** 2

    def sample(
        self,
        batch: int,
        n: int,
        *,
        generator: torch.Generator,
        dtype: torch.dtype = torch.float64,
    ) -> Tensor:
        """``batch`` independent samples on the periodic grid of n (or n × n) points.

        Args:
            batch: number of samples.
            n: grid points per dimension (points at x = jL/n, j = 0..n−1).
            generator: the only source of randomness; samples are drawn on its
                device, so a CUDA generator gives CUDA samples.
            dtype: real dtype of the result.

        Returns:
            Real tensor ``(batch, n)`` or ``(batch, n, n)``.

        Cost: one real FFT pair of the batch, O(batch · n^d log n).
        """
        if batch < 1 or n < 2:
            raise ValueError(f"batch = {batch}, n = {n}; allowed: batch >= 1, n >= 2")
        device = generator.device
        shape = (batch,) + (n,) * self.dim
        noise = torch.randn(shape, generator=generator, dtype=dtype, device=device)
        dims = tuple(range(1, self.dim + 1))
        # White noise has E|ŵ(k)|² = n^d; scaling by √(n^d λ / L^d) gives the spectrum.
        lam = self.eigenvalues(self.squared_wavenumbers(n, dtype=dtype, device=device))
        scale = torch.sqrt(lam * (n / self.length) ** self.dim)
        spectrum = torch.fft.rfftn(noise, dim=dims) * scale
        return torch.fft.irfftn(spectrum, s=(n,) * self.dim, dim=dims)
