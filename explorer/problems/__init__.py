"""The PDE problem catalogue: one file per problem, one registry.

``PROBLEMS`` maps a problem's name (as typed on the command line) to its class;
:func:`make_problem` builds one from keyword values or ``NAME=VALUE`` strings.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from explorer.problems.base import AbstractProblem, ParameterSpec, parse_value
from explorer.problems.burgers import Burgers
from explorer.problems.convection import Convection
from explorer.problems.heat import Heat
from explorer.problems.reaction import Reaction
from explorer.problems.wave import Wave

PROBLEMS: dict[str, type[AbstractProblem]] = {
    cls.name: cls
    for cls in (
        Heat,
        Convection,
        Reaction,
        Wave,
        Burgers,
    )
}

__all__ = [
    "PROBLEMS",
    "AbstractProblem",
    "Burgers",
    "Convection",
    "Heat",
    "ParameterSpec",
    "Reaction",
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
