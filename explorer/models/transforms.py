"""Hard constraints: input embeddings and output transforms around a field network.

A PINN that satisfies its boundary or initial condition by construction needs no
penalty term for it (Lagaris et al. 1998; Lu et al. 2021, "hard constraints"). The
transforms here take numbers and callables only, never a problem: the builder that
knows the problem passes its bounds and, e.g., ``problem.initial_condition``.

``ConstrainedModel`` composes ``embedding -> net -> outputs``::

    u(xt) = T_k(xt, ... T_1(xt, net(embedding(xt))))

Output transforms see the raw points ``xt`` ``(n, d)``, not the embedding, and
values ``(n, c)``. Transforms hold no parameters; ``functional_call`` on the wrapper
routes parameters (``"net.layers.0.weight"``, ...) to the inner network. Callables
stored in transforms (lifts, initial conditions) must be written in torch and
differentiable, e.g. compiled expressions; they are not trained.
"""

from __future__ import annotations

import math
import weakref
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, final

import torch
from torch import Tensor, nn

from explorer.autodiff import (
    Jet,
    JetField,
    input_jet,
    jet_of,
    jet_product,
    jet_sum,
)

_JET_CACHE = 8  # point sets whose jets are kept

__all__ = [
    "ConstrainedModel",
    "Dirichlet",
    "InitialCondition",
    "InputTransform",
    "OutputTransform",
    "PeriodicEmbedding",
]


class InputTransform(Protocol):
    """Maps points ``(n, d)`` to network inputs ``(n, out_dim(d))``."""

    def __call__(self, xt: Tensor) -> Tensor: ...

    def out_dim(self, in_dim: int) -> int: ...


class OutputTransform(Protocol):
    """Maps raw points ``(n, d)`` and network values ``(n, c)`` to values ``(n, c)``."""

    def __call__(self, xt: Tensor, u: Tensor) -> Tensor: ...


def _columns(v: Tensor, like: Tensor) -> Tensor:
    # Callables written for scalar fields return (n,); the network gives (n, c).
    return v.unsqueeze(-1) if v.dim() == like.dim() - 1 else v


def _check_coords(where: str, coords: tuple[int, ...]) -> None:
    if not coords or len(set(coords)) != len(coords) or min(coords) < 0:
        raise ValueError(
            f"{where} = {coords!r} is invalid; allowed: distinct input indices ≥ 0"
        )


@final
@dataclass(frozen=True)
class Dirichlet:
    """u = g(xt) + D(xt)·N with D = Πᵢ (xᵢ − aᵢ)(bᵢ − xᵢ) / ((bᵢ − aᵢ)/2)².

    D vanishes on the walls xᵢ = aᵢ, xᵢ = bᵢ of every constrained coordinate, so u
    equals the lift g there exactly; D is scaled to 1 at the centre so that u keeps
    the network's scale. Without a lift, u = 0 on the walls.

    Attributes:
        coords: constrained input indices.
        lows, highs: the walls aᵢ < bᵢ, one per constrained index.
        lift: g, points ``(n, d)`` to ``(n,)`` or ``(n, c)``, defined in the whole
            domain and equal to the boundary values on the walls; None is g = 0.
    """

    coords: tuple[int, ...]
    lows: tuple[float, ...]
    highs: tuple[float, ...]
    lift: Callable[[Tensor], Tensor] | None = None

    def __post_init__(self) -> None:
        _check_coords("Dirichlet.coords", self.coords)
        if not len(self.lows) == len(self.highs) == len(self.coords):
            raise ValueError(
                f"Dirichlet.lows = {self.lows!r} and highs = {self.highs!r} must give "
                f"one wall pair per coordinate in coords = {self.coords!r}"
            )
        for a, b in zip(self.lows, self.highs):
            if not a < b:
                raise ValueError(
                    f"Dirichlet walls ({a!r}, {b!r}) are invalid; allowed: low < high"
                )

    def distance(self, xt: Tensor) -> Tensor:
        """D at ``xt`` ``(n, d)``: ``(n, 1)``, zero on the walls, 1 at the centre."""
        d = None
        for i, a, b in zip(self.coords, self.lows, self.highs):
            x = xt[..., i : i + 1]
            f = (x - a) * (b - x) * (4.0 / (b - a) ** 2)
            d = f if d is None else d * f
        return d

    def __call__(self, xt: Tensor, u: Tensor) -> Tensor:
        out = self.distance(xt) * u
        if self.lift is not None:
            out = out + _columns(self.lift(xt), u)
        return out


