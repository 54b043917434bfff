"""Widgets for state knobs, generated from their param definitions.

- :func:`knob_widgets`: a problem's knobs (ProblemState.parameters): sliders with a
  typed box, expression boxes with a preset menu, menus and checkboxes. The problem
  is the one judge of its values (its error shows in the view's status line).
- :func:`knob_widget`: one bounded knob of a controller (ModelState, TrainingState,
  the session's seed). A typed value the knob refuses is refused at the widget: the
  widget goes back to the knob's value and a message under it names the knob, the
  value and what is allowed.
"""

from __future__ import annotations

import math

import panel as pn
import param

from explorer.problems import ParameterSpec
from explorer.state import Expression, ProblemState

__all__ = [
    "MATH_CSS",
    "escape_markdown",
    "knob_widget",
    "knob_widgets",
    "set_progress",
    "slider_range",
]

#: A stylesheet for LaTeX panes: KaTeX shows its MathML there, and the browser sets
#: sub- and superscripts only in a math font (the Bootstrap template's font has none).
MATH_CSS = "math { font-family: math, serif; }"

_CUSTOM = "custom"
_MARKDOWN = set("\\`*_{}[]()#+-.!|~")
_WIDGETS = {param.Selector: pn.widgets.Select, param.Boolean: pn.widgets.Checkbox}


def escape_markdown(text: str) -> str:
    """Literal text for a Markdown pane: messages quote formulas like ``2*x*y``."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return "".join("\\" + c if c in _MARKDOWN else c for c in text)


def set_progress(bar: pn.indicators.Progress, value: int, total: int) -> None:
    """Show ``value`` of ``total`` (at least 1), clipped.

    One field at a time, in the order that keeps value <= max: a joint
    ``param.update`` checks the new value against the old max and fails when a
    longer run starts past it.
    """
    total = max(int(total), 1)
    value = min(int(value), total)
    if total >= bar.max:
        bar.max, bar.value = total, value
    else:
        bar.value, bar.max = value, total


def slider_range(
    soft: tuple[float, float], integer: bool
) -> tuple[float, float, float]:
    """(start, end, step) of a slider: ~200-500 round steps over the soft range."""
    lo, hi = soft
    if integer:
        return lo, hi, 1
    step = 10.0 ** math.floor(math.log10((hi - lo) / 200))
    # Start on a multiple of the step so slider values read 0.001, 0.002, ...
    return math.ceil(lo / step - 1e-9) * step, hi, step


# ---- problem knobs ---------------------------------------------------------------
def _number_widget(
    knobs: param.Parameterized, spec: ParameterSpec
) -> pn.widgets.Widget:
    p = knobs.param[spec.name]
    integer = isinstance(p, param.Integer)
    if p.softbounds is None or spec.bounds is None:
        kind = pn.widgets.IntInput if integer else pn.widgets.FloatInput
        return kind.from_param(p, description=p.doc)
    start, end, step = slider_range(p.softbounds, integer)
    kind = pn.widgets.EditableIntSlider if integer else pn.widgets.EditableFloatSlider
    lo, hi = spec.bounds
    widget = kind(
        label=p.label,
        value=getattr(knobs, spec.name),
        start=start,
        end=end,
        step=step,
        fixed_start=lo,
        fixed_end=hi,
        format="0" if integer else "0[.][0000]",
        sizing_mode="stretch_width",
    )
    # Linked by hand, not from_param: the widget's hard bounds must not reject an
    # out-of-range value set on the state (the state reports it as an error instead).
    widget.param.watch(lambda e: setattr(knobs, spec.name, e.new), "value")

    def follow(event: param.parameterized.Event) -> None:
        if lo <= event.new <= hi:
            widget.value = event.new

    knobs.param.watch(follow, spec.name)
    return widget


def _expression_widget(knobs: param.Parameterized, name: str) -> pn.Column:
    """A text box (committed on Enter) and a preset menu that writes into it.

    The menu writes the preset's name (the problem resolves it); its labels show the
    formulas so that a preset can be copied and edited.
    """
    p: Expression = knobs.param[name]
    text = pn.widgets.TextInput.from_param(p, description=p.doc)
    presets = dict(p.presets or {})
    if not presets:
        return pn.Column(text, margin=0)

    def matching(value: str) -> str:
        value = value.strip()
        if value in presets:
            return value
        return next((k for k, v in presets.items() if v == value), _CUSTOM)

    menu = pn.widgets.Select(
        label="Preset",
        options={_CUSTOM: _CUSTOM, **{f"{k}: {v}": k for k, v in presets.items()}},
        value=matching(getattr(knobs, name)),
    )

    def pick(event: param.parameterized.Event) -> None:
        if event.new != _CUSTOM and matching(getattr(knobs, name)) != event.new:
            setattr(knobs, name, event.new)

    menu.param.watch(pick, "value")
    knobs.param.watch(lambda e: setattr(menu, "value", matching(e.new)), name)
    return pn.Column(text, menu, margin=0)


def knob_widgets(state: ProblemState) -> list[pn.viewable.Viewable]:
    """One widget per knob of the state's current problem, in declaration order."""
    knobs = state.parameters
    out: list[pn.viewable.Viewable] = []
    for name, spec in state.specs.items():
        p = knobs.param[name]
        if isinstance(p, Expression):
            out.append(_expression_widget(knobs, name))
        elif isinstance(p, param.Number):  # Integer is a Number too
            out.append(_number_widget(knobs, spec))
        else:
            out.append(knob_widget(knobs, name))
    return out


