"""Collocation data for PINNs: samplers and residual-based adaptive sampling.

Operator-learning datasets live in :mod:`explorer.data.operators` (imported on
demand: they bring in the reference solvers).
"""

from explorer.data.adaptive import rad_resample, rar_refine, residual_magnitude
from explorer.data.sampling import (
    Collocation,
    Method,
    SamplerConfig,
    sample_collocation,
    sample_points,
)

__all__ = [
    "Collocation",
    "Method",
    "SamplerConfig",
    "rad_resample",
    "rar_refine",
    "residual_magnitude",
    "sample_collocation",
    "sample_points",
]
