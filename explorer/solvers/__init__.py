"""Classical reference solvers: exact formulas, spectral, finite differences, sparse."""

from explorer.solvers.base import AbstractSolver, Fields, Progress
from explorer.solvers.exact import ExactSolver
from explorer.solvers.grf import GaussianRandomField
from explorer.solvers.reference import REFERENCE_SOLVERS, reference_solver, solve
from explorer.solvers.spectral import SpectralETDRK4

__all__ = [
    "REFERENCE_SOLVERS",
    "AbstractSolver",
    "ExactSolver",
    "Fields",
    "GaussianRandomField",
    "Progress",
    "SpectralETDRK4",
    "reference_solver",
    "solve",
]
