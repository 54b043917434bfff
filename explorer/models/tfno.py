"""The tensorised FNO (TFNO): an FNO whose spectral weights are low-rank tensors.

Same network as :mod:`explorer.models.fno`; each Fourier layer's R(k), of shape
``(width, width, *block)``, is stored as a Tucker or CP decomposition
(Kossaifi, Kovachki, Azizzadenesheli & Anandkumar, "Multi-grid tensorized Fourier
neural operator for high-resolution PDEs", TMLR 2023). With width 64 and 16 modes a
Tucker rank of 16 keeps about 5 % of the spectral parameters, which dominate the
FNO's count.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import ClassVar, Literal, final

from torch import Tensor, nn

from explorer._rng import seeded
from explorer._validate import check_range
from explorer.models.fno import (
    _DTYPES,
    FNO_BOUNDS,
    DType,
    FNOBackbone,
    Positional,
    check_choice,
    check_fno_fields,
)
from explorer.models.spectral_weights import CPWeights, TuckerWeights

__all__ = ["TFNO", "Factorization", "TFNOConfig"]

Factorization = Literal["tucker", "cp"]


@final
@dataclass(frozen=True)
class TFNOConfig:
    """A tensorised FNO: :class:`~explorer.models.FNOConfig` plus the factorisation.

    Attributes:
        dim, in_channels, out_channels, modes, width, layers, padding, positional,
            projection, dtype: as for :class:`~explorer.models.FNOConfig`.
        factorization: ``"tucker"`` (a core of ranks min(rank, size) per mode) or
            ``"cp"`` (``rank`` rank-one terms).
        rank: 1 to 1024.
    """

    BOUNDS: ClassVar[Mapping[str, tuple[float, float]]] = MappingProxyType(
        {**FNO_BOUNDS, "rank": (1, 1024)}
    )

    dim: int = 1
    in_channels: int = 1
    out_channels: int = 1
    modes: int = 16
    width: int = 64
    layers: int = 4
    padding: float = 0.0
    positional: Positional = "periodic"
    projection: int = 128
    factorization: Factorization = "tucker"
    rank: int = 16
    dtype: DType = "float32"

    def __post_init__(self) -> None:
        check_fno_fields(self)
        check_choice("TFNOConfig.factorization", self.factorization, Factorization)
        check_range("TFNOConfig.rank", self.rank, *self.BOUNDS["rank"])


@final
class TFNO(nn.Module):
    """The tensorised FNO of a :class:`TFNOConfig`, seeded."""

    def __init__(self, config: TFNOConfig, *, seed: int) -> None:
        super().__init__()
        self.config = config
        kind = TuckerWeights if config.factorization == "tucker" else CPWeights
        with seeded(seed):
            self.net = FNOBackbone(
                dim=config.dim,
                in_channels=config.in_channels,
                out_channels=config.out_channels,
                modes=config.modes,
                width=config.width,
                layers=config.layers,
                padding=config.padding,
                positional=config.positional,
                projection=config.projection,
                make_weights=functools.partial(kind, rank=config.rank),
                label="TFNOConfig.modes",
            )
        self.to(_DTYPES[config.dtype])

    def forward(self, a: Tensor) -> Tensor:
        """``(batch, in_channels, *grid)`` → ``(batch, out_channels, *grid)``."""
        return self.net(a)
