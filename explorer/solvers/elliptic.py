"""Sparse finite-difference solver for steady Dirichlet problems  −Δu + c·u = g."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import final

import numpy as np
import scipy.sparse as sp
import torch
from scipy.sparse.linalg import spsolve
from torch import Tensor

from explorer.problems.base import AbstractProblem
from explorer.problems.helmholtz_2d import Helmholtz2D
from explorer.problems.poisson_1d import Poisson1D
from explorer.problems.poisson_2d import Poisson2D
from explorer.solvers.base import AbstractSolver, Fields, Progress
from explorer.solvers.exact import grid_layout

__all__ = ["EllipticSolver", "elliptic_form"]

_Form = tuple[float, Callable[[Tensor], Tensor]]

# Each steady problem written as −Δu + c·u = g: (c, g). Explicit, like the registries.
_FORMS: dict[type[AbstractProblem], Callable[[AbstractProblem], _Form]] = {
    Poisson1D: lambda p: (0.0, p.rhs),  # type: ignore[attr-defined]
    Poisson2D: lambda p: (0.0, p.rhs),  # type: ignore[attr-defined]
    # Δu + κ²u = f  ⇔  −Δu − κ²u = −f
    Helmholtz2D: lambda p: (-(p.kappa**2), lambda xy: -p.rhs(xy)),  # type: ignore[attr-defined]
}


def elliptic_form(problem: AbstractProblem) -> _Form:
    """``(c, g)`` such that ``problem`` reads −Δu + c·u = g."""
    try:
        return _FORMS[type(problem)](problem)
    except KeyError:
        known = ", ".join(sorted(cls.name for cls in _FORMS))
        raise ValueError(
            f"{problem.name} is not a steady problem of the form −Δu + c·u = g; "
            f"allowed: {known}"
        ) from None


@final
class EllipticSolver(AbstractSolver):
    """Second-order central differences (3-point in 1-D, 5-point in 2-D), sparse LU.

    The grid is the tensor product of the given axes, which must include the
    boundary points; boundary values come from ``problem.boundary_condition``.
    Unequal spacing is allowed (the 3-point formula for unequal steps, first order
    there; second order on uniform axes).

    Cost: one sparse LU (SuperLU) of the interior system, about O(N^1.5) in 2-D for N
    unknowns; a 64×64 grid takes a few milliseconds.
    """

    name = "finite-difference (sparse)"
    order_space = 2
    order_time = None

    def solve(
        self,
        problem: AbstractProblem,
        axes: Mapping[str, Tensor],
        *,
        progress: Progress | None = None,
    ) -> Fields:
        c, g = elliptic_form(problem)
        order = grid_layout(problem)
        box = problem.domain()
        coords = []
        for name in order:
            a = axes[name].detach().cpu().numpy().astype(np.float64)
            lo, hi = box.bounds(name)
            if a.size < 3 or not np.all(np.diff(a) > 0):
                raise ValueError(
                    f"axis {name!r} needs at least 3 increasing values, got {a.size}"
                )
            scale = max(abs(lo), abs(hi), 1.0)
            if abs(a[0] - lo) > 1e-12 * scale or abs(a[-1] - hi) > 1e-12 * scale:
                raise ValueError(
                    f"axis {name!r} must run from {lo:g} to {hi:g} (the Dirichlet "
                    f"boundary), got [{a[0]:g}, {a[-1]:g}]"
                )
            coords.append(a)
        ref = axes[order[0]]
        points = box.mesh(axes, order)
        with torch.no_grad():
            rhs = g(points).detach().cpu().numpy().astype(np.float64)
            wall = problem.boundary_condition(points).detach().cpu().numpy()
        u = _dirichlet_solve(coords, c, rhs, wall.astype(np.float64))
        if progress is not None:
            progress(1.0)
        u_t = torch.as_tensor(u, dtype=ref.dtype, device=ref.device)
        return {"u": (order, u_t)}


def _second_difference(x: np.ndarray) -> sp.csr_matrix:
    """−d²/dx² at the interior nodes of ``x``: shape (n − 2, n), acting on all nodes."""
    h = np.diff(x)
    hl, hr = h[:-1], h[1:]
    left = -2.0 / (hl * (hl + hr))
    right = -2.0 / (hr * (hl + hr))
    mid = 2.0 / (hl * hr)
    m = x.size - 2
    rows = np.repeat(np.arange(m), 3)
    cols = (np.arange(m)[:, None] + np.arange(3)[None, :]).ravel()
    vals = np.stack([left, mid, right], axis=1).ravel()
    return sp.csr_matrix((vals, (rows, cols)), shape=(m, x.size))


def _restriction(n: int) -> sp.csr_matrix:
    """Selects the interior nodes: shape (n − 2, n)."""
    return sp.eye(n - 2, n, k=1, format="csr")


def _dirichlet_solve(
    coords: list[np.ndarray], c: float, rhs: np.ndarray, wall: np.ndarray
) -> np.ndarray:
    """Solve −Δu + c·u = rhs with u = wall on the boundary of a tensor grid.

    ``rhs`` and ``wall`` are flat in C order over the grid; returns the full grid.
    """
    shape = tuple(a.size for a in coords)
    restrict = [_restriction(n) for n in shape]
    # Operator rows at interior nodes acting on every node: Σ_d R⊗…⊗D_d⊗…⊗R + c R⊗…⊗R.
    full = None
    for d in range(len(coords)):
        term = None
        for e, a in enumerate(coords):
            factor = _second_difference(a) if e == d else restrict[e]
            term = factor if term is None else sp.kron(term, factor, format="csr")
        full = term if full is None else full + term
    ident = restrict[0]
    for r in restrict[1:]:
        ident = sp.kron(ident, r, format="csr")
    full = full + c * ident
    interior = np.zeros(shape, dtype=bool)
    interior[tuple(slice(1, -1) for _ in shape)] = True
    interior = interior.ravel()
    boundary_values = np.where(interior, 0.0, wall)
    b = ident @ rhs - full @ boundary_values
    A = full[:, np.flatnonzero(interior)].tocsc()
    u = boundary_values.copy()
    u[interior] = spsolve(A, b)
    return u.reshape(shape)
