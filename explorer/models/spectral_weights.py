"""The complex weights R(k) of a spectral convolution: dense, Tucker or CP factorised.

A weight tensor has shape ``(in, out, *block)``: ``block = (m,)`` in 1-D and
``(2m, m)`` in 2-D (the positive and negative kₓ rows of the ``rfft2`` corner, the
FNO code's ``weights1`` and ``weights2`` stacked). Parameters are real tensors with a
trailing axis of 2 (real, imaginary), so every optimiser (fused Adam included) and
``torch.load(weights_only=True)`` handles them.

Factorised weights (Kossaifi et al., "Multi-grid tensorized Fourier neural
operator", TMLR 2023, the TFNO) store a low-rank decomposition and rebuild the
dense tensor at each forward pass:
    Tucker: R = G ×₁ U₁ ×₂ U₂ ⋯ (a core G of ranks ≤ ``rank`` per mode);
    CP:     R = Σᵣ λᵣ a⁽¹⁾ᵣ ⊗ a⁽²⁾ᵣ ⊗ ⋯ (``rank`` rank-one terms).
"""

from __future__ import annotations

import math
import string

import torch
from torch import Tensor, nn

__all__ = ["CPWeights", "DenseWeights", "SpectralWeights", "TuckerWeights"]


def _complex(shape: tuple[int, ...], scale: float) -> nn.Parameter:
    return nn.Parameter(scale * torch.randn(*shape, 2) / math.sqrt(2))


class SpectralWeights(nn.Module):
    """Holds (a decomposition of) R; ``forward()`` returns it dense and complex."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.shape = shape

    def forward(self) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError


class DenseWeights(SpectralWeights):
    """All entries free: in·out·∏block complex numbers (the FNO's weights).

    Initialised like the FNO code: uniform [0, 1) real and imaginary parts times
    1/(in·out).
    """

    def __init__(self, shape: tuple[int, ...]) -> None:
        super().__init__(shape)
        scale = 1.0 / (shape[0] * shape[1])
        self.weight = nn.Parameter(scale * torch.rand(*shape, 2))

    def forward(self) -> Tensor:
        return torch.view_as_complex(self.weight)


class TuckerWeights(SpectralWeights):
    """R = G ×ᵢ Uᵢ with a core of ranks min(rank, size) per mode."""

    def __init__(self, shape: tuple[int, ...], rank: int) -> None:
        super().__init__(shape)
        ranks = tuple(min(rank, s) for s in shape)
        scale = 1.0 / (shape[0] * shape[1])
        self.core = _complex(ranks, 1.0)
        self.factors = nn.ParameterList(
            [_complex((s, r), 1.0 / math.sqrt(r)) for s, r in zip(shape, ranks)]
        )
        letters = string.ascii_lowercase
        core = letters[: len(shape)]
        outs = letters[len(shape) : 2 * len(shape)]
        factors = ",".join(o + c for o, c in zip(outs, core))
        self._spec = f"{core},{factors}->{outs}"
        with torch.no_grad():  # match the dense init's magnitude
            self.core.mul_(scale / float(self.forward().abs().std()))

    def forward(self) -> Tensor:
        mats = [torch.view_as_complex(f) for f in self.factors]
        return torch.einsum(self._spec, torch.view_as_complex(self.core), *mats)


class CPWeights(SpectralWeights):
    """R = Σᵣ λᵣ ⊗ᵢ aᵢ,ᵣ with ``rank`` terms."""

    def __init__(self, shape: tuple[int, ...], rank: int) -> None:
        super().__init__(shape)
        scale = 1.0 / (shape[0] * shape[1])
        self.weights = _complex((rank,), 1.0)
        self.factors = nn.ParameterList([_complex((s, rank), 1.0) for s in shape])
        letters = string.ascii_lowercase[: len(shape)]
        self._spec = "r," + ",".join(c + "r" for c in letters) + "->" + letters
        with torch.no_grad():
            self.weights.mul_(scale / float(self.forward().abs().std()))

    def forward(self) -> Tensor:
        mats = [torch.view_as_complex(f) for f in self.factors]
        return torch.einsum(self._spec, torch.view_as_complex(self.weights), *mats)
