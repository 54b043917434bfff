"""plotly.js fetched when the first 3-D surface is shown, not with the page.

plotly.js is 4.6 MB: loaded with the page (``pn.extension("plotly")``) it cost the
PINN Lab about 1 s of every page load in the browser (measured: first render 2.5
against 1.5 s warm), for a figure that a user may never open. Panel's Plotly model
needs ``window.Plotly`` when it renders, so the surface enters the page only once
this component has loaded the script (the copy Panel bundles and serves).
"""

from __future__ import annotations

from typing import Any

import panel as pn
import param
from panel.models.plotly import PlotlyPlot

__all__ = ["PlotlyLoader", "PlotlySlot"]

_SCRIPT = PlotlyPlot.__javascript__[0]  # served by Panel: static/extensions/...


class PlotlyLoader(pn.custom.JSComponent):
    """Loads plotly.js into the page once; ``ready`` turns True when it has."""

    src = param.String(default=_SCRIPT, doc="plotly.js, relative to the page")
    ready = param.Boolean(default=False, doc="window.Plotly exists in the browser")
    error = param.String(default="", doc="why the script did not load")

    _esm = """
export function render({ model }) {
  if (window.Plotly) { model.ready = true; return; }
  const url = new URL(model.src, document.baseURI).href;
  let tag = document.querySelector(`script[src="${url}"]`);
  if (tag === null) {
    tag = document.createElement("script");
    tag.src = url;
    document.head.appendChild(tag);
  }
  tag.addEventListener("load", () => { model.ready = true; });
  tag.addEventListener("error", () => { model.error = `could not load ${url}`; });
}
"""


class PlotlySlot(pn.viewable.Viewer):
    """Where a Plotly pane shows: empty until the pane is first made visible, then
    the loader, then (once plotly.js is in the page) the pane itself."""

    def __init__(self, pane: pn.pane.Plotly, **params: Any) -> None:
        super().__init__(**params)
        self.pane = pane
        self.loader = PlotlyLoader(height=0, width=0, margin=0)
        self.loader.param.watch(self._loaded, "ready")
        self.loader.param.watch(self._failed, "error")
        self._column = pn.Column(sizing_mode="stretch_width", margin=0)
        pane.param.watch(self._shown, "visible")
        self._shown()

    def _shown(self, *_: Any) -> None:
        if self.pane.visible and not self._column.objects:
            self._column.objects = [self.loader]

    def _loaded(self, event: param.parameterized.Event) -> None:
        if event.new:
            self._column.objects = [self.pane]

    def _failed(self, event: param.parameterized.Event) -> None:
        self._column.objects = [
            pn.pane.Alert(
                f"The 3-D view is unavailable: {event.new}", alert_type="danger"
            )
        ]

    def __panel__(self) -> pn.viewable.Viewable:
        return self._column
