"""The shape of every PDE problem: a frozen, validated dataclass stating its equation.

A problem holds numbers and expression strings only (no tensors, no device). Each of
its fields is declared with :func:`parameter` or :func:`expression`, which record the
bounds, choices and meaning that the CLI, the dashboards and the validation read.
"""

from __future__ import annotations

import abc
import dataclasses
import math
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import torch
from torch import Tensor

from explorer.autodiff import Field
from explorer.domains import Box
from explorer.expressions import ExpressionError, compile_expression

__all__ = [
    "AbstractProblem",
    "ParameterSpec",
    "expression",
    "parameter",
    "parse_value",
]

Kind = Literal["evolution", "steady", "eigen"]


@dataclass(frozen=True)
class ParameterSpec:
    """What may be set on a problem: read by the CLI, the state layer and the docs."""

    name: str
    type: type
    default: Any
    doc: str
    bounds: tuple[float, float] | None = None
    choices: tuple[Any, ...] | None = None
    units: str = ""
    variables: tuple[str, ...] | None = None  # set for expression parameters
    presets: Mapping[str, str] | None = None  # named expressions

    @property
    def is_expression(self) -> bool:
        return self.variables is not None

    def allowed(self) -> str:
        """Human-readable statement of the allowed values."""
        if self.is_expression:
            names = ", ".join(sorted(self.presets or {}))
            return f"an expression in {', '.join(self.variables or ())}" + (
                f" or a preset ({names})" if names else ""
            )
        if self.choices is not None:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        if self.bounds is not None:
            lo, hi = self.bounds
            return f"{self.type.__name__} with {lo:g} <= {self.name} <= {hi:g}"
        return self.type.__name__


def parameter(
    default: Any,
    *,
    doc: str,
    bounds: tuple[float, float] | None = None,
    choices: tuple[Any, ...] | None = None,
    units: str = "",
) -> Any:
    """Declare a numeric or choice field of a problem."""
    meta = {"doc": doc, "bounds": bounds, "choices": choices, "units": units}
    return dataclasses.field(default=default, metadata=meta)


def expression(
    default: str,
    *,
    doc: str,
    variables: tuple[str, ...] = ("x",),
    presets: Mapping[str, str] | None = None,
) -> Any:
    """Declare an expression field: a preset name or a formula in ``variables``."""
    meta = {"doc": doc, "variables": variables, "presets": dict(presets or {})}
    return dataclasses.field(default=default, metadata=meta)


