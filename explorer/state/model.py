"""ModelState: the PINN network's knobs, and the bridge to its frozen configs."""

from __future__ import annotations

from typing import Any

import param

from explorer.losses import PINNOptions
from explorer.models import MLPConfig
from explorer.state._knobs import choice, config_default, number

__all__ = ["ModelState"]


class ModelState(param.Parameterized):
    """The network: a fully connected net, optional Fourier features, hard constraints.

    Bounds and choices are :class:`~explorer.models.MLPConfig`'s own, so a value the
    knob accepts is one the config accepts. The defaults (3 × 32, tanh, float32)
    train Burgers at about a hundred steps per second on one CPU core.

    Example:
        >>> m = ModelState(width=64)
        >>> m.to_config().width
        64
    """

    depth = number(MLPConfig, "depth", doc="hidden layers")
    width = number(
        MLPConfig, "width", doc="units per hidden layer", softbounds=(4, 128)
    )
    activation = choice(
        MLPConfig, "activation", doc="activation; sin is SIREN (its own init)"
    )
    fourier_features = number(
        MLPConfig,
        "fourier_features",
        doc="random Fourier features m feeding the first layer (0 is off)",
        softbounds=(0, 128),
    )
    fourier_scale = number(
        MLPConfig,
        "fourier_scale",
        doc="σ of the Fourier frequencies, in cycles per unit of input",
        softbounds=(0.1, 20.0),
    )
    hard_bc = param.Boolean(
        config_default(PINNOptions, "hard_bc"),
        label="Hard BC",
        doc="build the Dirichlet walls into the network instead of a penalty term",
    )
    hard_ic = param.Boolean(
        config_default(PINNOptions, "hard_ic"),
        label="Hard IC",
        doc="build the initial condition into the network (evolution problems)",
    )
    float64 = param.Boolean(
        False, label="float64", doc="double precision (slower, for tight accuracy)"
    )

    #: The knob names, in display order.
    KNOBS = (
        "depth",
        "width",
        "activation",
        "fourier_features",
        "fourier_scale",
        "hard_bc",
        "hard_ic",
        "float64",
    )

    def to_config(self) -> MLPConfig:
        """The network config (``in_dim``/``out_dim`` are set by the problem later)."""
        return MLPConfig(
            depth=self.depth,
            width=self.width,
            activation=self.activation,
            fourier_features=self.fourier_features,
            fourier_scale=float(self.fourier_scale),
            dtype="float64" if self.float64 else "float32",
        )

    def to_options(self) -> PINNOptions:
        """How the network meets its conditions."""
        return PINNOptions(hard_bc=self.hard_bc, hard_ic=self.hard_ic)

    def values(self) -> dict[str, Any]:
        """The knob values by name."""
        return {k: getattr(self, k) for k in self.KNOBS}
