"""param knobs whose bounds, defaults and choices come from the frozen configs.

A config checks its own fields and publishes their ranges (``Config.BOUNDS``); the
knobs here read those, so a widget's range and the config's check never disagree.
Defaults are the config's own unless the state layer picks a smaller, interactive one.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

import param

__all__ = ["choice", "config_default", "literal_choices", "number"]


def config_default(config: type, name: str) -> Any:
    """The default of dataclass field ``name`` of ``config``."""
    for f in dataclasses.fields(config):
        if f.name == name:
            if f.default is dataclasses.MISSING:
                raise ValueError(f"{config.__name__}.{name} has no plain default")
            return f.default
    raise ValueError(f"{config.__name__} has no field {name!r}")


def literal_choices(config: type, name: str) -> list[Any]:
    """The values of the ``Literal[...]`` annotation of field ``name``."""
    hint = typing.get_type_hints(config)[name]
    return list(typing.get_args(hint))


def number(
    config: type,
    name: str,
    *,
    doc: str,
    label: str | None = None,
    default: Any = None,
    softbounds: tuple[float, float] | None = None,
    integer: bool | None = None,
    step: float | None = None,
) -> param.Number:
    """A bounded Integer/Number knob for ``config.name``.

    The hard bounds are ``config.BOUNDS[name]`` (open below when the config says so
    in ``OPEN_BELOW``); ``softbounds`` only narrows the slider range.
    """
    lo, hi = config.BOUNDS[name]
    if default is None:
        default = config_default(config, name)
    if integer is None:
        integer = isinstance(default, int) and not isinstance(default, bool)
    open_below = name in getattr(config, "OPEN_BELOW", ())
    kind = param.Integer if integer else param.Number
    return kind(
        default,
        bounds=(lo, hi),
        inclusive_bounds=(not open_below, True),
        softbounds=softbounds,
        step=step,
        label=label,
        doc=f"{doc}; allowed: {_range(lo, hi, open_below)}",
    )


def choice(
    config: type,
    name: str,
    *,
    doc: str,
    label: str | None = None,
    default: Any = None,
) -> param.Selector:
    """A Selector knob over the ``Literal`` choices of ``config.name``."""
    objects = literal_choices(config, name)
    if default is None:
        default = config_default(config, name)
    allowed = ", ".join(str(o) for o in objects)
    return param.Selector(
        default=default,
        objects=objects,
        label=label,
        doc=f"{doc}; allowed: {allowed}",
    )


def _range(lo: float, hi: float, open_below: bool) -> str:
    return f"{'above' if open_below else 'from'} {lo:g} to {hi:g}"
