"""The Operator Lab: learn a solution operator from data our own solvers made.

A thin view over one :class:`~explorer.state.OperatorSession`. The sidebar holds the
knobs (dataset family, its physics, grid and sizes; the network; the recipe; the
seed), Train / Pause / Stop / Reset and the history download. The main area shows
the progress of data generation and training, then the run live: train/test errors,
test samples against the truth, energy spectra (what the network gets wrong at high
frequency), errors by wavenumber band, zero-shot super-resolution and, for
time-stepping data, the rollout error against time. The Learning-curve tab sweeps N
(or DeepONet sensors) in the background and draws the fitted slope beside the
Monte-Carlo N^(-1/2).

Data generation, training and sweeps run in the session's threads; the view polls
``session.version`` from a periodic callback (:meth:`OperatorLab.start`) and redraws
at most ~7% of the time. The whole experiment lives in the URL query.
"""

from __future__ import annotations

import io
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import holoviews as hv
import panel as pn
import param

from explorer.data.operators import DATASETS
from explorer.plotting import (
    band_error_curves,
    learning_curve,
    operator_error_curves,
    operator_fields,
    operator_samples,
    operator_spectra,
    rollout_errors,
    superres_errors,
)
from explorer.state import OperatorSession
from explorer.state.operator_knobs import MODEL_TITLES, knob_names
from explorer.ui.panel._served import ServedLab, draw_gap
from explorer.ui.panel.live import LivePlot, panels
from explorer.ui.panel.widgets import escape_markdown, knob_widget, set_progress

__all__ = ["FAMILY_TITLES", "OperatorLab"]

SIDEBAR_WIDTH = 340
# Plots sit two or three abreast: legends go under them, titles are smaller.
_COMPACT = {
    "legend_position": "bottom",
    "legend_cols": 3,
    "fontsize": {"title": "10pt"},
}
_FIELD = {"frame_width": 260, "frame_height": 260}  # 2-D samples, two abreast
_SHOWN = 2  # 1-D test samples drawn (more tangle)
_PRESS_TRAIN = "Press **Train** to see the {what}."
_SAVE_HELP = (
    "Figures: the save tool (disk icon) in each plot's toolbar downloads a PNG. "
    "History: every snapshot (errors, samples, spectra, super-resolution) as "
    "netCDF, with the run's recipe in the attribute run_spec; open it with "
    "xarray.open_dataset."
)
_PLOT_ERRORS = (ValueError, KeyError, IndexError)

#: Menu titles of the dataset families.
FAMILY_TITLES = {
    "burgers": "Burgers: u₀ ↦ u(·, T)",
    "heat": "Heat: u₀ ↦ u(·, T)",
    "ks": "Kuramoto–Sivashinsky: time stepper",
    "darcy": "Darcy flow (2-D): a ↦ u",
    "navier_stokes": "Navier–Stokes (2-D): time stepper",
    "antiderivative": "Antiderivative: v ↦ ∫v",
}


def _summary(cls: type) -> str:
    """The first paragraph of a config's docstring, on one line."""
    return " ".join((cls.__doc__ or "").strip().split("\n\n")[0].split())


