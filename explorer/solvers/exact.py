"""The "solver" for problems with a closed-form solution: evaluate it on the grid."""

from __future__ import annotations

from collections.abc import Mapping
from typing import final

import torch
from torch import Tensor

from explorer.problems.base import AbstractProblem
from explorer.solvers.base import AbstractSolver, Fields, Progress

__all__ = ["ExactSolver", "grid_layout"]

_CHUNK = 1 << 16  # points per evaluation: bounds memory for series/quadrature formulas


def grid_layout(problem: AbstractProblem) -> tuple[str, ...]:
    """Array dims of a field on the grid: ``("t", *space)`` or the space names."""
    names = problem.domain().names
    space = tuple(n for n in names if n != "t")
    return ("t", *space) if "t" in names else space


@final
class ExactSolver(AbstractSolver):
    """Evaluates ``problem.exact_solution`` at every grid point (chunked)."""

    name = "exact"
    order_space = None
    order_time = None

    def solve(
        self,
        problem: AbstractProblem,
        axes: Mapping[str, Tensor],
        *,
        progress: Progress | None = None,
    ) -> Fields:
        order = grid_layout(problem)
        points = problem.domain().mesh(axes, order)
        parts = []
        with torch.no_grad():
            for start in range(0, points.shape[0], _CHUNK):
                values = problem.exact_solution(points[start : start + _CHUNK])
                if values is None:
                    raise ValueError(f"{problem.name} has no exact solution")
                parts.append(values)
                if progress is not None:
                    progress(min(1.0, (start + _CHUNK) / points.shape[0]))
        u = torch.cat(parts)
        shape = tuple(axes[n].numel() for n in order)
        if problem.components == 1:
            return {"u": (order, u.reshape(shape))}
        u = u.reshape(*shape, problem.components)
        return {"u": (order, u[..., 0]), "v": (order, u[..., 1])}
