"""The PDE problem catalogue: one file per problem, one registry.

``PROBLEMS`` maps a problem's name (as typed on the command line) to its class;
:func:`make_problem` builds one from keyword values or ``NAME=VALUE`` strings.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from explorer.problems.allen_cahn import AllenCahn
from explorer.problems.base import AbstractProblem, ParameterSpec, parse_value
from explorer.problems.burgers import Burgers
from explorer.problems.burgers_periodic import BurgersPeriodic
from explorer.problems.convection import Convection
from explorer.problems.heat import Heat
from explorer.problems.helmholtz_2d import Helmholtz2D
from explorer.problems.kdv import KdV
from explorer.problems.kuramoto_sivashinsky import KuramotoSivashinsky
from explorer.problems.nls import NonlinearSchrodinger
from explorer.problems.poisson_1d import Poisson1D
from explorer.problems.poisson_2d import Poisson2D
from explorer.problems.reaction import Reaction
from explorer.problems.reaction_diffusion import ReactionDiffusion
from explorer.problems.schrodinger import Schrodinger1D
from explorer.problems.semilinear import AbstractSemilinearProblem
from explorer.problems.wave import Wave

PROBLEMS: dict[str, type[AbstractProblem]] = {
    cls.name: cls
    for cls in (
        Heat,
        Convection,
        Reaction,
        Wave,
        Burgers,
        Poisson1D,
        Poisson2D,
        Helmholtz2D,
        Schrodinger1D,
        BurgersPeriodic,
        AllenCahn,
        KdV,
        KuramotoSivashinsky,
        NonlinearSchrodinger,
        ReactionDiffusion,
    )
}

__all__ = [
    "PROBLEMS",
    "AbstractProblem",
    "AbstractSemilinearProblem",
    "AllenCahn",
    "Burgers",
    "BurgersPeriodic",
    "Convection",
    "Heat",
    "Helmholtz2D",
    "KdV",
    "KuramotoSivashinsky",
    "NonlinearSchrodinger",
    "ParameterSpec",
    "Poisson1D",
    "Poisson2D",
    "Reaction",
    "ReactionDiffusion",
    "Schrodinger1D",
    "Wave",
    "get_problem_class",
    "make_problem",
]


def get_problem_class(name: str) -> type[AbstractProblem]:
    """The class registered as ``name``; a ValueError lists the known names."""
    try:
        return PROBLEMS[name]
    except KeyError:
        known = ", ".join(sorted(PROBLEMS))
        raise ValueError(f"problem {name!r} is unknown; allowed: {known}") from None


def make_problem(
    name: str, values: Mapping[str, Any] | None = None, *, strings: bool = False
) -> AbstractProblem:
    """Build problem ``name`` with ``values`` overriding its defaults.

    With ``strings=True`` the values are text (CLI ``--set``, URL queries) and are
    parsed by each parameter's type first. Unknown names and bad values raise a
    ValueError that names the parameter, its value and what is allowed.
    """
    cls = get_problem_class(name)
    specs = {s.name: s for s in cls.parameters()}
    kwargs = {}
    for key, value in (values or {}).items():
        if key not in specs:
            known = ", ".join(specs) or "none"
            raise ValueError(f"{name}: parameter {key!r} is unknown; allowed: {known}")
        kwargs[key] = parse_value(specs[key], value) if strings else value
    return cls(**kwargs)
