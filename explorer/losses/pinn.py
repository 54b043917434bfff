"""The PINN loss: named mean-squared terms that bind a problem to a network.

Terms (each present only where it applies):

- ``residual``: the PDE residual on interior points; with causal weighting
  (Wang, Sankaran & Perdikaris 2022) the mean over time chunks i is weighted by
  wᵢ = exp(−ε Σ_{k<i} Lₖ), so later times train only once earlier ones are fitted.
- ``ic``: u(x, 0) − u₀(x) (evolution problems without a built-in initial condition);
  ``ic_velocity``: uₜ(x, 0) − v₀(x) for the wave equation.
- ``bc``: u − g on Dirichlet walls (unless built in).
- ``periodic``: u and uₓ equal on opposite faces (unless the net is embedded
  periodically).
- ``data``: u − u_data at observed points (inverse problems).
- ``norm``: (∫ψ² − 1)² for eigenproblems, so ψ = 0 is not a solution. Excited
  states stay orthogonal to the lower ones by construction (the PINN's deflation),
  not by a penalty.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import final

import torch
from torch import Tensor

from explorer._validate import check_range
from explorer.autodiff import Partials
from explorer.data import Collocation
from explorer.losses.pinn_model import PINN
from explorer.problems.base import AbstractProblem

__all__ = ["CausalWeights", "Observations", "PINNLoss"]


@final
@dataclass(frozen=True)
class Observations:
    """Samples of the solution: points ``(n, d)`` and values ``(n,)`` or ``(n, c)``."""

    points: Tensor
    values: Tensor


@final
@dataclass(frozen=True)
class CausalWeights:
    """Causal training: ``chunks`` time slices, tolerance ``eps`` (0 disables)."""

    eps: float = 0.0
    chunks: int = 16

    def __post_init__(self) -> None:
        check_range("causal eps", self.eps, 0.0, 1e4)
        check_range("causal chunks", self.chunks, 2, 256)


@dataclass
class PINNLoss:
    """Loss terms for ``pinn`` on ``problem``.

    Args:
        problem: the PDE.
        pinn: the network (with its trainable coefficients).
        causal: causal weighting of the residual for evolution problems.
        observations: data for inverse problems.
    """

    problem: AbstractProblem
    pinn: PINN
    causal: CausalWeights = field(default_factory=CausalWeights)
    observations: Observations | None = None
    last_causal_weights: Tensor | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        box = self.problem.domain()
        self._names = box.names
        self._volume = float(
            torch.tensor([h - lo for lo, h in zip(box.lows, box.highs)]).prod()
        )

    @property
    def decomposable(self) -> bool:
        """Whether every term is a sum over points, so shards of the points can be
        evaluated apart and added (:mod:`explorer.training.parallel`). Causal
        weights, the eigen norm term and deflation couple all points."""
        causal = self.causal.eps > 0.0 and "t" in self._names
        return not causal and self.problem.kind != "eigen"

    def residual(self, points: Tensor) -> Tensor:
        """The pointwise PDE residual ``(n,)`` or ``(n, c)`` (graph kept)."""
        return self.problem.residual(self.pinn, points, self.pinn.coefficients())

    def terms(self, batch: Collocation) -> dict[str, Tensor]:
        """Unweighted loss terms: scalar tensors with a graph to the parameters."""
        out = {}
        for name, err in self.pointwise(batch).items():
            if name == "residual":
                out[name] = self._causal(_squares(err), batch.interior)
            else:
                out[name] = _squares(err).mean()
        return out

    def pointwise(self, batch: Collocation) -> dict[str, Tensor]:
        """Each term's errors, ``(n,)`` or ``(n, c)``: the term is their mean square.

        The global ``norm`` term is a one-element tensor. The NTK
        weighting differentiates these per point.
        """
        p, out = self.problem, {}
        built_in = self.pinn.built_in
        out["residual"] = self.residual(batch.interior)
        # Terms that need only u share one forward pass over all their points: on a
        # few hundred points a pass costs mostly its fixed per-op overhead.
        plain = {}
        if p.kind == "evolution" and "ic" not in built_in:
            plain["ic"] = batch.initial
        if batch.boundary.shape[0] and "bc" not in built_in:
            plain["bc"] = batch.boundary
        if self.observations is not None:
            plain["data"] = self.observations.points
        u = self._values(plain)
        x0 = _space(batch.initial, self._names)
        if "ic" in u:
            out["ic"] = _diff(u["ic"], p.initial_condition(x0))
        v0 = p.initial_velocity(x0) if p.kind == "evolution" else None
        if v0 is not None:
            ut = Partials(self.pinn, batch.initial, self._names)("t")
            out["ic_velocity"] = _diff(ut, v0)
        if "bc" in u:
            out["bc"] = _diff(u["bc"], p.boundary_condition(batch.boundary))
        if batch.periodic_low.shape[0] and "periodic" not in built_in:
            dlo = Partials(self.pinn, batch.periodic_low, self._names)
            dhi = Partials(self.pinn, batch.periodic_high, self._names)
            value, slope = _diff(dlo.u, dhi.u), _diff(dlo("x"), dhi("x"))
            out["periodic"] = torch.cat([value, slope])
        if "data" in u:
            out["data"] = _diff(u["data"], self.observations.values)
        if p.kind == "eigen":
            psi = self.pinn(batch.interior)
            out["norm"] = (self._volume * psi.square().mean() - 1.0).reshape(1)
        return out

    def _values(self, points: dict[str, Tensor]) -> dict[str, Tensor]:
        """The network at each named point set, in one forward pass (rows of a
        pointwise field do not interact, so concatenating changes nothing)."""
        if len(points) < 2:
            return {k: self.pinn(x) for k, x in points.items()}
        sizes = [x.shape[0] for x in points.values()]
        u = self.pinn(torch.cat(list(points.values())))
        return dict(zip(points, u.split(sizes)))

    def _causal(self, squares: Tensor, points: Tensor) -> Tensor:
        if self.causal.eps == 0.0 or "t" not in self._names:
            return squares.mean()
        t = points[:, self._names.index("t")]
        lo, hi = float(t.min()), float(t.max())
        m = self.causal.chunks
        index = ((t - lo) / max(hi - lo, 1e-12) * m).long().clamp_(0, m - 1)
        sums = torch.zeros(m, dtype=squares.dtype, device=squares.device)
        counts = torch.zeros_like(sums)
        sums = sums.index_add(0, index, squares)
        counts = counts.index_add(0, index, torch.ones_like(squares))
        chunk = sums / counts.clamp_min(1.0)
        with torch.no_grad():
            before = torch.cat([chunk.new_zeros(1), torch.cumsum(chunk, 0)[:-1]])
            w = torch.exp(-self.causal.eps * before)
        self.last_causal_weights = w
        return (w * chunk).mean()


def _squares(r: Tensor) -> Tensor:
    return r.square() if r.dim() == 1 else r.square().sum(-1)


def _diff(a: Tensor, b: Tensor) -> Tensor:
    return a - b.reshape(a.shape)


def _space(xt: Tensor, names: tuple[str, ...]) -> Tensor:
    if "t" not in names:
        return xt
    i = names.index("t")  # slices, not an index list: views, no gather per step
    return (
        torch.cat((xt[:, :i], xt[:, i + 1 :]), 1) if i + 1 < len(names) else xt[:, :i]
    )