class AbstractProblem(abc.ABC):
    """A PDE (or eigen-) problem on a box. Concrete problems are frozen dataclasses.

    Class attributes every problem sets:
        name: registry key, e.g. ``"burgers"``.
        title: a short human title.
        equation: the PDE in LaTeX, shown above plots.
        kind: ``"evolution"`` (has ``t``), ``"steady"`` or ``"eigen"``.
        components: number of output channels (2 for complex fields, as real and
            imaginary parts).
        default_grid: the interactive evaluation grid, e.g. ``{"x": 256, "t": 100}``.
        has_exact: True when :meth:`exact_solution` returns values (not None).
    """

    name: ClassVar[str]
    title: ClassVar[str]
    equation: ClassVar[str]
    kind: ClassVar[Kind]
    components: ClassVar[int] = 1
    default_grid: ClassVar[Mapping[str, int]]
    has_exact: ClassVar[bool] = False

    # ---- validation -------------------------------------------------------------
    def __post_init__(self) -> None:
        for spec in self.parameters():
            value = getattr(self, spec.name)
            object.__setattr__(self, spec.name, _check(self.name, spec, value))
        self.validate()

    def validate(self) -> None:  # noqa: B027 - optional hook, not abstract
        """Cross-parameter checks; raise ValueError naming the parameters."""

    @classmethod
    def parameters(cls) -> tuple[ParameterSpec, ...]:
        """Every settable parameter with its default, bounds or choices and meaning."""
        hints = typing.get_type_hints(cls)
        out = []
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            m = f.metadata
            t = hints[f.name]
            choices = m.get("choices")
            if choices is None and typing.get_origin(t) is Literal:
                choices = typing.get_args(t)
            out.append(
                ParameterSpec(
                    name=f.name,
                    type=type(choices[0]) if choices else t,
                    default=f.default,
                    doc=m.get("doc", ""),
                    bounds=m.get("bounds"),
                    choices=choices,
                    units=m.get("units", ""),
                    variables=m.get("variables"),
                    presets=m.get("presets"),
                )
            )
        return tuple(out)

    def values(self) -> dict[str, Any]:
        """The parameter values, for attrs of saved results."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}  # type: ignore[arg-type]

    def field_expr(self, name: str) -> Any:
        """The compiled callable of an expression parameter (preset names resolved)."""
        spec = next(s for s in self.parameters() if s.name == name)
        return compile_expression(
            _resolve(spec, getattr(self, name)), variables=spec.variables
        )

    def require_vanishing(self, name: str, x: tuple[float, ...], why: str) -> None:
        """Refuse an expression parameter that is not ≈ 0 (1e-4 relative) at ``x``."""
        f = self.field_expr(name)
        lo, hi = min(x), max(x)
        scale = max(
            1.0,
            float(f(x=torch.linspace(lo, hi, 257, dtype=torch.float64)).abs().max()),
        )
        values = f(x=torch.tensor(x, dtype=torch.float64))
        bad = [
            (p, float(v))
            for p, v in zip(x, values)
            if not abs(float(v)) <= 1e-4 * scale
        ]
        if bad:
            p, v = bad[0]
            raise ValueError(
                f"{self.name}: parameter {name!r} = {getattr(self, name)!r} is {v:.3g} "
                f"at x = {p:g}, but {why}; allowed: an expression vanishing there"
            )

    def require_within(
        self, name: str, lo: float, hi: float, x: Tensor, why: str
    ) -> None:
        """Refuse an expression parameter whose values at ``x`` leave [lo, hi]."""
        v = self.field_expr(name)(x=x)
        if not bool(((v >= lo) & (v <= hi)).all()):
            raise ValueError(
                f"{self.name}: parameter {name!r} = {getattr(self, name)!r} leaves "
                f"[{lo:g}, {hi:g}] (range {float(v.min()):.3g}..{float(v.max()):.3g}), "
                f"{why}; allowed: initial values in [{lo:g}, {hi:g}]"
            )

    def coefficient(self, name: str, coeffs: Mapping[str, Tensor] | None) -> Any:
        """A PDE coefficient: the tensor in ``coeffs`` if given, else the value.

        Inverse problems fit a coefficient (e.g. ``nu``) by passing it as a tensor.
        """
        if coeffs is not None and name in coeffs:
            return coeffs[name]
        return getattr(self, name)

    # ---- the problem ----------------------------------------------------------
    @abc.abstractmethod
    def domain(self) -> Box:
        """The space(-time) box; coordinate names in network-input order."""

    @abc.abstractmethod
    def residual(
        self, u: Field, xt: Tensor, coeffs: Mapping[str, Tensor] | None = None
    ) -> Tensor:
        """The PDE residual of ``u`` at points ``xt`` ``(n, d)``; 0 for a solution.

        ``coeffs`` overrides coefficients with tensors (inverse problems, the energy of
        eigenproblems).
        """

    @abc.abstractmethod
    def exact_solution(self, xt: Tensor) -> Tensor | None:
        """The exact solution at ``xt`` written in torch (differentiable), or None."""

    def initial_condition(self, x: Tensor) -> Tensor:
        """u(x, 0) at spatial points ``x`` ``(n, d-1)``; evolution problems override."""
        raise NotImplementedError(f"{self.name} has no initial condition")

    def initial_velocity(self, x: Tensor) -> Tensor | None:
        """uₜ(x, 0) for equations second order in time; None for the others."""
        return None

    def boundary_condition(self, xt: Tensor) -> Tensor:
        """Dirichlet values on the boundary; problems with Dirichlet walls override."""
        raise NotImplementedError(f"{self.name} has no Dirichlet boundary")

    @property
    def boundary(self) -> Literal["dirichlet", "periodic", "none"]:
        """Boundary type in space: ``"periodic"`` if x is periodic, else Dirichlet."""
        return "periodic" if "x" in self.domain().periodic else "dirichlet"


def _resolve(spec: ParameterSpec, value: str) -> str:
    presets = spec.presets or {}
    return presets.get(value.strip(), value)


def _check(problem: str, spec: ParameterSpec, value: Any) -> Any:
    """Coerce and validate one parameter value, raising a one-line ValueError."""
    where = f"{problem}: parameter {spec.name!r} = {value!r}"
    if spec.is_expression:
        if not isinstance(value, str):
            raise ValueError(f"{where} is not a string; allowed: {spec.allowed()}")
        try:
            compile_expression(_resolve(spec, value), variables=spec.variables)
        except ExpressionError as err:
            presets = ", ".join(sorted(spec.presets or {})) or "none"
            raise ValueError(
                f"{where} is not valid: {err}; presets: {presets}"
            ) from None
        return value
    if spec.choices is not None:
        if value not in spec.choices:
            raise ValueError(f"{where} is not allowed; allowed: {spec.allowed()}")
        return value
    if spec.type is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{where} is not a bool; allowed: true or false")
        return value
    if spec.type is int:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{where} is not a number; allowed: {spec.allowed()}")
        if isinstance(value, float) and not value.is_integer():
            raise ValueError(f"{where} is not an integer; allowed: {spec.allowed()}")
        value = int(value)
    elif spec.type is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{where} is not a number; allowed: {spec.allowed()}")
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"{where} is not finite; allowed: {spec.allowed()}")
    if spec.bounds is not None:
        lo, hi = spec.bounds
        if not lo <= value <= hi:
            raise ValueError(f"{where} is out of bounds; allowed: {spec.allowed()}")
    return value


def parse_value(spec: ParameterSpec, text: str) -> Any:
    """Turn a string (CLI ``--set``, URL query) into a value of the spec's type."""
    where = f"parameter {spec.name!r} = {text!r}"
    if spec.is_expression:
        return text
    if spec.choices is not None:
        for c in spec.choices:
            if str(c) == text:
                return c
        raise ValueError(f"{where} is not allowed; allowed: {spec.allowed()}")
    if spec.type is bool:
        low = text.strip().lower()
        if low in ("true", "1", "yes", "on"):
            return True
        if low in ("false", "0", "no", "off"):
            return False
        raise ValueError(f"{where} is not a bool; allowed: true or false")
    try:
        number = float(text)
    except ValueError:
        raise ValueError(
            f"{where} is not a number; allowed: {spec.allowed()}"
        ) from None
    if spec.type is int:
        return int(number) if number.is_integer() else number
    return number
