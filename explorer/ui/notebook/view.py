"""The notebook lab: ipywidgets over a PINNSession, refreshed while it trains.

A thin view: knob widgets bound to the session's controllers, buttons that call its
actions, a status line, and one figure chosen by a toggle (from
:mod:`explorer.plotting`; the newest scalars as text where a figure is missing). A
daemon thread polls :attr:`PINNSession.version` a few times a second and redraws
what changed (figures at most once per ``plot_interval``), so training never waits
for the browser and the kernel stays free for other cells. It works in JupyterLab
and Notebook 7 with no server extension (HoloViews' bokeh output needs
``hv.extension("bokeh")``, which :meth:`SessionView.display` runs).
"""

from __future__ import annotations

import html
import importlib
import math
import threading
import time
from collections.abc import Callable
from typing import Any

import ipywidgets as w
import xarray as xr
from IPython.core.interactiveshell import InteractiveShell

from explorer.state import ModelState, PINNSession, TrainingState
from explorer.ui.notebook.bind import knob_box, knob_widget

__all__ = ["FIGURES", "SessionView"]

#: The figure choices of the plot toggle.
FIGURES = ("fields", "losses", "errors", "residual", "spectrum")

_BUTTONS: dict[str, tuple[str, str, str]] = {
    # name: (label, icon, tooltip)
    "train": ("Train", "play", "start, or resume a paused run (a stale run restarts)"),
    "pause": ("Pause", "pause", "pause after the step in flight"),
    "step": ("Step", "step-forward", "take exactly one step, then pause"),
    "reset": ("Reset", "refresh", "a new network from the current knobs"),
    "stop": ("Stop", "stop", "end the worker thread (train continues the run)"),
}


def _plotting() -> Any:
    """``explorer.plotting`` (imported on first draw), or None if it fails to load."""
    try:
        return importlib.import_module("explorer.plotting")
    except ImportError:
        return None


