"""The Gallery dashboard: pick a problem, move its knobs, watch the reference redraw.

A thin view over :class:`~explorer.state.ProblemState`: the sidebar holds the problem
menu and one widget per knob, generated from the problem's ParameterSpecs; the main
area holds the title, the equation, the plot and a status line that shows validation
messages. All logic (validation, solving, caching) lives in the state.
"""

from __future__ import annotations

from typing import Any

import holoviews as hv
import panel as pn
import param

from explorer.plotting import plot_solution
from explorer.problems import PROBLEMS
from explorer.state import ProblemState
from explorer.ui.panel.widgets import MATH_CSS, escape_markdown, knob_widgets

__all__ = ["Gallery", "knob_widgets"]

SIDEBAR_WIDTH = 320


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
            renderer="katex",
            styles={"font-size": "1.5em"},
            stylesheets=[MATH_CSS],
            margin=(0, 10),
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
            self._status.param.update(
                object=escape_markdown(s.error), alert_type="danger"
            )
            return
        ds = s.solution
        if ds is None:
            return
        grid = " × ".join(f"{ds.sizes[n]} {n}" for n in ds.sizes)
        solver = ds.attrs.get("solver", "?")
        name = ds.attrs.get("problem", s.problem)
        text = f"{name}: reference by {solver} on a {grid} grid · {s.solve_ms:.0f} ms"
        self._status.param.update(object=escape_markdown(text), alert_type="light")

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Row(self.sidebar, self.main, sizing_mode="stretch_width")
