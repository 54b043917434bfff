"""Classical reference solvers: exact formulas, spectral, finite differences, sparse."""

from explorer.solvers.base import AbstractSolver, Fields, Progress
from explorer.solvers.exact import ExactSolver
from explorer.solvers.reference import REFERENCE_SOLVERS, reference_solver, solve

__all__ = [
    "REFERENCE_SOLVERS",
    "AbstractSolver",
    "ExactSolver",
    "Fields",
    "Progress",
    "reference_solver",
    "solve",
]