@final
@dataclass(frozen=True)
class InitialCondition:
    """u(x, t) = u₀(x) + (t − t₀)/T · N(x, t): the initial condition holds exactly.

    Attributes:
        time_coord: index of t among the inputs.
        t0: initial time t₀.
        span: the time scale T > 0 (the run's length keeps the factor in [0, 1]).
        u0: spatial points ``(n, d − 1)`` (the inputs without t, in order) to ``(n,)``
            or ``(n, c)``, e.g. ``problem.initial_condition``.
    """

    time_coord: int
    t0: float
    span: float
    u0: Callable[[Tensor], Tensor]

    def __post_init__(self) -> None:
        if not self.time_coord >= 0:
            raise ValueError(
                f"InitialCondition.time_coord = {self.time_coord!r} is invalid; "
                "allowed: an input index ≥ 0"
            )
        if not self.span > 0:
            raise ValueError(
                f"InitialCondition.span = {self.span!r} is invalid; allowed: > 0"
            )

    def __call__(self, xt: Tensor, u: Tensor) -> Tensor:
        i = self.time_coord
        t = xt[..., i : i + 1]
        x = torch.cat((xt[..., :i], xt[..., i + 1 :]), dim=-1)
        return _columns(self.u0(x), u) + ((t - self.t0) / self.span) * u


@final
@dataclass(frozen=True)
class PeriodicEmbedding:
    """Replace each periodic input x (period L) by cos(2πkx/L), sin(2πkx/L), k ≤ K.

    A net fed only these features is exactly periodic in x, with every derivative.

    Output layout ``(n, out_dim(d))``: the non-periodic inputs in their order, then,
    per periodic coordinate in ``coords`` order, ``[cos k=1..K, sin k=1..K]``. The
    builder must size the net's ``MLPConfig.in_dim`` as ``out_dim(d)``, i.e.
    ``d + (2K − 1)·len(coords)``: 3 for (x periodic, t) with K = 1.

    Attributes:
        coords: periodic input indices.
        periods: the period L > 0 of each.
        harmonics: K ≥ 1 harmonics per periodic coordinate.
    """

    coords: tuple[int, ...]
    periods: tuple[float, ...]
    harmonics: int = 1

    def __post_init__(self) -> None:
        _check_coords("PeriodicEmbedding.coords", self.coords)
        if len(self.periods) != len(self.coords) or min(self.periods) <= 0:
            raise ValueError(
                f"PeriodicEmbedding.periods = {self.periods!r} is invalid; allowed: "
                f"one period > 0 per coordinate in coords = {self.coords!r}"
            )
        if not 1 <= self.harmonics <= 64:
            raise ValueError(
                f"PeriodicEmbedding.harmonics = {self.harmonics!r} is out of range; "
                "allowed: 1 to 64"
            )

    def out_dim(self, in_dim: int) -> int:
        """Width of the embedding of ``in_dim`` inputs: the net's ``in_dim``."""
        return in_dim + (2 * self.harmonics - 1) * len(self.coords)

    def __call__(self, xt: Tensor) -> Tensor:
        d = xt.shape[-1]
        parts = [xt[..., j : j + 1] for j in range(d) if j not in self.coords]
        k = torch.arange(1, self.harmonics + 1, dtype=xt.dtype, device=xt.device)
        for i, period in zip(self.coords, self.periods):
            theta = xt[..., i : i + 1] * ((2.0 * math.pi / period) * k)
            parts += [torch.cos(theta), torch.sin(theta)]
        return torch.cat(parts, dim=-1)


