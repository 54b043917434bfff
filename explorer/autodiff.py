"""Derivatives of fields with respect to their inputs, through ``torch.func``.

Every PDE residual in :mod:`explorer.problems` takes its derivatives from here, so a
network, an exact solution written in torch, or any other batched function
``u: (n, d) -> (n,) | (n, c)`` can be differentiated the same way.

A partial derivative such as ``u_xxt`` is a chain of directional derivatives along unit
coordinate vectors; each link is one forward-mode ``jvp``, and ``vmap`` runs the chain
over the points. Forward mode costs one extra evaluation per order and dimension-free,
which beats reverse mode for the low input dimensions (1 to 3) of PDE problems.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor
from torch.func import jvp, vmap

Field = Callable[[Tensor], Tensor]
"""A batched field: points ``(n, d)`` to values ``(n,)`` or ``(n, c)``."""

__all__ = ["Field", "Partials", "partial"]


def _pointwise(u: Field) -> Callable[[Tensor], Tensor]:
    # vmap wants a function of a single point; the field is written for batches.
    return lambda p: u(p.unsqueeze(0)).squeeze(0)


def partial(u: Field, xt: Tensor, axes: Sequence[int]) -> Tensor:
    """∂^k u / ∂x_{a1} ... ∂x_{ak} at every point of ``xt``.

    Args:
        u: batched field, ``(n, d) -> (n,)`` or ``(n, c)``.
        xt: points, ``(n, d)``.
        axes: input indices to differentiate along, e.g. ``(0, 0)`` for u_xx.

    Returns:
        The derivative with the shape of ``u(xt)``.

    Cost: 2^k forward evaluations per point for order k (nested jvp).
    """
    d = xt.shape[-1]
    g = _pointwise(u)
    for a in axes:
        e = torch.zeros(d, dtype=xt.dtype, device=xt.device)
        e[a] = 1.0
        g = _directional(g, e)
    return vmap(g)(xt)


def _directional(
    g: Callable[[Tensor], Tensor], e: Tensor
) -> Callable[[Tensor], Tensor]:
    return lambda p: jvp(g, (p,), (e,))[1]


class Partials:
    """Named partial derivatives of one field at one set of points, computed on demand.

    ``d = Partials(u, xt, ("x", "t")); d.u + d("t") - nu * d("xx")``. Each requested
    derivative is computed once per instance; the instance lives for one residual call.
    """

    def __init__(self, u: Field, xt: Tensor, names: Sequence[str]) -> None:
        self._field = u
        self._xt = xt
        self._index = {n: i for i, n in enumerate(names)}
        self._cache: dict[str, Tensor] = {}

    @property
    def u(self) -> Tensor:
        """The field's values, ``(n,)`` or ``(n, c)``."""
        if "" not in self._cache:
            self._cache[""] = self._field(self._xt)
        return self._cache[""]

    def __call__(self, spec: str) -> Tensor:
        """The partial named by ``spec``: "x" is u_x, "xxt" is u_xxt, "" is u."""
        key = "".join(sorted(spec))  # mixed partials commute for smooth fields
        if key not in self._cache:
            if key == "":
                return self.u
            try:
                axes = [self._index[c] for c in key]
            except KeyError as err:
                raise ValueError(
                    f"derivative spec {spec!r} names an unknown input {err.args[0]!r}; "
                    f"inputs are {tuple(self._index)}"
                ) from None
            self._cache[key] = partial(self._field, self._xt, axes)
        return self._cache[key]
