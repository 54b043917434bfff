"""Named trainable scalars: an eigenvalue, or PDE coefficients of an inverse problem.

They are not part of the field network: the loss calls ``scalars()`` and passes the
dictionary as ``coeffs`` to ``problem.residual(u, xt, coeffs)``, and the optimiser
trains them beside the network's parameters.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import final

import torch
from torch import Tensor, nn

__all__ = ["TrainableScalars"]


@final
class TrainableScalars(nn.Module):
    """Named 0-d trainable scalars with initial values.

    A name listed in ``positive`` is stored as its logarithm and returned as
    ``exp(raw)``: it stays positive whatever the optimiser does (a diffusivity ν, a
    viscosity), and equal steps in raw space are equal relative changes, which suits
    coefficients whose size spans decades. The others (an eigenvalue E, which may be
    negative) are stored as they are.

    Args:
        initial: name -> initial value; names are Python identifiers.
        positive: names parameterised in log space; their initial values must be > 0.
        dtype: the scalars' dtype (match the field network's).

    ``scalars()`` returns ``{name: value}``; ``state_dict`` holds the raw values
    (``"raw.nu"`` is log ν for a positive ν).
    """

    def __init__(
        self,
        initial: Mapping[str, float],
        *,
        positive: Iterable[str] = (),
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__()
        positive = frozenset(positive)
        for name in sorted(positive - set(initial)):
            raise ValueError(
                f"TrainableScalars.positive names {name!r}, which has no initial "
                f"value; allowed: names among {sorted(initial)}"
            )
        raw: dict[str, nn.Parameter] = {}
        for name, value in initial.items():
            if not name.isidentifier():
                raise ValueError(
                    f"TrainableScalars name {name!r} is invalid; allowed: identifiers"
                )
            value = float(value)
            if not math.isfinite(value) or (name in positive and value <= 0):
                allowed = (
                    "finite values > 0 (log-parameterised)"
                    if name in positive
                    else "finite values"
                )
                raise ValueError(
                    f"TrainableScalars initial value {name} = {value!r} is invalid; "
                    f"allowed: {allowed}"
                )
            stored = math.log(value) if name in positive else value
            raw[name] = nn.Parameter(torch.tensor(stored, dtype=dtype))
        self.raw = nn.ParameterDict(raw)
        self.positive = positive

    @property
    def names(self) -> tuple[str, ...]:
        """The scalars' names, in the order given."""
        return tuple(self.raw.keys())

    def forward(self) -> dict[str, Tensor]:
        """``{name: value}``, 0-d tensors carrying gradients to the raw parameters."""
        return {
            name: torch.exp(p) if name in self.positive else p
            for name, p in self.raw.items()
        }