@final
class ConstrainedModel(nn.Module, JetField):
    """``u(xt) = outputs(xt, net(embedding(xt)))``: a network with hard constraints.

    Args:
        net: the field network, ``(n, e) -> (n, c)`` with ``e`` the embedding width.
        embedding: optional input transform (e.g. :class:`PeriodicEmbedding`).
        outputs: output transforms applied in order. Order matters:
            ``(Dirichlet(...), InitialCondition(...))`` gives
            u = u₀(x) + t/T · D(x)·N, exact at t = 0 and, for u₀ vanishing on the
            walls, on the walls too.

    The transforms are plain attributes: not modules, not in ``state_dict``; a
    checkpoint rebuilds them from the same config.
    """

    def __init__(
        self,
        net: nn.Module,
        *,
        embedding: InputTransform | None = None,
        outputs: Sequence[OutputTransform] = (),
    ) -> None:
        super().__init__()
        self.net = net
        self.embedding = embedding
        self.outputs = tuple(outputs)
        # Point jets by point set; several sets live at once (training points,
        # snapshot chunks, the NTK's subsets), so a few are kept.
        # (No lock: dict updates are atomic under the GIL; a race recomputes.)
        self._jets: OrderedDict[tuple, tuple] = OrderedDict()

    def __getstate__(self) -> dict:
        # The jet cache holds weak references (not picklable) and is rebuilt on use:
        # a pickled copy (a worker process's shard) starts without it.
        state = self.__dict__.copy()
        state["_jets"] = OrderedDict()
        return state

    def forward(self, xt: Tensor) -> Tensor:
        """Values at points ``xt`` ``(n, d)``: ``(n, c)``."""
        u = self.net(xt if self.embedding is None else self.embedding(xt))
        for transform in self.outputs:
            u = transform(xt, u)
        return u

    def jet(self, xt: Tensor, orders: Mapping[int, int]) -> Jet:
        """Value and pure input derivatives in one pass (see explorer.autodiff).

        Output transforms are affine in u, T(xt, u) = A(xt)·u + B(xt), so their jets
        are Leibniz products with the jets of A and B. Those depend only on the
        points, not the weights: they are computed once per point set and reused
        while the points stay the same (the usual case: fixed collocation sets).
        """
        # Keyed by the tensor object (a weak reference, so a new tensor that reuses
        # a freed one's memory or id is never mistaken for it) and its version.
        key = (id(xt), tuple(xt.shape), xt._version, tuple(sorted(orders.items())))
        ref, parts = self._jets.get(key, (None, None))
        if ref is None or ref() is not xt:
            parts = self._point_jets(xt, orders)
            self._jets[key] = (weakref.ref(xt), parts)
            while len(self._jets) > _JET_CACHE:
                self._jets.popitem(last=False)
        embedded, affine = parts
        u = self.net.forward_jet(embedded)
        for a, b in affine:
            u = jet_sum(jet_product(a, u), b)
        return u

    def _point_jets(self, xt: Tensor, orders: Mapping[int, int]) -> tuple:
        def detach(j: Jet) -> Jet:
            return j.map(Tensor.detach)

        points = xt.detach()
        if self.embedding is None:
            embedded = input_jet(points, orders)
        else:
            embedded = detach(jet_of(self.embedding, points, orders))
        c = self.net.config.out_dim
        ones = points.new_ones(points.shape[0], c)
        zeros = points.new_zeros(points.shape[0], c)
        affine = []
        for t in self.outputs:
            b = detach(jet_of(lambda z, t=t: t(z, zeros), points, orders))
            ab = detach(jet_of(lambda z, t=t: t(z, ones), points, orders))
            a = Jet(
                ab.value - b.value,
                {
                    i: [x - y for x, y in zip(s, b.series[i])]
                    for i, s in ab.series.items()
                },
            )
            affine.append((a, b))
        return embedded, affine
