"""ipywidgets bound both ways to param knobs: widget.observe -> setattr, watch -> value.

No logic lives here: a value the knob refuses (param's own bounds and choices) is
reported through ``on_error`` and the widget snaps back to the knob's value;
cross-field checks stay in the state layer, which reports them in its ``error``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import ipywidgets as w
import param

from explorer.state import Expression

__all__ = ["knob_box", "knob_widget"]

_STYLE = {"description_width": "150px"}
_LAYOUT = {"width": "340px"}
_SLIDER_SPAN = 64  # integer knobs with at most this many values get a slider


def _label(p: param.Parameter, name: str) -> str:
    return p.label or name


def _make(obj: param.Parameterized, name: str) -> w.ValueWidget:
    p = obj.param[name]
    value = getattr(obj, name)
    common = {
        "description": _label(p, name),
        "tooltip": p.doc or "",
        "style": _STYLE,
        "layout": _LAYOUT,
    }
    if isinstance(p, param.Boolean):
        return w.Checkbox(value=bool(value), indent=False, **common)
    if isinstance(p, param.Selector):
        return w.Dropdown(options=_options(p), value=value, **common)
    if isinstance(p, Expression):
        return w.Combobox(
            value=str(value),
            options=sorted(p.presets or {}),
            ensure_option=False,
            continuous_update=False,
            placeholder="a preset or a formula",
            **common,
        )
    if isinstance(p, param.Number):
        lo, hi = p.bounds or (None, None)
        integer = isinstance(p, param.Integer)
        if integer and lo is not None and hi is not None and hi - lo <= _SLIDER_SPAN:
            return w.IntSlider(value=value, min=lo, max=hi, **common)
        if lo is not None and hi is not None:
            kind = w.BoundedIntText if integer else w.BoundedFloatText
            return kind(value=value, min=lo, max=hi, **common)
        # Unbounded (or half-bounded): the knob's own check reports bad values.
        kind = w.IntText if integer else w.FloatText
        return kind(value=value, continuous_update=False, **common)
    return w.Text(value=str(value), continuous_update=False, **common)


def _options(p: param.Selector) -> list[tuple[str, Any]]:
    return [(str(o), o) for o in p.objects]


def knob_widget(
    obj: param.Parameterized,
    name: str,
    on_error: Callable[[str], None] = lambda _: None,
) -> w.ValueWidget:
    """A widget for knob ``name`` of ``obj``, kept in sync with it both ways.

    Args:
        obj: the param controller.
        name: the knob.
        on_error: receives the message of a value the knob refuses ("" when a
            later value is accepted).
    """
    widget = _make(obj, name)
    syncing = False

    def to_knob(change: dict) -> None:
        nonlocal syncing
        if syncing:
            return
        try:
            setattr(obj, name, change["new"])
        except ValueError as err:
            on_error(str(err))
            to_widget_value(getattr(obj, name))
        else:
            on_error("")

    def to_widget_value(value: Any) -> None:
        nonlocal syncing
        syncing = True
        try:
            if isinstance(widget, w.Dropdown):
                widget.options = _options(obj.param[name])
            widget.value = value
        finally:
            syncing = False

    widget.observe(to_knob, "value")
    obj.param.watch(lambda e: to_widget_value(e.new), name)
    if isinstance(widget, w.Dropdown):  # choices that follow another knob
        obj.param.watch(
            lambda _: to_widget_value(getattr(obj, name)), name, what="objects"
        )
    return widget


def knob_box(
    obj: param.Parameterized,
    names: Iterable[str],
    on_error: Callable[[str], None] = lambda _: None,
) -> w.VBox:
    """One bound widget per knob in ``names``, stacked."""
    return w.VBox([knob_widget(obj, n, on_error) for n in names])
