"""Neural PDE Explorer: PDEs, PINNs and neural operators, trained live beside verified
classical solutions.

This module re-exports the core numerics only; the dashboards and notebook widgets live
in ``explorer.state``, ``explorer.plotting`` and ``explorer.ui``, imported on use.
"""

from explorer.problems import PROBLEMS, AbstractProblem, make_problem
from explorer.solvers import solve

__version__ = "0.1.0"

__all__ = [
    "PROBLEMS",
    "AbstractProblem",
    "Session",
    "__version__",
    "make_problem",
    "solve",
]


def __getattr__(name: str) -> object:
    # The notebook Session pulls in param and ipywidgets: import it on first use only,
    # so that ``import explorer`` stays core-only.
    if name == "Session":
        from explorer.ui.notebook import Session

        return Session
    raise AttributeError(f"module 'explorer' has no attribute {name!r}")
