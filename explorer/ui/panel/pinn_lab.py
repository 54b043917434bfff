"""The PINN Lab: TensorFlow Playground on real PDEs.

A thin view over one :class:`~explorer.state.PINNSession`. The sidebar holds the
session's knobs (problem and its parameters, network, training, seed) and the Train /
Pause / Step / Reset buttons; the main area shows the run live: loss terms and their
weights, errors, gradient norms, prediction/reference/error fields (with a time
slider for evolution problems), the residual with the collocation points, the error
spectrum; eigenstates and E(step) for eigenproblems. A Compare tab trains two runs
that differ in one setting.

Training runs in the session's worker thread; the view polls ``session.version``
from a periodic callback (:meth:`PINNLab.start`), updates the status line at once
and redraws the plots at most ~7% of the time, so a slow browser drops frames, not
steps. The whole experiment lives in the URL query (:meth:`PINNLab.load_url`).
"""

from __future__ import annotations

import io
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import holoviews as hv
import numpy as np
import panel as pn
import param
import xarray as xr

from explorer.plotting import (
    eigen_views,
    energy_curve,
    error_curves,
    error_spectrum,
    field_views,
    gradnorm_curves,
    loss_curves,
    plot_solution,
    residual_map,
    weight_curves,
)
from explorer.problems import PROBLEMS
from explorer.state import ModelState, PINNSession, RunStatus, TrainingState
from explorer.ui.panel._served import ServedLab, draw_gap
from explorer.ui.panel.compare import CompareView
from explorer.ui.panel.diagnostics_tab import DiagnosticsTab
from explorer.ui.panel.lazy import lazy_tabs
from explorer.ui.panel.live import LivePlot, panels
from explorer.ui.panel.widgets import (
    MATH_CSS,
    escape_markdown,
    knob_widget,
    knob_widgets,
    set_progress,
)

__all__ = ["PINNLab"]

SIDEBAR_WIDTH = 340
_STATUS_GAP = 1.0  # s between refreshes of a running run's status line
# Curves sit three abreast: legends go under them, so the frames keep the width.
_LEGEND = {"legend_position": "bottom", "legend_cols": 2}
_CURVES = 340  # px: the curves' height, legend included
_PRESS_TRAIN = "Press **Train** (or **Step**) to see the {what}."
_SAVE_HELP = (
    "Figures: the save tool (disk icon) in each plot's toolbar downloads it as "
    "PNG. History: every snapshot (fields, losses, errors) as netCDF, with the run's "
    "recipe in the attribute run_spec; open it with xarray.open_dataset."
)
# Plot failures that mean "this view does not apply to this history" (shown as text).
_PLOT_ERRORS = (ValueError, KeyError, IndexError)


