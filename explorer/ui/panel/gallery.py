"""The Gallery dashboard: pick a problem, move its knobs, watch the reference redraw.

A thin view over :class:`~explorer.state.ProblemState`: the sidebar holds the problem
menu and one widget per knob, generated from the problem's ParameterSpecs; the main
area holds the title, the equation, the plot and a status line that shows validation
messages. All logic (validation, solving, caching) lives in the state.
"""

from __future__ import annotations

import math
from typing import Any

import holoviews as hv
import panel as pn
import param

from explorer.plotting import plot_solution
from explorer.problems import PROBLEMS, ParameterSpec
from explorer.state import Expression, ProblemState

__all__ = ["Gallery"]

SIDEBAR_WIDTH = 320
_CUSTOM = "custom"
_MARKDOWN = set("\\`*_{}[]()#+-.!|~")
_WIDGETS = {param.Selector: pn.widgets.Select, param.Boolean: pn.widgets.Checkbox}


def _escape(text: str) -> str:
    """Literal text for a Markdown pane: messages quote formulas like ``2*x*y``."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return "".join("\\" + c if c in _MARKDOWN else c for c in text)


def _slider_range(
    soft: tuple[float, float], integer: bool
) -> tuple[float, float, float]:
    """(start, end, step) of a slider: ~200-500 round steps over the soft range."""
    lo, hi = soft
    if integer:
        return lo, hi, 1
    step = 10.0 ** math.floor(math.log10((hi - lo) / 200))
    # Start on a multiple of the step so slider values read 0.001, 0.002, ...
    return math.ceil(lo / step - 1e-9) * step, hi, step


def _number_widget(
    knobs: param.Parameterized, spec: ParameterSpec
) -> pn.widgets.Widget:
    p = knobs.param[spec.name]
    integer = isinstance(p, param.Integer)
    if p.softbounds is None or spec.bounds is None:
        kind = pn.widgets.IntInput if integer else pn.widgets.FloatInput
        return kind.from_param(p, description=p.doc)
    start, end, step = _slider_range(p.softbounds, integer)
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


def _view(data: Any) -> Any:
    title = f"Reference solution · {data.attrs.get('solver', 'reference')}"
    return plot_solution(data, title=title)


def _options(element: hv.Element, group: str) -> tuple:
    kwargs = hv.Store.lookup_options("bokeh", element, group).kwargs
    return tuple(sorted((k, repr(v)) for k, v in kwargs.items()))


def _signature(view: Any) -> tuple:
    """Everything about a view except its values: elements, axes extents, options."""
    return tuple(
        (
            type(el),
            el.label,
            str(el.dimensions()),
            tuple(el.range(d) for d in el.kdims),
            _options(el, "plot"),
            _options(el, "style"),
        )
        for el in view.traverse(lambda e: e, [hv.Element])
    )


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
            kind = _WIDGETS.get(type(p), pn.widgets.TextInput)
            out.append(kind.from_param(p, description=p.doc))
    return out


class Gallery(pn.viewable.Viewer):
    """Problem menu and knobs on the left; equation, solution plot and status right."""

    state = param.ClassSelector(class_=ProblemState, doc="the controller shown")

    def __init__(self, state: ProblemState | None = None, **params: Any) -> None:
        super().__init__(state=state if state is not None else ProblemState(), **params)
        s = self.state
        self._menu = pn.widgets.Select(
            label="Problem",
            options={cls.title: name for name, cls in PROBLEMS.items()},
            value=s.problem,
            sizing_mode="stretch_width",
        )
        self._menu.param.watch(lambda e: setattr(s, "problem", e.new), "value")
        reset = pn.widgets.Button(label="Reset to defaults", color="light")
        reset.on_click(lambda _: s.reset())
        self._knobs = pn.Column(sizing_mode="stretch_width", margin=0)
        self._title = pn.pane.Markdown(sizing_mode="stretch_width", margin=(0, 10))
        self._equation = pn.pane.LaTeX(
            renderer="katex", styles={"font-size": "1.5em"}, margin=(0, 10)
        )
        # No sizing here: the pane follows the plot's own (responsive or fixed).
        self._plot = pn.pane.HoloViews()
        self._pipe: hv.streams.Pipe | None = None
        self._signature: tuple = ()
        self._status = pn.pane.Alert(sizing_mode="stretch_width", margin=(5, 10))
        self.sidebar = pn.Column(
            self._menu, self._knobs, reset, width=SIDEBAR_WIDTH, margin=(0, 10)
        )
        self.main = pn.Column(
            self._title,
            self._equation,
            self._plot,
            self._status,
            sizing_mode="stretch_width",
            min_width=480,
        )
        s.param.watch(self._on_problem, ["parameters"])
        s.param.watch(self._on_solution, ["solution"])
        s.param.watch(self._on_status, ["error", "solve_ms"])
        self._on_problem()
        self._on_solution()

    def _on_problem(self, *_: Any) -> None:
        s = self.state
        cls = s.problem_class
        self._menu.value = s.problem
        summary = (cls.__doc__ or "").strip().split("\n\n")[0]
        self._title.object = f"## {cls.title}\n{' '.join(summary.split())}"
        self._equation.object = f"$${cls.equation}$$"
        self._knobs.objects = knob_widgets(s)

    def _on_solution(self, *_: Any) -> None:
        ds = self.state.solution
        if ds is not None:
            # Only the values changed: stream them into the plot on screen (bokeh
            # patches its sources, far cheaper in the browser than a new figure).
            # New axes, colours or labels need a new figure: a streamed frame would
            # keep the old ones.
            view = _view(ds)
            signature = _signature(view)
            if signature == self._signature and self._pipe is not None:
                self._pipe.send(ds)
            else:
                self._signature = signature
                if isinstance(view, hv.Layout):  # a DynamicMap cannot hold a Layout
                    self._pipe = None
                    self._plot.object = view
                else:
                    self._pipe = hv.streams.Pipe(data=ds)
                    self._plot.object = hv.DynamicMap(_view, streams=[self._pipe])
        self._on_status()

    def _on_status(self, *_: Any) -> None:
        s = self.state
        if s.error:
            self._status.param.update(object=_escape(s.error), alert_type="danger")
            return
        ds = s.solution
        if ds is None:
            return
        grid = " × ".join(f"{ds.sizes[n]} {n}" for n in ds.sizes)
        solver = ds.attrs.get("solver", "?")
        name = ds.attrs.get("problem", s.problem)
        text = f"{name}: reference by {solver} on a {grid} grid · {s.solve_ms:.0f} ms"
        self._status.param.update(object=_escape(text), alert_type="light")

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Row(self.sidebar, self.main, sizing_mode="stretch_width")