# ---- bounded controller knobs ------------------------------------------------------
def _soft_range(p: param.Number) -> tuple[float, float] | None:
    soft = p.softbounds or p.bounds
    if soft is None or None in soft:
        return None
    return soft


def _bounded_number(obj: param.Parameterized, name: str) -> pn.Column:
    p = obj.param[name]
    integer = isinstance(p, param.Integer)
    value = getattr(obj, name)
    soft = _soft_range(p)
    if soft is None:
        kind = pn.widgets.IntInput if integer else pn.widgets.FloatInput
        widget = kind(label=p.label, value=value, sizing_mode="stretch_width")
    else:
        start, end, step = slider_range(soft, integer)
        kind = (
            pn.widgets.EditableIntSlider if integer else pn.widgets.EditableFloatSlider
        )
        widget = kind(
            label=p.label,
            value=value,
            start=min(start, value),
            end=max(end, value),
            step=step,
            format="0" if integer else "0[.][00000]",
            sizing_mode="stretch_width",
        )
    widget.description = p.doc
    column = pn.Column(widget, margin=0, sizing_mode="stretch_width")
    message = pn.pane.Alert(
        alert_type="danger", margin=(0, 5, 5, 5), sizing_mode="stretch_width"
    )

    def say(text: str) -> None:  # the message joins the column on first use only
        message.object = text
        if text and message not in column:
            column.append(message)
        elif not text and message in column:
            column.remove(message)

    def push(event: param.parameterized.Event) -> None:
        if event.new == getattr(obj, name):  # the knob's own value coming back
            return
        try:
            setattr(obj, name, event.new)
        except ValueError as err:  # param's bounds check
            _, found, allowed = p.doc.rpartition("allowed: ")
            reason = f"allowed: {allowed}" if found else str(err)
            say(escape_markdown(f"{p.label} = {event.new!r} refused; {reason}"))
            widget.value = getattr(obj, name)  # the knob kept its value
        else:
            say("")

    def follow(event: param.parameterized.Event) -> None:
        if widget.value != event.new:
            widget.value = event.new

    widget.param.watch(push, "value")
    obj.param.watch(follow, name)
    return column


def knob_widget(obj: param.Parameterized, name: str) -> pn.viewable.Viewable:
    """The widget of knob ``name`` of ``obj``, two-way bound to it.

    Menus follow changes of the knob's choices (e.g. a curriculum's parameters).
    """
    p = obj.param[name]
    if isinstance(p, param.Number):  # Integer is a Number too
        return _bounded_number(obj, name)
    kind = _WIDGETS.get(type(p), pn.widgets.TextInput)
    extra = {"description": p.doc} if "description" in kind.param else {}
    return kind.from_param(p, sizing_mode="stretch_width", **extra)
