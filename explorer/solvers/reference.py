"""The reference solution of any catalogued problem, as an xarray Dataset.

``REFERENCE_SOLVERS`` names the classical method used for each problem class without
an exact solution; problems with one are evaluated exactly.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
import xarray as xr

from explorer.problems.allen_cahn import AllenCahn
from explorer.problems.base import AbstractProblem
from explorer.problems.burgers_periodic import BurgersPeriodic
from explorer.problems.kdv import KdV
from explorer.problems.kuramoto_sivashinsky import KuramotoSivashinsky
from explorer.problems.nls import NonlinearSchrodinger
from explorer.problems.poisson_2d import Poisson2D
from explorer.problems.reaction_diffusion import ReactionDiffusion
from explorer.problems.schrodinger import Schrodinger1D
from explorer.solvers.base import AbstractSolver, Progress
from explorer.solvers.eigen import EigenSolver
from explorer.solvers.elliptic import EllipticSolver
from explorer.solvers.exact import ExactSolver
from explorer.solvers.spectral import SpectralETDRK4

__all__ = ["REFERENCE_SOLVERS", "reference_solver", "solve"]

# Explicit, not self-registering: one place says which method solves which problem.
REFERENCE_SOLVERS: dict[type[AbstractProblem], AbstractSolver] = {
    BurgersPeriodic: SpectralETDRK4(),
    AllenCahn: SpectralETDRK4(),
    KdV: SpectralETDRK4(),
    KuramotoSivashinsky: SpectralETDRK4(),
    NonlinearSchrodinger: SpectralETDRK4(),
    ReactionDiffusion: SpectralETDRK4(),
    Poisson2D: EllipticSolver(),  # for an expression forcing
    Schrodinger1D: EigenSolver(),
}

_MAX_POINTS = 1 << 24  # beyond this a grid would not fit a 2 GB box in float64


def reference_solver(problem: AbstractProblem) -> AbstractSolver:
    """The method that produces ``problem``'s reference solution."""
    if problem.has_exact:
        return ExactSolver()
    try:
        return REFERENCE_SOLVERS[type(problem)]
    except KeyError:
        raise ValueError(f"{problem.name} has no reference solver") from None


def solve(
    problem: AbstractProblem,
    grid: Mapping[str, int] | None = None,
    *,
    device: str | torch.device = "cpu",
    progress: Progress | None = None,
) -> xr.Dataset:
    """Reference solution of ``problem`` on a uniform grid.

    Args:
        problem: any catalogued problem.
        grid: points per coordinate, e.g. ``{"x": 256, "t": 100}``; missing entries
            take ``problem.default_grid``.
        device: where the solve runs (``"cuda"`` when available for large grids).
        progress: optional callback with the fraction done.

    Returns:
        Dataset with ``u`` (and ``v``, the imaginary part, for complex problems;
        ``energy`` for eigenproblems), dims ``t``, ``x``[, ``y``], coordinates, and
        attrs holding the problem name, equation, every parameter and the solver.
    """
    sizes = dict(problem.default_grid)
    for name, n in (grid or {}).items():
        if name not in sizes:
            raise ValueError(
                f"grid size for {name!r} is unknown for {problem.name}; "
                f"allowed: {', '.join(sizes)}"
            )
        if isinstance(n, bool) or not isinstance(n, int) or not 2 <= n <= 1 << 16:
            raise ValueError(
                f"grid size {name}={n!r} is not allowed; allowed: an integer 2..65536"
            )
        sizes[name] = n
    if int(np.prod(list(sizes.values()))) > _MAX_POINTS:
        raise ValueError(
            f"grid {sizes} has more than {_MAX_POINTS} points; lower the grid sizes"
        )
    box = problem.domain()
    axes = {n: box.axis(n, sizes[n], device=device) for n in sizes}
    solver = reference_solver(problem)
    fields = solver.solve(problem, axes, progress=progress)
    coords = {n: (n, a.cpu().numpy()) for n, a in axes.items()}
    data = {k: (dims, v.detach().cpu().numpy()) for k, (dims, v) in fields.items()}
    ds = xr.Dataset(data, coords={k: v for k, v in coords.items()})
    ds.attrs.update(_attrs(problem, solver))
    for n in box.names:
        if n in ds.coords:
            ds[n].attrs["long_name"] = n
    return ds


def _attrs(problem: AbstractProblem, solver: AbstractSolver) -> dict:
    attrs = {
        "problem": problem.name,
        "title": problem.title,
        "equation": problem.equation,
        "solver": solver.name,
        "order_space": _order(solver, solver.order_space, "spectral"),
        "order_time": _order(solver, solver.order_time, "n/a"),
    }
    for k, v in problem.values().items():
        attrs[f"param_{k}"] = int(v) if isinstance(v, bool) else v
    return attrs


def _order(solver: AbstractSolver, order: int | None, otherwise: str) -> int | str:
    if order is not None:
        return order
    return "exact" if isinstance(solver, ExactSolver) else otherwise
