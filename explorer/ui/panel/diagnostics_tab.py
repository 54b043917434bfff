"""DiagnosticsTab: the PINN Lab's Diagnostics tab, a thin view over a
:class:`~explorer.state.DiagnosticsState`.

Pick a diagnostic (loss landscape, line from the initial weights, Hessian spectrum,
neural tangent kernel), set its size knobs, press **Run**: it computes on a copy of
the current network in the background (training goes on), with a progress bar and
**Cancel**. Sharpness tracking measures λ_max and tr H every k steps during training,
beside 2/η. The lab's periodic callback calls :meth:`DiagnosticsTab.poll` while the
tab is open; the plots redraw only when a result or a display option changed.
"""

from __future__ import annotations

from typing import Any

import holoviews as hv
import panel as pn
import xarray as xr

from explorer.plotting import (
    hessian_spectrum,
    landscape_contour,
    landscape_surface,
    loss_line_curve,
    ntk_change_curve,
    ntk_projection_plot,
    ntk_spectrum,
    sharpness_curve,
)
from explorer.state import DIAGNOSTICS, DiagnosticsState, PINNSession
from explorer.ui.panel.live import LivePlot
from explorer.ui.panel.plotly_loader import PlotlySlot
from explorer.ui.panel.widgets import escape_markdown, knob_widget

__all__ = ["DiagnosticsTab"]

_NOTHING = "Press **Run** to compute the chosen diagnostic of the current network."
_NO_SHARPNESS = (
    "Tick **Track sharpness** and train: λ_max and tr H of the loss Hessian appear "
    "here every k steps, beside 2/η."
)
_PLOT_ERRORS = (ValueError, KeyError, IndexError)
_KIND = {"done": "success", "error": "danger", "cancelled": "warning"}


