"""ProblemState: which PDE, its knobs, and its reference solution, as param objects.

The knobs of the chosen problem live on a sub-object, :attr:`ProblemState.parameters`,
whose class is generated from the problem's :class:`~explorer.problems.ParameterSpec`
list and rebuilt whenever :attr:`ProblemState.problem` changes. Every change of a knob
rebuilds the frozen problem through :meth:`ProblemState.to_config` (the one bridge from
knobs to configs) and re-solves it. Invalid values never raise out of a watcher: the
problem's own message lands in :attr:`ProblemState.error` and the previous good
solution stays. That is why numeric knobs carry the spec's bounds as ``softbounds``
only (the slider range): the problem is the one place that checks values, with one
wording, cross-field checks included; front-ends clamp typed values to the bounds.

Reference solutions are pure functions of the frozen problem and the grid, so they are
cached (:func:`reference_solution`): moving a slider back to a value is instant.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import param
import xarray as xr

from explorer.problems import PROBLEMS, AbstractProblem, ParameterSpec, make_problem
from explorer.solvers import solve

__all__ = ["Expression", "ProblemState", "reference_solution"]

_LABEL_CHARS = 40  # longer docs go to the tooltip: widget titles do not wrap
_CACHE_SIZE = 64  # solutions of the default grids are ~0.2-1 MB each


class Expression(param.String):
    """A formula parameter: a string in ``variables``, with named ``presets``.

    Front-ends show it as a text box with a preset menu. The value is a preset name
    or a formula, as the problem's field takes it: some problems give a preset name a
    meaning of its own (e.g. Poisson's ``"manufactured"`` forcing).
    """

    __slots__ = ["presets", "variables"]
    _slot_defaults = dict(param.String._slot_defaults, presets=None, variables=("x",))

    def __init__(
        self,
        default: Any = param.Undefined,
        *,
        presets: Any = param.Undefined,
        variables: Any = param.Undefined,
        **params: Any,
    ) -> None:
        super().__init__(default=default, **params)
        self.presets = presets
        self.variables = variables


@functools.lru_cache(maxsize=_CACHE_SIZE)
def reference_solution(
    problem: AbstractProblem, grid: tuple[tuple[str, int], ...] | None = None
) -> xr.Dataset:
    """The cached reference solution of a frozen problem; treat it as read-only.

    Args:
        problem: a frozen (hashable) problem.
        grid: ``(name, points)`` pairs, or None for ``problem.default_grid``.
    """
    return solve(problem, dict(grid) if grid else None)


def _headline(doc: str) -> str:
    """The doc up to its first top-level ``", "``, ``"; "``, ``": "`` or ``" ("``."""
    depth = 0
    for i, c in enumerate(doc):
        depth += (c in "([") - (c in ")]")
        if depth == 0 and doc[i : i + 2] in (", ", "; ", ": ", " ("):
            if doc.startswith((", or ", ", and "), i):  # one phrase, not a gloss
                continue
            return doc[:i]
    return doc


def _label(spec: ParameterSpec) -> str:
    """``"Diffusivity ν (nu)"``; just the name when even the doc's headline is long."""
    doc = _headline(spec.doc) or spec.name
    label = f"{doc[0].upper()}{doc[1:]} ({spec.name})"
    return label if len(label) <= _LABEL_CHARS else spec.name


def _description(spec: ParameterSpec) -> str:
    units = f" [{spec.units}]" if spec.units else ""
    return f"{spec.doc}{units}; allowed: {spec.allowed()}"


def _softbounds(spec: ParameterSpec) -> tuple[float, float] | None:
    """Slider range: the bounds, cut to a decade above the default when they span many.

    A linear slider over (1e-4, 10) cannot pick 0.01; typed values still reach the
    full bounds.
    """
    if spec.bounds is None:
        return None
    lo, hi = spec.bounds
    default = spec.default
    if lo > 0 and hi / lo >= 1e3 and default > 0:
        hi = min(hi, 10.0 ** (math.floor(math.log10(default)) + 1))
    return (lo, hi)


def _parameter(spec: ParameterSpec) -> param.Parameter:
    """The param.Parameter that mirrors one ParameterSpec."""
    common = {"label": _label(spec), "doc": _description(spec)}
    if spec.is_expression:
        return Expression(
            spec.default,
            presets=dict(spec.presets or {}),
            variables=tuple(spec.variables or ()),
            **common,
        )
    if spec.choices is not None:
        return param.Selector(
            default=spec.default, objects=list(spec.choices), **common
        )
    if spec.type is bool:
        return param.Boolean(spec.default, **common)
    if spec.type is int:
        return param.Integer(spec.default, softbounds=_softbounds(spec), **common)
    if spec.type is float:
        return param.Number(spec.default, softbounds=_softbounds(spec), **common)
    if spec.type is str:
        return param.String(spec.default, **common)
    return param.Parameter(spec.default, **common)


@functools.cache
def _parameters_class(problem: type[AbstractProblem]) -> type[param.Parameterized]:
    # Generated once per problem class: param registers every Parameterized class.
    attrs = {spec.name: _parameter(spec) for spec in problem.parameters()}
    return type(f"{problem.__name__}Parameters", (param.Parameterized,), attrs)


class ProblemState(param.Parameterized):
    """The chosen problem, its knobs and its newest reference solution.

    Example:
        >>> s = ProblemState(problem="heat")
        >>> s.parameters.nu = 0.05      # re-solves; s.solution is the new Dataset
        >>> s.parameters.nu = -1.0      # s.error explains; s.solution is unchanged
    """

    problem = param.Selector(
        default="heat" if "heat" in PROBLEMS else next(iter(PROBLEMS)),
        objects=list(PROBLEMS),
        doc="which problem of the catalogue",
    )
    parameters = param.ClassSelector(
        class_=param.Parameterized,
        constant=True,
        doc="the current problem's knobs, rebuilt when the problem changes",
    )
    config = param.ClassSelector(
        class_=AbstractProblem,
        constant=True,
        allow_None=True,
        doc="the problem behind the current solution (the last valid one)",
    )
    solution = param.ClassSelector(
        class_=xr.Dataset,
        constant=True,
        allow_None=True,
        doc="the newest reference solution (read-only)",
    )
    error = param.String("", doc="why the last change was rejected; empty when valid")
    solve_ms = param.Number(
        0.0, constant=True, doc="wall time of the last refresh in ms (cache hits too)"
    )

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self._rebuild()

    # ---- the problem --------------------------------------------------------------
    @property
    def problem_class(self) -> type[AbstractProblem]:
        return PROBLEMS[self.problem]

    @property
    def specs(self) -> Mapping[str, ParameterSpec]:
        """The ParameterSpecs of the current problem, by name."""
        return {s.name: s for s in self.problem_class.parameters()}

    def values(self) -> dict[str, Any]:
        """The current knob values (possibly invalid)."""
        return {name: getattr(self.parameters, name) for name in self.specs}

    def to_config(self) -> AbstractProblem:
        """The frozen problem of the current knobs; raises ValueError if invalid."""
        return make_problem(self.problem, self.values())

    def reset(self) -> None:
        """Set every knob back to its default."""
        defaults = {n: p.default for n, p in self._knob_params().items()}
        self.parameters.param.update(**defaults)

    # ---- updates ------------------------------------------------------------------
    @param.depends("problem", watch=True)
    def _rebuild(self) -> None:
        knobs = _parameters_class(self.problem_class)(name=self.problem_class.title)
        knobs.param.watch(lambda *_: self.refresh(), list(self._knob_params(knobs)))
        with param.edit_constant(self):
            self.parameters = knobs
        self.refresh()

    def _knob_params(
        self, knobs: param.Parameterized | None = None
    ) -> dict[str, param.Parameter]:
        obj = self.parameters if knobs is None else knobs
        return {n: p for n, p in obj.param.objects("existing").items() if n != "name"}

    def refresh(self) -> None:
        """Re-solve for the current knobs; on failure set :attr:`error` only."""
        start = time.perf_counter()
        try:
            config = self.to_config()
            grid = tuple(sorted(config.default_grid.items()))
            try:
                ds = reference_solution(config, grid)
            except TypeError:  # an unhashable field: solve without the cache
                ds = solve(config, dict(grid))
            _check_finite(config, ds)
        except (ValueError, RuntimeError, ArithmeticError) as err:
            # A bad knob must not break the UI: say why, keep the last good solution.
            self.error = str(err)
            return
        with param.edit_constant(self):
            self.param.update(
                config=config,
                solution=ds,
                error="",
                solve_ms=1e3 * (time.perf_counter() - start),
            )


def _check_finite(problem: AbstractProblem, ds: xr.Dataset) -> None:
    for name, var in ds.data_vars.items():
        if not np.isfinite(var.values).all():
            raise ValueError(
                f"{problem.name}: the solution {name!r} has nan or inf values; "
                "check the expressions for singularities (log(0), 1/x) "
                "or lower the time span"
            )