class SessionView:
    """ipywidgets for one :class:`PINNSession`; display it, or its :attr:`widget`.

    Args:
        session: the state it shows and drives.
        interval: seconds between polls of the session's version.
        plot_interval: the least seconds between two figure redraws.
    """

    def __init__(
        self,
        session: PINNSession,
        *,
        interval: float = 0.25,
        plot_interval: float = 1.0,
    ) -> None:
        self.session = session
        self.interval = interval
        self.plot_interval = plot_interval
        self.knob_error = w.HTML()
        self.status = w.HTML()
        self.error = w.HTML()
        self.figure = w.ToggleButtons(
            options=list(FIGURES),
            value="fields",
            description="Show",
            style={"button_width": "80px"},
        )
        self.plot = w.Output(layout={"min_height": "320px"})
        self.buttons = {
            name: w.Button(description=label, icon=icon, tooltip=tip)
            for name, (label, icon, tip) in _BUTTONS.items()
        }
        for name, button in self.buttons.items():
            button.on_click(self._action(name))
        self.problem_menu = knob_widget(session.problem, "problem", self._knob_error)
        self.problem_knobs = w.VBox()
        self._build_problem_knobs()
        session.problem.param.watch(lambda _: self._build_problem_knobs(), "parameters")
        tabs = w.Tab(
            children=[
                w.VBox([self.problem_menu, self.problem_knobs]),
                knob_box(session.model, ModelState.KNOBS, self._knob_error),
                w.VBox(
                    [
                        knob_box(
                            session.training, TrainingState.KNOBS, self._knob_error
                        ),
                        knob_widget(session, "seed", self._knob_error),
                    ]
                ),
            ]
        )
        for i, title in enumerate(("Problem", "Model", "Training")):
            tabs.set_title(i, title)
        self.figure.observe(lambda _: self.refresh(force_plot=True), "value")
        self.widget = w.VBox(
            [
                tabs,
                w.HBox(list(self.buttons.values())),
                self.status,
                self.error,
                self.knob_error,
                self.figure,
                self.plot,
            ]
        )
        self._seen = -1
        self._plotted: tuple[int, int, str] | None = None
        self._last_plot = -math.inf
        self._lock = threading.Lock()
        self._poller: threading.Thread | None = None
        self._stop = threading.Event()
        self.refresh()

    # ---- display ---------------------------------------------------------------------
    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        self.start_polling()
        return self.widget._repr_mimebundle_(**kwargs)

    def display(self) -> None:
        """Load HoloViews' bokeh output in this notebook, then show the widgets."""
        from IPython.display import display

        if _plotting() is not None:
            import holoviews as hv

            hv.extension("bokeh")
        self.start_polling()
        display(self.widget)

    def start_polling(self) -> None:
        """Start the daemon thread that redraws on changes (once; idempotent)."""
        if self._poller is not None and self._poller.is_alive():
            return
        self._stop.clear()
        self._poller = threading.Thread(
            target=self._poll, name="pinn-view", daemon=True
        )
        self._poller.start()

    def stop_polling(self) -> None:
        self._stop.set()
        if self._poller is not None and self._poller is not threading.current_thread():
            self._poller.join(5.0)

    def close(self) -> None:
        """Stop polling and close the widgets (the session stays; close it apart)."""
        self.stop_polling()
        self.widget.close()

    # ---- updates ---------------------------------------------------------------------
    def refresh(self, *, force_plot: bool = False) -> None:
        """Redraw the status and, when due, the figure (safe from any thread)."""
        with self._lock:
            s = self.session
            self._seen = s.version
            status = s.status
            stale = " · knobs changed: Train starts afresh" if s.stale else ""
            self.status.value = f"<code>{html.escape(str(status))}{stale}</code>"
            self.error.value = _red(s.error)
            running = s.running
            self.buttons["pause"].disabled = not running
            self.buttons["train"].disabled = running and not s.stale
            now = time.monotonic()
            key = (id(s.run), s.run.snapshots if s.run else 0, self.figure.value)
            due = now - self._last_plot >= self.plot_interval or not running
            if force_plot or (key != self._plotted and due):
                self._plotted = key
                self._last_plot = now
                self._draw(s.history)

    def _draw(self, history: xr.Dataset | None) -> None:
        if history is None:
            self._show(_text("no snapshot yet: press Train or Step"))
            return
        plotting = _plotting()
        if plotting is None:
            self._show(_text(_scalars(history)))
            return
        try:
            figure = self._figure(plotting, history)
        except Exception as err:  # a figure failing must not break the lab
            figure = _text(f"{self.figure.value}: {type(err).__name__}: {err}")
        if figure is None:  # this version of explorer.plotting lacks the figure
            figure = _text(_scalars(history))
        self._show(figure)

    def _show(self, obj: Any) -> None:
        # One assignment of the outputs trait: safe from the polling thread, unlike
        # Output's context manager and clear_output, which capture whatever the
        # kernel's current cell prints meanwhile; and no flicker between two updates.
        data, metadata = InteractiveShell.instance().display_formatter.format(obj)
        self.plot.outputs = (
            {"output_type": "display_data", "data": data, "metadata": metadata},
        )

    def _figure(self, plotting: Any, history: xr.Dataset) -> Any:
        problem = self.session.problem
        eigen = problem.problem_class.kind == "eigen"
        reference = problem.solution
        which = self.figure.value
        if which == "fields" and eigen:
            return _call(plotting, "eigen_views", history, reference)
        if which == "errors" and eigen:
            curves = _call(plotting, "error_curves", history)
            energy = _call(plotting, "energy_curve", history, reference)
            return curves if energy is None or curves is None else curves + energy
        name = {
            "fields": "field_views",
            "losses": "loss_curves",
            "errors": "error_curves",
            "residual": "residual_map",
            "spectrum": "error_spectrum",
        }[which]
        return _call(plotting, name, history)

    def _poll(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                if self.session.version != self._seen:
                    self.refresh()
            except Exception as err:  # a drawing failure must not end the poller
                self.error.value = _red(f"view: {type(err).__name__}: {err}")

    # ---- wiring ----------------------------------------------------------------------
    def _action(self, name: str) -> Callable[[w.Button], None]:
        def act(_: w.Button) -> None:
            getattr(self.session, name)()
            self.refresh(force_plot=name == "reset")

        return act

    def _knob_error(self, message: str) -> None:
        self.knob_error.value = _red(message)

    def _build_problem_knobs(self) -> None:
        knobs = self.session.problem.parameters
        names = [n for n in knobs.param if n != "name"]
        self.problem_knobs.children = [knob_box(knobs, names, self._knob_error)]


def _call(module: Any, name: str, *args: Any) -> Any:
    function = getattr(module, name, None)
    return None if function is None else function(*args)


def _red(message: str) -> str:
    if not message:
        return ""
    return f"<span style='color:#b00020'>{html.escape(message)}</span>"


def _text(message: str) -> Any:
    from IPython.display import Pretty

    return Pretty(message)


def _scalars(history: xr.Dataset) -> str:
    """The newest scalars as text (when the plotting module is missing)."""
    last = history.isel(step=-1)
    rows = [f"step {int(last['step'])}"]
    for name in ("loss", "rel_l2", "max_error", "lr"):
        if name in last:
            rows.append(f"{name:>10}: {float(last[name]):.4g}")
    return "\n".join(rows)
