"""Losses that bind a problem to a network: PINN terms (operator losses come later)."""

from explorer.losses.pinn import CausalWeights, Observations, PINNLoss
from explorer.losses.pinn_model import PINN, PINNOptions, build_pinn

__all__ = [
    "PINN",
    "CausalWeights",
    "Observations",
    "PINNLoss",
    "PINNOptions",
    "build_pinn",
]