class PINNLab(ServedLab, pn.viewable.Viewer):
    """Sidebar of knobs and buttons; live plots, status and Compare in the main area.

    Args:
        session: the session shown (default: a new default session).
        location: a ``pn.state.location``; its query is applied on creation (with
            notices for ignored entries) and kept in step with the knobs.
    """

    session = param.ClassSelector(class_=PINNSession, doc="the session shown")

    def __init__(
        self,
        session: PINNSession | None = None,
        *,
        location: Any = None,
        **params: Any,
    ) -> None:
        super().__init__(
            session=session if session is not None else PINNSession(), **params
        )
        self.location = location
        self.notices = pn.pane.Alert(
            alert_type="warning", visible=False, sizing_mode="stretch_width"
        )
        if location is not None:
            self.load_url()
        self._seen = -1
        self._status_shown: RunStatus | None = None
        self._drawn: tuple = ()
        self._next_draw = 0.0
        self._next_status = 0.0
        self._callback: Any = None
        self._reference: tuple[Any, xr.Dataset | None] = (None, None)
        self._time_range: tuple[float, float] | None = None
        self.draw_seconds = 0.0  # wall time of the last redraw
        self._build_sidebar()
        self._build_main()
        s = self.session
        s.problem.param.watch(self._on_problem, "problem")
        s.problem.param.watch(self._on_knobs, "parameters")
        self._on_problem()
        self.poll()

    # ---- building --------------------------------------------------------------------
    def _build_sidebar(self) -> None:
        s = self.session
        self.train_button = pn.widgets.Button(
            label="▶ Train", color="primary", sizing_mode="stretch_width"
        )
        self.pause_button = pn.widgets.Button(
            label="Pause", sizing_mode="stretch_width"
        )
        self.step_button = pn.widgets.Button(label="Step", sizing_mode="stretch_width")
        self.reset_button = pn.widgets.Button(
            label="Reset", sizing_mode="stretch_width"
        )
        for button, action in (
            (self.train_button, self.train),
            (self.pause_button, self.pause),
            (self.step_button, self.step),
            (self.reset_button, self.reset),
        ):
            button.on_click(self._action(action))
        self.problem_menu = pn.widgets.Select(
            label="Problem",
            options={cls.title: name for name, cls in PROBLEMS.items()},
            value=s.problem.problem,
            sizing_mode="stretch_width",
        )
        self.problem_menu.param.watch(
            lambda e: setattr(s.problem, "problem", e.new), "value"
        )
        defaults = pn.widgets.Button(label="Problem defaults", color="light")
        defaults.on_click(lambda _: s.problem.reset())
        self._knobs = pn.Column(sizing_mode="stretch_width", margin=0)
        self.download = pn.widgets.FileDownload(
            callback=self._export,
            filename="pinn-history.nc",
            label="Download history (netCDF)",
            color="success",
            embed=False,
            disabled=True,
            sizing_mode="stretch_width",
        )
        # The Network and Training knobs join the page when their tab first opens.
        self.sections = lazy_tabs(
            (
                "Problem",
                pn.Column(
                    self.problem_menu,
                    self._knobs,
                    defaults,
                    sizing_mode="stretch_width",
                ),
            ),
            ("Network", self._section(s.model, ModelState.KNOBS)),
            ("Training", self._section(s.training, TrainingState.KNOBS)),
            sizing_mode="stretch_width",
        )
        self.sidebar = pn.Column(
            pn.Row(self.train_button, self.pause_button, sizing_mode="stretch_width"),
            pn.Row(self.step_button, self.reset_button, sizing_mode="stretch_width"),
            knob_widget(s, "seed"),
            self.sections,
            pn.Row(
                self.download,
                pn.widgets.TooltipIcon(value=_SAVE_HELP),
                sizing_mode="stretch_width",
            ),
            width=SIDEBAR_WIDTH,
            margin=(0, 5),
        )

    @staticmethod
    def _section(obj: param.Parameterized, names: tuple) -> pn.Column:
        widgets = [knob_widget(obj, n) for n in names]
        return pn.Column(*widgets, sizing_mode="stretch_width")

    def _build_main(self) -> None:
        self.title = pn.pane.Markdown(sizing_mode="stretch_width", margin=(0, 10))
        self.equation = pn.pane.LaTeX(
            renderer="katex",
            styles={"font-size": "1.3em"},
            stylesheets=[MATH_CSS],
            margin=(0, 10),
        )
        self.progress = pn.indicators.Progress(
            value=0, max=1, bar_color="primary", sizing_mode="stretch_width"
        )
        self.status = pn.pane.Alert(sizing_mode="stretch_width", margin=(5, 10))
        self.loss = LivePlot(
            _PRESS_TRAIN.format(what="loss terms"), height=_CURVES, css_class="lab-loss"
        )
        self.errors = LivePlot(
            _PRESS_TRAIN.format(what="error against the reference"),
            height=_CURVES,
            css_class="lab-errors",
        )
        self.slice = LivePlot("", height=_CURVES - 60, css_class="lab-slice")
        self.time = pn.widgets.FloatSlider(
            label="Time t of the slice",
            start=0.0,
            end=1.0,
            step=0.01,
            sizing_mode="stretch_width",
        )
        self.time.param.watch(lambda _: self.draw(), "value_throttled")
        self.slice_column = pn.Column(
            self.time, self.slice, visible=False, sizing_mode="stretch_width"
        )
        self.fields = [LivePlot("", css_class=f"lab-field-{i}") for i in range(3)]
        # Diagnostics in dynamic tabs: only the open one is drawn and sent.
        self.weights = LivePlot(_PRESS_TRAIN.format(what="loss-term weights"))
        self.gradnorms = LivePlot(_PRESS_TRAIN.format(what="gradient norms"))
        self.residual = LivePlot(_PRESS_TRAIN.format(what="residual map"))
        self.spectrum = LivePlot(_PRESS_TRAIN.format(what="error spectrum"))
        self.diagnostics = pn.Tabs(
            ("Residual and points", self.residual),
            ("Error spectrum", self.spectrum),
            ("Loss weights", self.weights),
            ("Gradient norms", self.gradnorms),
            dynamic=False,
            sizing_mode="stretch_width",
        )
        self.diagnostics.param.watch(lambda _: self.poll(force=True), "active")

        def row(*items: pn.viewable.Viewable) -> pn.Row:
            return pn.Row(*items, sizing_mode="stretch_width")

        live = pn.Column(
            self.title,
            self.equation,
            self.progress,
            self.status,
            self.notices,
            row(self.loss, self.errors, self.slice_column),
            row(*self.fields),
            self.diagnostics,
            sizing_mode="stretch_width",
        )
        self.compare = CompareView(self.session)
        self.diagnostics_tab = DiagnosticsTab(self.session)
        # The Compare and Diagnostics views join the page when their tab first
        # opens: the first render holds the Live tab alone.
        self.tabs = lazy_tabs(
            ("Live", live),
            ("Compare", self.compare),
            ("Diagnostics", self.diagnostics_tab),
            sizing_mode="stretch_width",
        )
        self.tabs.param.watch(lambda _: self.poll(force=True), "active")
        self.main = pn.Column(self.tabs, sizing_mode="stretch_width", min_width=480)

    # ---- actions (buttons) -----------------------------------------------------------
    def _action(self, action: Callable[[], Any]) -> Callable[[Any], None]:
        def click(_: Any) -> None:
            action()
            self.poll()

        return click

    def train(self) -> bool:
        """Train (or resume); a finished run plays on for another ``steps`` steps."""
        s = self.session
        self.compare.pause()  # one training at a time: they share the CPU
        run = s.run
        finished = (
            run is not None
            and not s.stale
            and not run.alive
            and run.trainer is not None
            and run.trainer.step >= run.trainer.config.steps
        )
        return s.train(s.training.steps if finished else None)

    def pause(self) -> None:
        self.session.pause()

    def step(self) -> bool:
        self.compare.pause()
        return self.session.step()

    def reset(self) -> bool:
        """A new run from the current knobs (untrained; Train starts it)."""
        ok = self.session.reset()
        self._drawn = ()
        return ok

    def close(self) -> None:
        """Stop polling and both runs' threads; free their trainers."""
        if self._callback is not None:
            self._callback.stop()
            self._callback = None
        self.session.close()
        self.compare.close()
        self.diagnostics_tab.close()

    # ---- watchers --------------------------------------------------------------------
    def _on_problem(self, *_: Any) -> None:
        s = self.session
        cls = s.problem.problem_class
        self.problem_menu.value = s.problem.problem
        summary = (cls.__doc__ or "").strip().split("\n\n")[0]
        self.title.object = f"## {cls.title}\n{' '.join(summary.split())}"
        self.equation.object = f"$${cls.equation}$$"
        self.download.filename = f"pinn-{s.problem.problem}-history.nc"
        self._on_knobs()

    def _on_knobs(self, *_: Any) -> None:
        self._knobs.objects = knob_widgets(self.session.problem)

    def _export(self) -> io.BytesIO:
        with tempfile.TemporaryDirectory() as tmp:
            path = self.session.export(Path(tmp) / "history.nc")
            return io.BytesIO(path.read_bytes())

    # ---- polling ---------------------------------------------------------------------
    def poll(self, force: bool = False) -> None:
        """Refresh the status now; redraw the plots when due (or ``force``)."""
        s = self.session
        version, status = s.version, s.status
        now = time.monotonic()
        # The status is compared too: a run's last step before a pause can arrive
        # without a version bump (the run bumps at most every 0.1 s). While a run
        # goes on, its step counter refreshes once a second: each refresh costs
        # the server about 25 ms, taken from the training thread (one GIL).
        shown = self._status_shown
        ticking = (
            shown is not None
            and status.state == shown.state == "running"
            and now < self._next_status
        )
        changed = version != self._seen or status != shown
        if force or (changed and not ticking):
            self._seen, self._status_shown = version, status
            self._next_status = now + _STATUS_GAP
            self._show_status()
            self._sync_url()
        if self.tabs.active == 2:
            self.diagnostics_tab.poll()
            return
        if self.tabs.active == 1:
            if force or now >= self._next_draw:
                self._throttle(self.compare.poll(), now)
            else:
                self.compare.poll(draw=False)
            return
        # While training, redraws are rationed; a paused or finished run at once.
        due = now >= self._next_draw or not s.running
        if force or (due and self._drawn != self._draw_key()):
            self._throttle(self._timed_draw(), now)

    def _throttle(self, seconds: float, now: float) -> None:
        self.draw_seconds = seconds
        self._next_draw = now + draw_gap(seconds)

    def _timed_draw(self) -> float:
        start = time.perf_counter()
        # Bokeh recomputes the document's model graph after every plot it changes
        # (0.1 s each for this page); frozen, it does so once per redraw.
        with pn.io.hold(freeze=True):
            self.draw()
        return time.perf_counter() - start

    def _draw_key(self) -> tuple:
        s = self.session
        run = s.run
        snapshots = run.snapshots if run is not None else 0
        latest = s.latest
        step = int(latest["step"].values[0]) if latest is not None else -1
        preview = s.problem.solution if run is None else None
        return (id(run), snapshots, step, id(preview))

    def _show_status(self) -> None:
        s = self.session
        st = s.status
        running = s.running
        self.train_button.disabled = running
        self.pause_button.disabled = not running
        set_progress(self.progress, st.step, st.steps)
        self.progress.bar_color = "primary" if running else "secondary"
        lines = [str(st)]
        kind = "info" if running else "light"
        if s.run is not None and s.stale:
            lines.append(
                "Settings changed: Train starts a new run (Reset builds it now)."
            )
            kind = "warning"
        if st.state in ("diverged", "error"):
            kind = "danger"
        if s.error:
            lines.append(s.error)
            kind = "danger"
        self.status.param.update(
            object="  \n".join(escape_markdown(x) for x in lines), alert_type=kind
        )
        # `latest`, not `history`: the history concatenates new snapshots, which
        # costs a copy of the whole run; the status refreshes 4 times a second.
        self.download.disabled = s.latest is None

    # ---- drawing ---------------------------------------------------------------------
    def draw(self) -> None:
        """Redraw the live plots (the open diagnostics tab only) from the history,
        or the reference preview before the first snapshot."""
        s = self.session
        self._drawn = self._draw_key()
        history = s.history
        if history is None:
            self._draw_preview()
            return
        run = s.run
        kind = PROBLEMS[run.spec.problem].kind if run is not None else ""
        diagnostics = (
            (self.residual, residual_map),
            (self.spectrum, error_spectrum),
            (self.weights, weight_curves),
            (self.gradnorms, gradnorm_curves),
        )
        shown = diagnostics[self.diagnostics.active]
        for plot, make in (
            (self.loss, loss_curves),
            (self.errors, error_curves),
            shown,
        ):
            self._show(plot, lambda m=make: m(history))
        if kind == "eigen":
            self._draw_eigen(history)
        else:
            self._draw_fields(history)

    def _show(self, plot: LivePlot, make: Callable[[], hv.Dimensioned]) -> None:
        try:
            view = make()
            if isinstance(view, hv.Overlay):
                view = view.opts(**_LEGEND)
            plot.show(view)
        except _PLOT_ERRORS as err:
            plot.show(None, escape_markdown(f"Not shown: {err}"))

    def _fill(self, views: list[hv.Dimensioned]) -> None:
        """Fields across the row; a fourth panel (the slice at time t) beside the
        curves."""
        for i, slot in enumerate(self.fields):
            slot.layout.visible = i < len(views)
            if i < len(views):
                slot.show(views[i])
        self.slice_column.visible = len(views) > len(self.fields)
        if self.slice_column.visible:  # a third of the width: a smaller title
            self.slice.show(views[len(self.fields)].opts(fontsize={"title": "10pt"}))

    def _fail(self, what: str, err: Exception) -> None:
        self._fill([])
        self.fields[0].layout.visible = True
        self.fields[0].show(None, escape_markdown(f"{what} not shown: {err}"))

    def _draw_preview(self) -> None:
        for plot in (
            self.loss,
            self.errors,
            self.weights,
            self.gradnorms,
            self.residual,
            self.spectrum,
        ):
            plot.show(None)
        solution = self.session.problem.solution
        if solution is None:
            self._fill([])
            return
        view = plot_solution(solution, title="Reference solution (before training)")
        self._fill(panels(view)[: len(self.fields)])

    def _draw_fields(self, history: xr.Dataset) -> None:
        t = None
        if "t" in history["u_pred"].dims:
            times = history["t"].values
            lo, hi = float(times[0]), float(times[-1])
            if self._time_range != (lo, hi):  # a new grid: start at the final time
                self._time_range = (lo, hi)
                step = float(np.diff(times).min()) if times.size > 1 else 0.01
                self.time.param.update(start=lo, end=hi, step=step, value=hi)
            t = self.time.value
        try:
            self._fill(panels(field_views(history, t=t)))
        except _PLOT_ERRORS as err:
            self._fail("Fields", err)

    def _draw_eigen(self, history: xr.Dataset) -> None:
        reference = self._run_reference()
        if reference is None:
            self._fill([])
            return
        try:
            views = panels(eigen_views(history, reference))
            views.append(energy_curve(history, reference))
            # A third of the width each: legends under the plots, smaller titles.
            views = [
                v.opts(fontsize={"title": "10pt"}, **{**_LEGEND, "legend_cols": 3})
                for v in views
            ]
        except _PLOT_ERRORS as err:
            self._fail("States", err)
            return
        self._fill(views)

    def _run_reference(self) -> xr.Dataset | None:
        """The reference the current run was trained against (kept after close)."""
        run = self.session.run
        if self._reference[0] is not run:
            trainer = run.trainer if run is not None else None
            ref = trainer.reference if trainer is not None else None
            self._reference = (run, ref)
        return self._reference[1]

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Row(self.sidebar, self.main, sizing_mode="stretch_width")
