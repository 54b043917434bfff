"""Excited eigenstates by deflation: the field minus its projection on lower states.

A penalty Σⱼ⟨ψ, φⱼ⟩² on the overlaps with the lower states φⱼ competes with the
residual, which every lower eigenpair also zeroes: in practice the net slides back
to the ground state or to ψ = 0. Deflation removes the choice: the network's output
N becomes ψ = N − Σⱼ cⱼ φⱼ with cⱼ = ⟨N, φⱼ⟩ / ⟨φⱼ, φⱼ⟩, which is orthogonal to
every φⱼ whatever the weights, so the lowest eigenpair left is the k-th.

The lower states come from the verified reference solver, as sine series fitted to
its grid values (the states vanish at both walls): smooth, so the residual sees
their exact second derivatives, and their derivative jets are closed-form.
"""

from __future__ import annotations

import math
import weakref

import numpy as np
import scipy.fft
import torch
import xarray as xr
from torch import Tensor, nn

from explorer.autodiff import Jet

__all__ = ["Deflation", "SineSeries"]

_KEEP = 1e-13  # drop sine modes below this fraction of the largest coefficient


class SineSeries(nn.Module):
    """Functions on [lo, hi] that vanish at both ends: φⱼ(x) = Σₘ bⱼₘ sin(mπ(x − lo)/L).

    Args:
        x: uniform nodes from ``lo`` to ``hi``, walls included.
        values: ``(J, len(x))`` samples, zero at the walls.
    """

    def __init__(self, x: np.ndarray, values: np.ndarray) -> None:
        super().__init__()
        n = len(x) - 1  # intervals; DST-I interpolates the n - 1 interior nodes
        step = np.diff(x)
        if n < 3 or np.ptp(step) > 1e-9 * step.mean():
            raise ValueError("SineSeries needs at least 4 uniform nodes")
        coeffs = scipy.fft.dst(values[:, 1:-1], type=1, axis=-1) / n
        big = np.abs(coeffs).max(axis=0) > _KEEP * np.abs(coeffs).max()
        modes = int(np.nonzero(big)[0].max()) + 1 if big.any() else 1
        self.lo, self.length = float(x[0]), float(x[-1] - x[0])
        self.register_buffer("coeffs", torch.tensor(coeffs[:, :modes]))  # (J, M)
        self.register_buffer(
            "freq",
            torch.arange(1, modes + 1, dtype=torch.float64) * math.pi / self.length,
        )

    def derivatives(self, x: Tensor, order: int) -> list[Tensor]:
        """φ, φ′, ..., φ⁽ᵒʳᵈᵉʳ⁾ at points ``x`` ``(n, 1)``, each ``(n, J)``.

        Closed form: dᵏ/dxᵏ sin(ωx) = ωᵏ sin(ωx + kπ/2).
        """
        b = self.coeffs.to(x.dtype)
        w = self.freq.to(x.dtype)
        phase = (x[:, :1] - self.lo) * w  # (n, M)
        s, c = torch.sin(phase), torch.cos(phase)
        cycle = (s, c, -s, -c)
        return [(cycle[k % 4] * w**k) @ b.T for k in range(order + 1)]

    def forward(self, x: Tensor) -> Tensor:
        return self.derivatives(x, 0)[0]


class Deflation(nn.Module):
    """Project lower states out of a field and normalise: ψ = P N / ‖P N‖.

    P N = N − Σⱼ cⱼ(N) φⱼ. The overlaps cⱼ and the norm are trapezoid sums on the
    reference grid, so ψ is orthogonal to the φⱼ and of unit norm to quadrature
    accuracy at every step (one extra forward pass of N on that grid per
    evaluation); they carry the graph, so the loss trains N through them.
    Normalising here, not only by the ``norm`` penalty, matters: projecting a
    freshly initialised net, whose output is a bump much like the ground state,
    leaves a tiny P N, and at ψ ≈ 0 the penalty's gradient (∝ ψ) vanishes while
    the residual's pull to ψ = 0 does not.

    Args:
        states: the lower states.
        energies: their energies Eⱼ (to start the excited state's energy above them).
        nodes: quadrature nodes ``(q, 1)`` and weights ``(q,)``.
    """

    def __init__(self, states: SineSeries, energies: Tensor, nodes: Tensor) -> None:
        super().__init__()
        self.states = states
        self.register_buffer("energies", energies)
        q = nodes.shape[0]
        weights = torch.full((q,), states.length / (q - 1), dtype=nodes.dtype)
        weights[[0, -1]] *= 0.5
        self.register_buffer("nodes", nodes)
        self.register_buffer("weights", weights)
        phi = states(nodes)  # (q, J)
        self.register_buffer("basis", phi)
        self.register_buffer("gram", (phi * self.weights[:, None]).T @ phi)
        self._cache: tuple | None = None

    @classmethod
    def from_reference(cls, reference: xr.Dataset, state: int) -> Deflation:
        """Deflate states ``0 .. state - 1`` of an eigen solver's Dataset."""
        available = reference.sizes["state"]
        if not 1 <= state < available:
            raise ValueError(
                f"state = {state!r} cannot be deflated: the reference holds "
                f"{available} states; allowed: 1 to {available - 1} (raise n_states)"
            )
        x = reference["x"].values
        values = reference["u"].isel(state=slice(0, state)).values
        series = SineSeries(x, values)
        energies = torch.tensor(reference["energy"].values[:state])
        return cls(series, energies, torch.tensor(x)[:, None])

    def coefficients(self, field: nn.Module) -> tuple[Tensor, Tensor]:
        """cⱼ = ⟨N, φⱼ⟩ (Gram-solved, ``(J,)``) and 1/‖N − Σⱼ cⱼφⱼ‖ (graph kept)."""
        nodes = self.nodes.to(next(field.parameters()).dtype)
        n = field(nodes).reshape(-1)
        basis, w = self.basis.to(n.dtype), self.weights.to(n.dtype)
        c = torch.linalg.solve(self.gram.to(n.dtype), (basis * (w * n)[:, None]).sum(0))
        rest = n - basis @ c
        return c, torch.rsqrt((w * rest * rest).sum())

    def apply(self, field: nn.Module, x: Tensor, u: Tensor) -> Tensor:
        """ψ at ``x`` given N's values ``u`` ``(n,)``."""
        c, scale = self.coefficients(field)
        return scale * (u - self.states(x) @ c)

    def apply_jet(self, field: nn.Module, x: Tensor, jet: Jet) -> Jet:
        """The jet of ψ given N's jet along input 0 (the eigenproblem's x)."""
        order = len(jet.series.get(0, []))
        key = (tuple(x.shape), x._version, order)  # and the object, weakly
        cache = self._cache
        if cache is None or cache[0] != key or cache[1]() is not x:
            cache = (key, weakref.ref(x), self.states.derivatives(x.detach(), order))
            self._cache = cache  # fixed points: reused while they live
        phis = cache[2]
        c, scale = self.coefficients(field)
        series = {i: [scale * t for t in s] for i, s in jet.series.items()}
        if 0 in series:
            series[0] = [scale * (t - p @ c) for t, p in zip(jet.series[0], phis[1:])]
        return Jet(scale * (jet.value - phis[0] @ c), series)
