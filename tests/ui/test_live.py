"""LivePlot: what streams into the figure on screen, and how the pane is sized."""

from __future__ import annotations

import holoviews as hv
import numpy as np

from explorer.ui.panel.live import LivePlot

hv.extension("bokeh")


def image(scale: float) -> hv.Image:
    z = scale * np.arange(12.0).reshape(3, 4)
    return hv.Image(z).opts(colorbar=True, frame_width=200, frame_height=150)


def curve(scale: float) -> hv.Curve:
    return hv.Curve(scale * np.arange(5.0)).opts(responsive=True)


def test_fixed_figures_get_a_fixed_pane_and_responsive_ones_stretch() -> None:
    # A fixed-frame figure in a stretching pane was stretched, and bokeh sized its
    # colour bar's labels for the first layout only ("12" cut to "1" in the browser).
    plot = LivePlot("nothing yet")
    plot.show(image(1.0))
    assert plot.pane.sizing_mode == "fixed" and plot.figures == 1
    plot.show(image(12.0))  # new values, same figure
    assert plot.figures == 1 and plot.frames == 2
    plot.show(curve(1.0))
    assert plot.pane.sizing_mode == "stretch_width" and plot.figures == 2
    plot.show(image(1.0))
    assert plot.pane.sizing_mode == "fixed" and plot.figures == 3


def test_the_same_frame_is_not_sent_again() -> None:
    plot = LivePlot()
    plot.show(image(2.0))
    plot.show(image(2.0))
    assert plot.frames == 1
    plot.show(None, "not shown: why")
    assert plot.view is None and plot.note.object == "not shown: why"
    plot.show(image(2.0))  # back on screen
    assert plot.view is not None and plot.frames == 2
