"""The shape of a classical reference solver.

A solver declares its orders of accuracy (None for spectral or exact methods) and
returns the solution on a grid as named arrays; :func:`explorer.solvers.solve` wraps
them into an xarray Dataset with coordinates and the problem's parameters.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping
from typing import ClassVar

from torch import Tensor

from explorer.problems.base import AbstractProblem

__all__ = ["AbstractSolver", "Fields", "Progress"]

Fields = dict[str, tuple[tuple[str, ...], Tensor]]
"""Solver output: variable name -> (dims, values), e.g. ``{"u": (("t", "x"), u)}``."""

Progress = Callable[[float], None]
"""Called with the fraction done (0..1) by long solves; the consumer shows it."""


class AbstractSolver(abc.ABC):
    """A classical method for one family of problems.

    Attributes:
        name: shown in attrs and the UI.
        order_space, order_time: formal orders, None for spectral/exact.
    """

    name: ClassVar[str]
    order_space: ClassVar[int | None]
    order_time: ClassVar[int | None]

    @abc.abstractmethod
    def solve(
        self,
        problem: AbstractProblem,
        axes: Mapping[str, Tensor],
        *,
        progress: Progress | None = None,
    ) -> Fields:
        """Solve ``problem`` on the grid given by 1-D coordinate ``axes``.

        ``axes`` holds one float64 tensor per grid coordinate (on the solver's device),
        e.g. ``{"x": (nx,), "t": (nt,)}``; the returned arrays live on that device.
        """