class DiagnosticsTab(pn.viewable.Viewer):
    """The Diagnostics tab; see the module docstring.

    Args:
        session: the lab's session.
        state: the diagnostics controller (default: a new one on ``session``).
    """

    def __init__(
        self,
        session: PINNSession,
        state: DiagnosticsState | None = None,
        **params: Any,
    ) -> None:
        super().__init__(**params)
        self.state = state if state is not None else DiagnosticsState(session)
        self._seen = -1
        self._drawn: tuple = ()
        self._sharp_drawn: tuple = ()
        self._build()
        self.poll()

    # ---- building --------------------------------------------------------------------
    def _build(self) -> None:
        st = self.state
        self.menu = pn.widgets.Select(
            label="Diagnostic",
            options={label: name for name, label in DIAGNOSTICS.items()},
            value=st.diagnostic,
            width=300,
        )
        self.menu.param.watch(lambda e: setattr(st, "diagnostic", e.new), "value")
        st.param.watch(lambda e: setattr(self.menu, "value", e.new), "diagnostic")
        self.knobs = {
            kind: pn.Column(
                *[knob_widget(st, n) for n in names], sizing_mode="stretch_width"
            )
            for kind, names in DiagnosticsState.KNOBS.items()
        }
        self.knob_area = pn.Column(self.knobs[st.diagnostic], width=320, margin=0)
        st.param.watch(self._on_diagnostic, "diagnostic")
        self.run_button = pn.widgets.Button(label="▶ Run", color="primary", width=100)
        self.cancel_button = pn.widgets.Button(label="Cancel", width=100, disabled=True)
        self.run_button.on_click(lambda _: self.run())
        self.cancel_button.on_click(lambda _: self.cancel())
        self.log = knob_widget(st, "log_scale")
        self.surface_toggle = pn.widgets.Checkbox(
            label="3-D surface (landscape)", value=False, css_classes=["diag-surface"]
        )
        self.surface_toggle.param.watch(lambda _: self.draw(), "value")
        st.param.watch(lambda _: self.draw(), "log_scale")
        self.progress = pn.indicators.Progress(
            value=0, max=100, bar_color="secondary", sizing_mode="stretch_width"
        )
        self.status = pn.pane.Alert(
            _NOTHING,
            alert_type="light",
            sizing_mode="stretch_width",
            css_classes=["diag-status"],
        )
        self.main_plot = LivePlot("", css_class="diag-main")
        self.side_plots = [LivePlot("", css_class=f"diag-side-{i}") for i in range(2)]
        self.surface = pn.pane.Plotly(
            None, sizing_mode="stretch_width", height=500, visible=False
        )
        self.sharpness_plot = LivePlot(_NO_SHARPNESS, css_class="diag-sharpness")
        self.track = knob_widget(st, "track_sharpness")
        self.track.css_classes = ["diag-track"]
        tracking = pn.Column(
            pn.pane.Markdown("#### Sharpness during training"),
            pn.Row(
                self.track,
                knob_widget(st, "every"),
                knob_widget(st, "trace_probes"),
                sizing_mode="stretch_width",
            ),
            self.sharpness_plot,
            sizing_mode="stretch_width",
        )
        controls = pn.Column(
            self.menu,
            self.knob_area,
            self.log,
            self.surface_toggle,
            pn.Row(self.run_button, self.cancel_button),
            width=340,
        )
        self.layout = pn.Column(
            pn.Row(
                controls,
                pn.Column(
                    self.progress,
                    self.status,
                    self.main_plot,
                    sizing_mode="stretch_width",
                ),
                sizing_mode="stretch_width",
            ),
            PlotlySlot(self.surface),  # plotly.js loads when it first shows
            pn.Row(*self.side_plots, sizing_mode="stretch_width"),
            tracking,
            sizing_mode="stretch_width",
        )

    def _on_diagnostic(self, event: Any) -> None:
        self.knob_area.objects = [self.knobs[event.new]]

    # ---- actions ---------------------------------------------------------------------
    def run(self) -> bool:
        started = self.state.run()
        self.poll()
        return started

    def cancel(self) -> None:
        self.state.cancel()
        self.poll()

    def close(self) -> None:
        self.state.close()

    # ---- polling ---------------------------------------------------------------------
    def poll(self) -> None:
        """Refresh status and progress; redraw when a result or option changed."""
        st = self.state
        version = st.version
        if version == self._seen:
            return
        self._seen = version
        running = st.running
        self.run_button.disabled = running
        self.cancel_button.disabled = not running
        self.progress.param.update(
            value=round(100 * st.progress),
            bar_color="primary" if running else "secondary",
        )
        self._show_status(running)
        self.draw()

    def _show_status(self, running: bool) -> None:
        st = self.state
        lines, kind = [], "info" if running else _KIND.get(st.state, "light")
        # Not the Live tab's status line verbatim: its text identifies that line.
        run = st.session.status
        lines.append(f"The run: {run.state} at step {run.step} of {run.steps}")
        if st.message:
            lines.append(st.message)
        if st.error:
            lines.append(st.error)
            kind = "danger"
        if st.tracker.error:
            lines.append(f"Sharpness tracking: {st.tracker.error}")
        result = st.result
        if result is not None and not running:
            seconds = result.attrs.get("seconds")
            lines.append(
                f"Shown: {DIAGNOSTICS[st.result_kind].lower()} at training step "
                f"{result.attrs.get('training_step')}"
                + (f" ({seconds:.1f} s)" if seconds is not None else "")
            )
        text = "  \n".join(escape_markdown(x) for x in lines) or _NOTHING
        self.status.param.update(object=text, alert_type=kind)

    def draw(self) -> None:
        """Draw the result and the sharpness history, if they changed."""
        st = self.state
        result = st.result
        key = (id(result), st.log_scale, self.surface_toggle.value)
        if key != self._drawn:
            self._drawn = key
            self._draw_result(result)
        sharp = st.sharpness
        key = (None if sharp is None else sharp.sizes["step"], st.log_scale)
        if key != self._sharp_drawn:
            self._sharp_drawn = key
            if sharp is None:
                self.sharpness_plot.show(None, _NO_SHARPNESS)
            else:
                self._show(
                    self.sharpness_plot,
                    lambda: sharpness_curve(sharp, trace=True, log=st.log_scale),
                )

    def _draw_result(self, result: xr.Dataset | None) -> None:
        log = self.state.log_scale
        kind = self.state.result_kind
        views: list = []
        if kind == "landscape":
            views = [lambda: landscape_contour(result, log=log)]
        elif kind == "line":
            views = [lambda: loss_line_curve(result, log=log)]
        elif kind == "hessian":
            views = [lambda: hessian_spectrum(result, log=log)]
        elif kind == "ntk":
            views = [
                lambda: ntk_spectrum(result),
                lambda: ntk_change_curve(result),
                lambda: ntk_projection_plot(result),
            ]
        if not views:
            self.main_plot.show(None, "")
        plots = [self.main_plot, *self.side_plots]
        for i, plot in enumerate(plots):
            if i < len(views):
                self._show(plot, views[i])
            elif i:
                plot.show(None, "")
        show_surface = kind == "landscape" and self.surface_toggle.value
        if show_surface:
            try:
                self.surface.object = landscape_surface(result, log=log)
            except _PLOT_ERRORS:
                show_surface = False
        self.surface.visible = show_surface

    def _show(self, plot: LivePlot, make: Any) -> None:
        try:
            view = make()
            if isinstance(view, hv.Overlay):
                view = view.opts(legend_position="bottom", legend_cols=3)
            plot.show(view)
        except _PLOT_ERRORS as err:
            plot.show(None, escape_markdown(f"Not shown: {err}"))

    def __panel__(self) -> pn.viewable.Viewable:
        return self.layout