class OperatorLab(ServedLab, pn.viewable.Viewer):
    """Sidebar of knobs and buttons; live plots and the learning curve in the main.

    Args:
        session: the session shown (default: a new default session).
        location: a ``pn.state.location``; its query is applied on creation (with
            notices for ignored entries) and kept in step with the knobs.
    """

    session = param.ClassSelector(class_=OperatorSession, doc="the session shown")

    def __init__(
        self,
        session: OperatorSession | None = None,
        *,
        location: Any = None,
        **params: Any,
    ) -> None:
        super().__init__(
            session=session if session is not None else OperatorSession(), **params
        )
        self.location = location
        self.notices = pn.pane.Alert(
            alert_type="warning", visible=False, sizing_mode="stretch_width"
        )
        if location is not None:
            self.load_url()
        self._seen: tuple = ()
        self._drawn: tuple = ()
        self._curve_drawn: object = None
        self._next_draw = 0.0
        self._callback: Any = None
        self.draw_seconds = 0.0
        self._build_sidebar()
        self._build_main()
        s = self.session
        s.data.param.watch(self._on_data, "parameters")
        s.model.param.watch(self._on_model, "parameters")
        self._on_data()
        self._on_model()
        self.poll(force=True)

    # ---- building --------------------------------------------------------------------
    def _build_sidebar(self) -> None:
        s = self.session
        buttons = {}
        for name, label, color, action in (
            ("train", "▶ Train", {"color": "primary"}, self.train),
            ("pause", "Pause", {}, self.pause),
            ("stop", "Stop", {}, self.stop),
            ("reset", "Reset", {}, self.reset),
        ):
            button = pn.widgets.Button(
                label=label, sizing_mode="stretch_width", **color
            )
            button.on_click(self._action(action))
            buttons[name] = button
        self.train_button, self.pause_button = buttons["train"], buttons["pause"]
        self.stop_button, self.reset_button = buttons["stop"], buttons["reset"]
        self.family_menu = self._menu(
            "Dataset", s.data, "family", {t: n for n, t in FAMILY_TITLES.items()}
        )
        self.model_menu = self._menu(
            "Network", s.model, "kind", {t: n for n, t in MODEL_TITLES.items()}
        )
        self._data_knobs = pn.Column(sizing_mode="stretch_width", margin=0)
        self._model_knobs = pn.Column(sizing_mode="stretch_width", margin=0)
        self.download = pn.widgets.FileDownload(
            callback=self._export,
            filename="operator-history.nc",
            label="Download history (netCDF)",
            color="success",
            embed=False,
            disabled=True,
            sizing_mode="stretch_width",
        )
        sizes = [knob_widget(s.data, n) for n in s.data.KNOBS]
        self.sections = pn.Tabs(
            (
                "Data",
                pn.Column(
                    self.family_menu,
                    self._data_knobs,
                    *sizes,
                    sizing_mode="stretch_width",
                ),
            ),
            (
                "Network",
                pn.Column(
                    self.model_menu, self._model_knobs, sizing_mode="stretch_width"
                ),
            ),
            (
                "Training",
                pn.Column(
                    *(knob_widget(s.training, n) for n in s.training.KNOBS),
                    sizing_mode="stretch_width",
                ),
            ),
            sizing_mode="stretch_width",
        )
        self.sidebar = pn.Column(
            pn.Row(self.train_button, self.pause_button, sizing_mode="stretch_width"),
            pn.Row(self.stop_button, self.reset_button, sizing_mode="stretch_width"),
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
    def _menu(
        label: str, obj: param.Parameterized, name: str, options: dict[str, str]
    ) -> pn.widgets.Select:
        """A menu with readable titles, two-way bound to ``obj.name``."""
        menu = pn.widgets.Select(
            label=label,
            options=options,
            value=getattr(obj, name),
            sizing_mode="stretch_width",
        )
        menu.param.watch(lambda e: setattr(obj, name, e.new), "value")
        obj.param.watch(lambda e: setattr(menu, "value", e.new), name)
        return menu

    def _build_main(self) -> None:
        self.title = pn.pane.Markdown(sizing_mode="stretch_width", margin=(0, 10))
        self.progress = pn.indicators.Progress(
            value=0, max=1, bar_color="primary", sizing_mode="stretch_width"
        )
        self.status = pn.pane.Alert(sizing_mode="stretch_width", margin=(5, 10))
        self.curves = LivePlot(
            _PRESS_TRAIN.format(what="training and test errors"), css_class="op-loss"
        )
        self.samples = LivePlot(
            _PRESS_TRAIN.format(what="test samples against the truth"),
            css_class="op-samples",
        )
        self.rollout = LivePlot("", css_class="op-rollout")
        self.fields = [LivePlot("", css_class=f"op-field-{i}") for i in range(4)]
        # Four images two by two: four abreast would not fit a laptop's width.
        self.fields_row = pn.Column(
            pn.Row(*self.fields[:2], sizing_mode="stretch_width"),
            pn.Row(*self.fields[2:], sizing_mode="stretch_width"),
            visible=False,
            sizing_mode="stretch_width",
        )
        self.spectra = LivePlot(
            _PRESS_TRAIN.format(what="energy spectra"), css_class="op-spectra"
        )
        self.bands = LivePlot(
            _PRESS_TRAIN.format(what="error by wavenumber band"), css_class="op-bands"
        )
        self.superres = LivePlot(
            _PRESS_TRAIN.format(what="zero-shot super-resolution errors"),
            css_class="op-superres",
        )

        def row(*items: pn.viewable.Viewable) -> pn.Row:
            return pn.Row(*items, sizing_mode="stretch_width")

        self.top_row = row(self.curves, self.samples, self.rollout)
        live = pn.Column(
            self.top_row,
            self.fields_row,
            row(self.spectra, self.bands, self.superres),
            sizing_mode="stretch_width",
        )
        self._build_curve_tab()
        self.tabs = pn.Tabs(
            ("Live", live),
            ("Learning curve", self.curve_tab),
            dynamic=False,  # both tabs stay built: switching sends no new models
            sizing_mode="stretch_width",
        )
        self.tabs.param.watch(lambda _: self.poll(force=True), "active")
        self.main = pn.Column(
            self.title,
            self.progress,
            self.status,
            self.notices,
            self.tabs,
            sizing_mode="stretch_width",
            min_width=480,
        )

    def _build_curve_tab(self) -> None:
        s = self.session
        self.curve_button = pn.widgets.Button(
            label="Run learning curve", color="primary", width=180
        )
        self.curve_cancel = pn.widgets.Button(label="Cancel", width=100)
        self.curve_button.on_click(self._action(s.learning_curve))
        self.curve_cancel.on_click(self._action(s.cancel_curve))
        self.curve_progress = pn.indicators.Progress(
            value=0, max=100, bar_color="primary", sizing_mode="stretch_width"
        )
        self.curve_status = pn.pane.Alert(
            alert_type="light", sizing_mode="stretch_width", margin=(5, 10)
        )
        self.curve_plot = LivePlot(
            "Press **Run learning curve**: one fresh network per value, each trained "
            "the same number of steps.",
            css_class="op-curve",
        )
        self.curve_download = pn.widgets.FileDownload(
            callback=self._export_curve,
            filename="learning-curve.nc",
            label="Download learning curve (netCDF)",
            color="success",
            embed=False,
            disabled=True,
            width=300,
        )
        knobs = [knob_widget(s.curve, n) for n in s.curve.KNOBS]
        self.curve_tab = pn.Row(
            pn.Column(
                *knobs,
                pn.Row(self.curve_button, self.curve_cancel),
                self.curve_download,
                width=320,
            ),
            pn.Column(
                self.curve_progress,
                self.curve_status,
                self.curve_plot,
                sizing_mode="stretch_width",
            ),
            sizing_mode="stretch_width",
        )

    # ---- actions (buttons) -----------------------------------------------------------
    def _action(self, action: Callable[[], Any]) -> Callable[[Any], None]:
        def click(_: Any) -> None:
            action()
            self.poll()

        return click

    def train(self) -> bool:
        """Train (or resume); a finished run plays on for another ``epochs``."""
        s = self.session
        s.cancel_curve()  # one computation at a time: they share the CPU
        run = s.run
        finished = run is not None and not s.stale and not run.alive and run.finished
        return s.train(s.training.epochs if finished else None)

    def pause(self) -> None:
        self.session.pause()

    def stop(self) -> None:
        self.session.stop()

    def reset(self) -> bool:
        ok = self.session.reset()
        self._drawn = ()
        return ok

    def close(self) -> None:
        """Stop polling and every thread of the session."""
        if self._callback is not None:
            self._callback.stop()
            self._callback = None
        self.session.close()

    # ---- watchers --------------------------------------------------------------------
    def _on_data(self, *_: Any) -> None:
        s = self.session
        knobs = s.data.parameters
        self._data_knobs.objects = [knob_widget(knobs, n) for n in knob_names(knobs)]
        self.download.filename = f"operator-{s.data.family}-history.nc"
        self._title()

    def _on_model(self, *_: Any) -> None:
        knobs = self.session.model.parameters
        self._model_knobs.objects = [knob_widget(knobs, n) for n in knob_names(knobs)]
        self._title()

    def _title(self) -> None:
        s = self.session
        family = s.data.family
        self.title.object = (
            f"## {FAMILY_TITLES.get(family, family)} · "
            f"{MODEL_TITLES.get(s.model.kind, s.model.kind)}\n"
            f"{escape_markdown(_summary(DATASETS[family]))}"
        )

    def _export(self) -> io.BytesIO:
        with tempfile.TemporaryDirectory() as tmp:
            path = self.session.export(Path(tmp) / "history.nc")
            return io.BytesIO(path.read_bytes())

    def _export_curve(self) -> io.BytesIO:
        with tempfile.TemporaryDirectory() as tmp:
            path = self.session.export_curve(Path(tmp) / "curve.nc")
            return io.BytesIO(path.read_bytes())

    # ---- polling ---------------------------------------------------------------------
    def poll(self, force: bool = False) -> None:
        """Refresh the status now; redraw the plots when due (or ``force``)."""
        s = self.session
        job, curve = s.data_job, s.curve_job
        seen = (
            s.version,
            s.status,
            job.state,
            job.progress,
            curve.state,
            curve.progress,
        )
        if seen != self._seen:
            self._seen = seen
            self._show_status()
            self._show_curve_status()
            self._sync_url()
        now = time.monotonic()
        if self.tabs.active == 1:
            if force or self._curve_drawn is not s.curve_result:
                self._draw_curve()
            return
        due = now >= self._next_draw or not s.running
        if force or (due and self._drawn != self._draw_key()):
            start = time.perf_counter()
            self.draw()
            self.draw_seconds = time.perf_counter() - start
            self._next_draw = now + draw_gap(self.draw_seconds)

    def _draw_key(self) -> tuple:
        run = self.session.run
        latest = self.session.latest
        epoch = int(latest["epoch"].values[0]) if latest is not None else -1
        return (id(run), run.snapshots if run is not None else 0, epoch)

    def _show_status(self) -> None:
        s = self.session
        st, job = s.status, s.data_job
        running, preparing = s.running, s.preparing
        self.train_button.disabled = running or preparing
        self.pause_button.disabled = not running
        self.stop_button.disabled = not (
            running or preparing or s.status.state == "paused"
        )
        if preparing:
            set_progress(self.progress, 100 * job.progress, 100)
            self.progress.bar_color = "info"
        else:
            set_progress(self.progress, st.step, st.steps)
            self.progress.bar_color = "primary" if running else "secondary"
        lines = [job.message if preparing else str(st)]
        kind = "info" if running or preparing else "light"
        if (
            not preparing
            and job.state in ("cancelled", "error", "done")
            and job.message
        ):
            lines.append(job.message)
        if job.state == "error":
            kind = "danger"
        if s.run is not None and s.stale:
            lines.append("Settings changed: Train starts a new run (Reset builds it).")
            kind = "warning"
        if st.state in ("diverged", "error"):
            kind = "danger"
        if s.error:
            lines.append(s.error)
            kind = "danger"
        self.status.param.update(
            object="  \n".join(escape_markdown(x) for x in lines), alert_type=kind
        )
        # The newest snapshot, not the history (that would concatenate each time).
        self.download.disabled = s.latest is None

    def _show_curve_status(self) -> None:
        s = self.session
        job = s.curve_job
        self.curve_button.disabled = job.running
        self.curve_cancel.disabled = not job.running
        self.curve_progress.param.update(value=int(100 * job.progress))
        self.curve_progress.bar_color = "primary" if job.running else "secondary"
        lines, kind = [], "light"
        if job.message:
            lines.append(job.message)
            kind = {"running": "info", "error": "danger"}.get(job.state, "light")
        try:
            values = s.curve_values()
        except ValueError:
            values = []
        if values:
            lines.append(
                f"Values of {s.curve.parameter}: {', '.join(map(str, values))}; "
                f"{s.curve.seeds} seed(s) each, {s.curve.steps} steps per training."
            )
        if s.curve_error:
            lines.append(s.curve_error)
            kind = "danger"
        result = s.curve_result
        if result is not None and not job.running:
            lines.append(
                f"Fitted slope {result.attrs['slope']:.2f} "
                + (
                    f"(Monte Carlo: {result.attrs['reference_slope']:g})"
                    if result.attrs["parameter"] == "n_train"
                    else ""
                )
            )
        self.curve_status.param.update(
            object="  \n".join(escape_markdown(x) for x in lines) or " ",
            alert_type=kind,
        )
        self.curve_download.disabled = result is None

    # ---- drawing ---------------------------------------------------------------------
    def _show(self, plot: LivePlot, make: Callable[[], hv.Dimensioned]) -> None:
        try:
            plot.show(make().opts(**_COMPACT))
        except _PLOT_ERRORS as err:
            plot.show(None, escape_markdown(f"Not shown: {err}"))

    def draw(self) -> None:
        """Redraw the live plots from the history (placeholders before one)."""
        s = self.session
        self._drawn = self._draw_key()
        history = s.history
        run = s.run
        if history is None or run is None:
            for plot in (self.curves, self.samples, self.spectra, self.bands):
                plot.show(None)
            self.superres.show(None)
            self.rollout.layout.visible = False
            self.fields_row.visible = False
            self.samples.layout.visible = True
            return
        spec = run.spec
        two_d = "y" in history.dims
        trajectory = history.attrs.get("kind") == "trajectory"
        self._show(self.curves, lambda: operator_error_curves(history))
        self.samples.layout.visible = not two_d
        self.fields_row.visible = two_d
        if two_d:
            try:
                views = panels(operator_fields(history))
            except _PLOT_ERRORS as err:
                views = []
                self.fields[0].show(None, escape_markdown(f"Not shown: {err}"))
            for slot, view in zip(self.fields, views):
                slot.show(view.opts(fontsize={"title": "10pt"}, **_FIELD))
        else:
            shown = list(range(min(_SHOWN, history.sizes["shown"])))
            self._show(self.samples, lambda: operator_samples(history, samples=shown))
        self.rollout.layout.visible = trajectory
        if trajectory:
            self._show(self.rollout, lambda: rollout_errors(history))
        modes = getattr(spec.model, "modes", None)
        self._show(self.spectra, lambda: operator_spectra(history, modes=modes))
        self._show(self.bands, lambda: band_error_curves(history))
        if spec.superres > 1:
            self._show(self.superres, lambda: superres_errors(history))
        else:
            self.superres.show(
                None,
                "Zero-shot super-resolution is off (set **Super-resolution up "
                "to** 2 or more).",
            )

    def _draw_curve(self) -> None:
        result = self.session.curve_result
        self._curve_drawn = result
        if result is None:
            self.curve_plot.show(None)
            return
        try:
            self.curve_plot.show(learning_curve(result))
        except _PLOT_ERRORS as err:
            self.curve_plot.show(None, escape_markdown(f"Not shown: {err}"))

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Row(self.sidebar, self.main, sizing_mode="stretch_width")
