"""The Fourier layer: a convolution done as a product in Fourier space, truncated.

    (K v)(x) = F⁻¹[ R(k) · (F v)(k) ](x),   R(k) = 0 for |kᵢ| ≥ m,

with F the (normalised) Fourier series on the periodic grid (Li et al., "Fourier
neural operator for parametric PDEs", ICLR 2021, eq. 4). As in the paper's code,
only the first ``m`` coefficients of the ``rfft`` axis are kept, and in 2-D the rows
kₓ ∈ [0, m) and kₓ ∈ [−m, 0) of the ``rfft2`` layout, each with its own R. Only
those modes are computed, by products with the kept columns of the DFT matrix
(:mod:`explorer.models.truncated_dft`), not by full FFTs.

Because the forward and inverse transforms carry 1/n together, the layer acts on
the Fourier coefficients of the function, not of its samples: the same weights
apply on any grid with at least 2m points per dimension, exactly so for inputs
band-limited below the coarser grid's Nyquist frequency.

Layout: ``(batch, in_channels, *grid)`` → ``(batch, out_channels, *grid)``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from explorer.models.spectral_weights import SpectralWeights
from explorer.models.truncated_dft import inverse, truncated

__all__ = ["SpectralConv", "check_modes"]


def check_modes(modes: int, grid: tuple[int, ...], *, label: str) -> None:
    """Refuse grids that cannot hold ``modes`` Fourier modes per dimension.

    The message names ``label`` (e.g. ``"FNOConfig.modes"``), the grid and the fix.
    """
    small = min(grid)
    if 2 * modes > small:
        raise ValueError(
            f"{label} = {modes} keeps {modes} Fourier modes per dimension, which needs "
            f"at least {2 * modes} grid points per dimension; the input grid is "
            f"{'×'.join(map(str, grid))}: use modes <= {small // 2} or a finer grid"
        )


class SpectralConv(nn.Module):
    """One Fourier layer with weights R from a :class:`SpectralWeights`.

    Args:
        weights: R of shape ``(in, out, m)`` (1-D) or ``(in, out, 2m, m)`` (2-D).
    """

    def __init__(self, weights: SpectralWeights) -> None:
        super().__init__()
        self.weights = weights
        self.dim = len(weights.shape) - 2
        self.in_channels, self.out_channels = weights.shape[:2]
        self.modes = weights.shape[-1]

    def forward(self, v: Tensor) -> Tensor:
        grid = tuple(v.shape[2:])
        if v.ndim != self.dim + 2 or v.shape[1] != self.in_channels:
            raise ValueError(
                f"SpectralConv expects (batch, {self.in_channels}, "
                f"{', '.join(['n'] * self.dim)}); got {tuple(v.shape)}"
            )
        check_modes(self.modes, grid, label="SpectralConv modes")
        w = self.weights().to(torch.promote_types(v.dtype, torch.complex64))
        vh = truncated(v, self.modes)  # (B, C, m) or (B, C, 2m, m)
        return inverse(_mix(vh, w), grid)


def _mix(vh: Tensor, w: Tensor) -> Tensor:
    """Σᵢ v̂_b,i(k) R_i,o(k) for every kept mode k: ``(B, I, *K)`` → ``(B, O, *K)``.

    One batched GEMM over the modes, operands copied mode-major first: an einsum
    hands torch's complex bmm strided operands, which it copies piecewise (1.5x
    slower on a 64² Darcy layer, forward and backward).
    """
    modes = vh.shape[2:]
    a = vh.flatten(2).permute(2, 0, 1).contiguous()  # (K, B, I)
    b = w.flatten(2).permute(2, 0, 1).contiguous()  # (K, I, O)
    return torch.bmm(a, b).permute(1, 2, 0).unflatten(2, modes)
