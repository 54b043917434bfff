"""Networks: each an ``nn.Module`` built from exactly one frozen config.

A network does not know its PDE: nothing here imports ``explorer.problems``,
``solvers``, ``losses`` or ``training``; the loss binds a network to a problem.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from explorer.models.deeponet import DeepONet, DeepONetConfig
from explorer.models.fno import FNO, FNOConfig
from explorer.models.mlp import MLP, Activation, MLPConfig
from explorer.models.scalars import TrainableScalars
from explorer.models.spectral_conv import SpectralConv
from explorer.models.tfno import TFNO, TFNOConfig
from explorer.models.transforms import (
    ConstrainedModel,
    Dirichlet,
    InitialCondition,
    InputTransform,
    OutputTransform,
    PeriodicEmbedding,
)
from explorer.models.unet import UNet, UNetConfig

__all__ = [
    "FNO",
    "MLP",
    "MODELS",
    "TFNO",
    "Activation",
    "ConstrainedModel",
    "DeepONet",
    "DeepONetConfig",
    "Dirichlet",
    "FNOConfig",
    "InitialCondition",
    "InputTransform",
    "MLPConfig",
    "OutputTransform",
    "PeriodicEmbedding",
    "SpectralConv",
    "TFNOConfig",
    "TrainableScalars",
    "UNet",
    "UNetConfig",
    "build_model",
]

MODELS: dict[type[Any], type[nn.Module]] = {
    MLPConfig: MLP,
    FNOConfig: FNO,
    TFNOConfig: TFNO,
    DeepONetConfig: DeepONet,
    UNetConfig: UNet,
}
"""Config class -> network class; adding an entry adds it to the contract tests."""


def build_model(config: Any, *, seed: int) -> nn.Module:
    """The network described by ``config``, initialised from ``seed``.

    Raises:
        TypeError: ``config`` is not one of the configs in :data:`MODELS`.
    """
    cls = MODELS.get(type(config))
    if cls is None:
        known = ", ".join(c.__name__ for c in MODELS)
        raise TypeError(
            f"build_model got a {type(config).__name__}, which is not a model config; "
            f"allowed: {known}"
        )
    return cls(config, seed=seed)
