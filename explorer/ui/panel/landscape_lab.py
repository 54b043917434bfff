"""The Landscape Lab: optimisation phenomena of small networks, live.

A thin view over :class:`~explorer.state.LandscapeLabState`: a small MLP fitted to
a 1-D target by full-batch gradient descent. **Train** draws λ_max of the loss
Hessian every k steps beside 2/η (the edge of stability), the loss, and the fit;
**Hessian spectrum** shows the bulk and the outliers at the trained weights;
**Width sweep** trains growing widths and shows the tangent kernel moving less and
less (lazy training). A periodic callback polls the state and redraws at most
every ``_MIN_DRAW_GAP`` seconds while a job runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import holoviews as hv
import panel as pn

from explorer.plotting import (
    gd_loss_curve,
    hessian_spectrum,
    ntk_spectrum,
    regression_fit,
    sharpness_curve,
    width_sweep,
)
from explorer.state import LandscapeLabState
from explorer.ui.panel.live import LivePlot
from explorer.ui.panel.widgets import escape_markdown, knob_widget

__all__ = ["LandscapeLab"]

POLL_MS = 250
_MIN_DRAW_GAP = 0.5  # s between redraws while a job runs
_PLOT_ERRORS = (ValueError, KeyError, IndexError)
_KIND = {"done": "success", "error": "danger", "cancelled": "warning"}
_INTRO = """\
Full-batch gradient descent on a small MLP fitting a 1-D target. **Train** and
watch λ_max, the largest eigenvalue of the loss Hessian, climb to the stability
threshold 2/η and hover there while the loss keeps falling in spikes: the *edge of
stability* (Cohen et al. 2021). **Hessian spectrum** shows a bulk of eigenvalues near
zero and a few outliers (Sagun et al. 2017; Papyan 2019). **Width sweep** trains ever
wider networks (NTK parametrisation) and measures how far the tangent kernel moves:
less and less, the *lazy* regime (Jacot et al. 2018; Chizat et al. 2019).
"""


class LandscapeLab(pn.viewable.Viewer):
    """Sidebar of knobs and job buttons; live plots of the state's results.

    Args:
        state: the lab's state (default: a new one).
    """

    def __init__(self, state: LandscapeLabState | None = None, **params: Any) -> None:
        super().__init__(**params)
        self.state = state if state is not None else LandscapeLabState()
        self._seen = -1
        self._next_draw = 0.0
        self._drawn: dict[str, object] = {}
        self._callback: Any = None
        self._build()
        self.poll()

    # ---- building --------------------------------------------------------------------
    def _build(self) -> None:
        st = self.state
        self.train_button = pn.widgets.Button(
            label="▶ Train", color="primary", sizing_mode="stretch_width"
        )
        self.spectrum_button = pn.widgets.Button(
            label="Hessian spectrum", sizing_mode="stretch_width"
        )
        self.sweep_button = pn.widgets.Button(
            label="Width sweep", sizing_mode="stretch_width"
        )
        self.cancel_button = pn.widgets.Button(
            label="Cancel", sizing_mode="stretch_width", disabled=True
        )
        for button, action in (
            (self.train_button, st.train),
            (self.spectrum_button, st.spectrum_now),
            (self.sweep_button, st.sweep),
            (self.cancel_button, st.cancel),
        ):
            button.on_click(self._action(action))
        network = [knob_widget(st, n) for n in LandscapeLabState.KNOBS[:8]]
        training = [knob_widget(st, n) for n in LandscapeLabState.KNOBS[8:]]
        extra = [knob_widget(st, n) for n in ("top_k", "lanczos_steps", "max_width")]
        self.sections = pn.Tabs(
            ("Network", pn.Column(*network, sizing_mode="stretch_width")),
            ("Training", pn.Column(*training, sizing_mode="stretch_width")),
            ("Spectra", pn.Column(*extra, sizing_mode="stretch_width")),
            sizing_mode="stretch_width",
        )
        self.sidebar = pn.Column(
            pn.Row(self.train_button, self.cancel_button, sizing_mode="stretch_width"),
            pn.Row(
                self.spectrum_button, self.sweep_button, sizing_mode="stretch_width"
            ),
            self.sections,
            width=340,
            margin=(0, 5),
        )
        self.progress = pn.indicators.Progress(
            value=0, max=100, bar_color="secondary", sizing_mode="stretch_width"
        )
        self.status = pn.pane.Alert(
            "Press **Train**.",
            alert_type="light",
            sizing_mode="stretch_width",
            css_classes=["ll-status"],
        )
        self.plots = {
            "sharpness": LivePlot(
                "Press **Train**: λ_max against 2/η appears here.",
                css_class="ll-sharpness",
            ),
            "loss": LivePlot("", css_class="ll-loss"),
            "fit": LivePlot("", css_class="ll-fit"),
            "spectrum": LivePlot(
                "Train, then press **Hessian spectrum**.", css_class="ll-spectrum"
            ),
            "ntk": LivePlot("", css_class="ll-ntk"),
            "sweep": LivePlot(
                "Press **Width sweep**: the kernel's relative change against width.",
                css_class="ll-sweep",
            ),
        }

        def row(*names: str) -> pn.Row:
            return pn.Row(*(self.plots[n] for n in names), sizing_mode="stretch_width")

        self.main = pn.Column(
            pn.pane.Markdown(_INTRO, sizing_mode="stretch_width"),
            self.progress,
            self.status,
            row("sharpness", "loss"),
            row("fit", "spectrum"),
            row("ntk", "sweep"),
            sizing_mode="stretch_width",
            min_width=480,
        )

    def _action(self, action: Callable[[], Any]) -> Callable[[Any], None]:
        def click(_: Any) -> None:
            action()
            self.poll(force=True)

        return click

    # ---- lifecycle -------------------------------------------------------------------
    def start(self, period_ms: int = POLL_MS) -> None:
        """Poll from a periodic callback; close on tab close (served pages only)."""
        if pn.state.curdoc is None or self._callback is not None:
            return
        self._callback = pn.state.add_periodic_callback(self.poll, period=period_ms)
        pn.state.on_session_destroyed(lambda _: self.close())

    def close(self) -> None:
        if self._callback is not None:
            self._callback.stop()
            self._callback = None
        self.state.close()

    # ---- polling ---------------------------------------------------------------------
    def poll(self, force: bool = False) -> None:
        """Refresh the status; redraw changed plots when due (or ``force``)."""
        st = self.state
        version = st.version
        if version == self._seen and not force:
            return
        running = st.running
        self.train_button.disabled = running
        self.spectrum_button.disabled = running
        self.sweep_button.disabled = running
        self.cancel_button.disabled = not running
        self.progress.param.update(
            value=round(100 * st.progress),
            bar_color="primary" if running else "secondary",
        )
        lines = [x for x in (st.message, st.error) if x]
        kind = "info" if running else _KIND.get(st.state, "light")
        if st.error:
            kind = "danger"
        self.status.param.update(
            object="  \n".join(escape_markdown(x) for x in lines) or "Press **Train**.",
            alert_type=kind,
        )
        now = time.monotonic()
        if running and not force and now < self._next_draw:
            return  # drawn at the next due poll; the version stays unseen
        self._seen = version
        self._next_draw = now + _MIN_DRAW_GAP
        self.draw()

    def draw(self) -> None:
        """Redraw each plot whose data changed."""
        st = self.state
        sharp, history = st.sharpness, st.history
        sources: dict[str, tuple[object, Callable[[], hv.Element]]] = {
            "sharpness": (sharp, lambda: sharpness_curve(sharp, trace=True)),
            "loss": (history, lambda: gd_loss_curve(history)),
            "fit": (st.fit, lambda: regression_fit(st.fit)),
            "spectrum": (st.spectrum, lambda: hessian_spectrum(st.spectrum)),
            "ntk": (
                st.ntk,
                lambda: ntk_spectrum(
                    st.ntk,
                    title="NTK at the start and the end: relative change "
                    f"{float(st.ntk['change'][-1]):.3g}",
                ),
            ),
            "sweep": (st.sweep_result, lambda: width_sweep(st.sweep_result)),
        }
        for name, (data, make) in sources.items():
            key = None if data is None else (id(data), _size(data))
            if self._drawn.get(name) == key:
                continue
            self._drawn[name] = key
            plot = self.plots[name]
            if data is None:
                plot.show(None)
                continue
            try:
                plot.show(make())
            except _PLOT_ERRORS as err:
                plot.show(None, escape_markdown(f"Not shown: {err}"))

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Row(self.sidebar, self.main, sizing_mode="stretch_width")


def _size(data: Any) -> int:
    return int(sum(data.sizes.values())) if hasattr(data, "sizes") else 0
