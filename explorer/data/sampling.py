"""Collocation sets for PINNs: interior, initial, boundary and periodic-pair points.

A PINN loss evaluates its residual at interior points, the initial condition on
``t = t0``, the boundary condition on the non-periodic spatial walls and, when the
network is not periodic by construction, ``u(lo) = u(hi)`` on paired points of each
periodic coordinate's two faces. :func:`sample_collocation` draws all of them from one
explicit ``torch.Generator``: the same generator state gives the same set, whatever
the target device and dtype (points are drawn in float64 on the generator's device,
then cast and moved).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from types import MappingProxyType
from typing import ClassVar, Literal, final, get_args

import torch
from torch import Tensor

from explorer.domains import Box

__all__ = [
    "Collocation",
    "Method",
    "SamplerConfig",
    "sample_collocation",
    "sample_points",
]

Method = Literal["uniform", "sobol", "lhs", "grid"]


@final
@dataclass(frozen=True)
class SamplerConfig:
    """How many collocation points to draw, and how.

    Attributes:
        method: ``"uniform"`` (i.i.d.), ``"sobol"`` (scrambled Sobol sequence;
            most even for powers of two),
            ``"lhs"`` (Latin hypercube: one point per stratum in each coordinate) or
            ``"grid"`` (tensor-product grid of about the requested size, with
            per-coordinate counts proportional to the box's extents).
        n_interior: points in the box (16 to 200000).
        n_initial: points on ``t = t0`` for boxes with a ``"t"`` coordinate
            (0 to 100000; 0 when the initial condition is imposed exactly).
        n_boundary: points over all spatial walls (0 to 100000), split evenly: each
            of the ``2s`` walls of ``s`` spatial coordinates gets ``n_boundary // 2s``
            (a wall of a 1-D space is a single point and gets one). The walls of a
            periodic coordinate give that many periodic pairs instead.
        resample_every: draw a fresh set every k training steps (0 to 1000000;
            0 keeps one set for the whole run). Read by the trainer.
    """

    method: Method = "sobol"
    n_interior: int = 2000
    n_initial: int = 256
    n_boundary: int = 256
    resample_every: int = 0

    #: Allowed [lo, hi] of the counts: checked here, read by the state layer.
    BOUNDS: ClassVar[Mapping[str, tuple[int, int]]] = MappingProxyType(
        {
            "n_interior": (16, 200_000),
            "n_initial": (0, 100_000),
            "n_boundary": (0, 100_000),
            "resample_every": (0, 1_000_000),
        }
    )

    def __post_init__(self) -> None:
        allowed = get_args(Method)
        if self.method not in allowed:
            raise ValueError(
                f"SamplerConfig.method = {self.method!r} is not allowed; "
                f"allowed: {', '.join(allowed)}"
            )
        for name, (lo, hi) in self.BOUNDS.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(
                    f"SamplerConfig.{name} = {value!r} is not an integer; "
                    f"allowed: integers {lo} to {hi}"
                )
            if not lo <= value <= hi:
                raise ValueError(
                    f"SamplerConfig.{name} = {value!r} is out of range; "
                    f"allowed: {lo} to {hi}"
                )


@final
@dataclass(frozen=True)
class Collocation:
    """One collocation set; every tensor is ``(n_points, d)`` in the box's order.

    Attributes:
        interior: points inside the box.
        initial: points with ``t`` at its lower bound; ``(0, d)`` without ``"t"``.
        boundary: points on the non-periodic spatial walls; ``(0, d)`` if none.
        periodic_low, periodic_high: paired points on the low and high faces of each
            periodic coordinate, equal in every other coordinate; ``(0, d)`` if none.
    """

    interior: Tensor
    initial: Tensor
    boundary: Tensor
    periodic_low: Tensor
    periodic_high: Tensor

    def __post_init__(self) -> None:
        d = self.interior.shape[-1]
        for f in fields(self):
            t = getattr(self, f.name)
            if t.dim() != 2 or t.shape[1] != d:
                raise ValueError(
                    f"Collocation.{f.name} has shape {tuple(t.shape)}; expected "
                    f"(n, {d}), the interior's point layout"
                )
        if self.periodic_low.shape != self.periodic_high.shape:
            raise ValueError("Collocation: periodic_low and periodic_high must pair up")

    def to(
        self, device: str | torch.device | None = None, dtype: torch.dtype | None = None
    ) -> Collocation:
        """The same points on ``device`` with ``dtype`` (``None`` keeps each as is)."""
        return Collocation(
            **{f.name: getattr(self, f.name).to(device, dtype) for f in fields(self)}
        )

    def replace(self, **changes: Tensor) -> Collocation:
        """A copy with some sets replaced, e.g. ``col.replace(interior=refined)``."""
        return replace(self, **changes)


def _draw_seed(generator: torch.Generator) -> int:
    return int(
        torch.randint(0, 2**62, (1,), generator=generator, device=generator.device)
    )


def _grid_counts(extents: list[float], n: int, periodic: list[bool]) -> list[int]:
    # Counts proportional to extents keep the spacing about equal in every coordinate;
    # scan scales near the ideal one for the product closest to n (rounding alone can
    # miss it by a factor when one coordinate gets only a few points).
    ideal = (n / math.prod(extents)) ** (1.0 / len(extents))
    best: list[int] = []
    for step in sorted(range(-40, 41), key=abs):
        s = ideal * 1.01**step
        counts = [max(1 if p else 2, round(e * s)) for e, p in zip(extents, periodic)]
        if not best or abs(math.prod(counts) - n) < abs(math.prod(best) - n):
            best = counts
    return best


def _unit_points(
    method: Method,
    n: int,
    periodic: list[bool],
    extents: list[float],
    generator: torch.Generator,
) -> Tensor:
    """``n`` points in ``[0, 1]^k`` (float64, on the generator's device)."""
    k, dev = len(periodic), generator.device
    if k == 0:
        return torch.zeros(n, 0, dtype=torch.float64, device=dev)
    if method == "uniform":
        return torch.rand(n, k, generator=generator, dtype=torch.float64, device=dev)
    if method == "sobol":
        engine = torch.quasirandom.SobolEngine(
            k, scramble=True, seed=_draw_seed(generator)
        )
        return engine.draw(n, dtype=torch.float64).to(dev)
    if method == "lhs":
        # Stratum j of a coordinate is [j/n, (j+1)/n); a random permutation per
        # coordinate assigns strata to points, a uniform offset places them inside.
        perms = torch.stack(
            [torch.randperm(n, generator=generator, device=dev) for _ in range(k)], 1
        )
        u = torch.rand(n, k, generator=generator, dtype=torch.float64, device=dev)
        return (perms.to(torch.float64) + u) / n
    if method == "grid":
        axes = []
        for c, p in zip(_grid_counts(extents, n, periodic), periodic):
            i = torch.arange(c, dtype=torch.float64, device=dev)
            axes.append(i / c if p else i / (c - 1))
        grids = torch.meshgrid(*axes, indexing="ij")
        return torch.stack([g.reshape(-1) for g in grids], dim=-1)
    raise ValueError(f"method {method!r} is unknown; allowed: {get_args(Method)}")


def sample_points(
    box: Box,
    n: int,
    method: Method = "uniform",
    *,
    generator: torch.Generator,
    fixed: Mapping[str, float] | None = None,
    dtype: torch.dtype = torch.float64,
    device: str | torch.device = "cpu",
) -> Tensor:
    """``n`` points of ``box`` by ``method``, with some coordinates held fixed.

    Args:
        box: the domain.
        n: number of points (``"grid"``: about ``n``; with every coordinate fixed,
            one point).
        method: see :class:`SamplerConfig`.
        generator: the only source of randomness.
        fixed: coordinate values to hold, e.g. ``{"t": 0.0}`` for the initial line;
            the method then fills the remaining coordinates.
        dtype, device: of the result.

    Returns:
        ``(n, d)`` points in the box's coordinate order. Periodic coordinates lie in
        ``[lo, hi)``, others in ``[lo, hi]``.
    """
    fixed = fixed or {}
    unknown = [name for name in fixed if name not in box.names]
    if unknown:
        raise ValueError(
            f"fixed names coordinate {unknown[0]!r}; the box has {box.names}"
        )
    free = [i for i, name in enumerate(box.names) if name not in fixed]
    if not free:
        n = 1
    ext = [box.highs[i] - box.lows[i] for i in free]
    per = [box.names[i] in box.periodic for i in free]
    u = _unit_points(method, n, per, ext, generator)
    out = torch.empty(u.shape[0], box.dim, dtype=torch.float64, device=u.device)
    for j, i in enumerate(free):
        out[:, i] = box.lows[i] + (box.highs[i] - box.lows[i]) * u[:, j]
    for name, value in fixed.items():
        out[:, box.names.index(name)] = value
    return out.to(device=device, dtype=dtype)


def sample_collocation(
    box: Box,
    config: SamplerConfig,
    *,
    generator: torch.Generator,
    dtype: torch.dtype = torch.float64,
    device: str | torch.device = "cpu",
) -> Collocation:
    """Draw a :class:`Collocation` for ``box`` as ``config`` says.

    Sets are drawn in a fixed order (interior, initial, walls by coordinate low then
    high, periodic pairs), so one generator state determines the whole set. Spatial
    coordinates are all but ``"t"``.

    Cost: O((n_interior + n_initial + n_boundary) · d); no PDE evaluations.
    """
    m, g = config.method, generator

    def draw(n: int, fixed: dict[str, float] | None = None) -> Tensor:
        return sample_points(
            box, n, m, generator=g, fixed=fixed, dtype=dtype, device=device
        )

    empty = torch.empty(0, box.dim, dtype=dtype, device=device)
    interior = draw(config.n_interior)
    initial = empty
    if "t" in box.names and config.n_initial > 0:
        initial = draw(config.n_initial, {"t": box.bounds("t")[0]})
    space = [name for name in box.names if name != "t"]
    per_wall = config.n_boundary // (2 * len(space)) if space else 0
    walls, lows, highs = [empty], [empty], [empty]
    if per_wall > 0:
        for name in space:
            lo, hi = box.bounds(name)
            if name in box.periodic:
                low = draw(per_wall, {name: lo})
                high = low.clone()
                high[:, box.names.index(name)] = hi
                lows.append(low)
                highs.append(high)
            else:
                walls += [draw(per_wall, {name: lo}), draw(per_wall, {name: hi})]
    return Collocation(
        interior=interior,
        initial=initial,
        boundary=torch.cat(walls),
        periodic_low=torch.cat(lows),
        periodic_high=torch.cat(highs),
    )
