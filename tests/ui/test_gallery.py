"""Gallery: a thin view that follows its ProblemState; the app serves over HTTP."""

from __future__ import annotations

import html
import re
import time
import urllib.request
from pathlib import Path

import holoviews as hv
import numpy as np
import panel as pn
import pytest

from explorer.problems import PROBLEMS
from explorer.state import ProblemState
from explorer.ui.panel import Gallery
from tests.ui._browser import free_port

APP = Path(__file__).parents[2] / "apps" / "gallery.py"


@pytest.fixture
def gallery() -> Gallery:
    return Gallery(ProblemState(problem="heat"))


def shown(gallery: Gallery) -> hv.core.Dimensioned:
    """The element on screen (the newest frame of a streamed DynamicMap)."""
    obj = gallery._plot.object
    if isinstance(obj, hv.DynamicMap):
        return obj.last if obj.last is not None else obj[()]
    return obj


def widgets(gallery: Gallery) -> dict[str, pn.widgets.Widget]:
    """The sidebar widgets by label (expression boxes are nested in Columns)."""
    found = gallery.sidebar.select(pn.widgets.Widget)
    return {w.label: w for w in found if w.label}


def test_panel_builds_sidebar_and_main(gallery: Gallery) -> None:
    layout = gallery.__panel__()
    assert isinstance(layout, pn.Row)
    assert gallery.sidebar in layout and gallery.main in layout
    assert isinstance(shown(gallery), hv.Image)
    assert gallery._equation.object == f"$${PROBLEMS['heat'].equation}$$"
    assert "Heat equation" in gallery._title.object
    assert gallery._status.alert_type == "light"
    assert "heat: reference by exact on a 100 t × 256 x grid" in gallery._status.object
    w = widgets(gallery)
    assert {"Problem", "Diffusivity ν (nu)", "Preset", "Reset to defaults"} <= set(w)
    assert isinstance(w["Diffusivity ν (nu)"], pn.widgets.EditableFloatSlider)
    slider = w["Diffusivity ν (nu)"]
    assert (slider.fixed_start, slider.fixed_end) == (1e-4, 10.0)


def test_widget_change_streams_into_the_same_plot(gallery: Gallery) -> None:
    slider = widgets(gallery)["Diffusivity ν (nu)"]
    dmap = gallery._plot.object
    assert isinstance(dmap, hv.DynamicMap)
    start = time.perf_counter()
    slider.value = 0.7
    elapsed = time.perf_counter() - start
    assert gallery.state.config.nu == 0.7
    assert gallery._plot.object is dmap  # streamed, not rebuilt
    # The frame on screen is the new solution: mode 1 decays as exp(-nu pi^2 t).
    peak = shown(gallery).select(t=1.0).dimension_values("u").max()
    assert peak == pytest.approx(np.exp(-0.7 * np.pi**2), rel=1e-3)
    assert elapsed < 1.0


def test_new_axes_or_colours_get_a_new_figure(gallery: Gallery) -> None:
    dmap = gallery._plot.object
    gallery.state.parameters.length = 3.0  # x axis now (0, 3)
    assert gallery._plot.object is not dmap
    assert shown(gallery).range("x") == pytest.approx((0.0, 3.0), abs=0.01)  # + ½ pixel
    dmap = gallery._plot.object
    gallery.state.parameters.u0 = "sin(2*pi*x/3)"  # signed: diverging colours
    assert gallery._plot.object is not dmap
    assert hv.Store.lookup_options("bokeh", shown(gallery), "style").kwargs["cmap"] == (
        "RdBu_r"
    )


def test_preset_menu_writes_the_preset_into_the_text_box(gallery: Gallery) -> None:
    w = widgets(gallery)
    text = next(v for k, v in w.items() if k.endswith("(u0)"))
    menu = w["Preset"]
    assert text.value == "mode-1" and menu.value == "mode-1"
    assert (
        "modes-1-4: sin(pi*x) + 0.5*sin(4*pi*x)" in menu.options
    )  # labels show formulas
    menu.value = "modes-1-4"
    assert text.value == gallery.state.parameters.u0 == "modes-1-4"
    assert gallery.state.error == ""
    text.value = "sin(3*pi*x)"  # typed: the menu says custom
    assert menu.value == "custom"
    assert gallery.state.config.u0 == "sin(3*pi*x)"
    text.value = "exp(-50*(x - 0.5)**2)"  # a preset's formula typed by hand
    assert menu.value == "bump"


def test_invalid_value_shows_a_danger_alert_and_keeps_the_plot(
    gallery: Gallery,
) -> None:
    plot = shown(gallery)
    gallery.state.parameters.nu = -1.0
    assert gallery._status.alert_type == "danger"
    text = html.unescape(re.sub(r"\\(.)", r"\1", gallery._status.object))
    assert text == gallery.state.error
    assert text.startswith("heat: parameter 'nu' = -1.0 is out of bounds")
    assert shown(gallery) is plot
    gallery.state.parameters.nu = 0.2
    assert gallery._status.alert_type == "light"
    gallery.state.parameters.u0 = "2*x*(1-x"  # '*' must not turn into italics
    assert "2\\*x\\*\\(1\\-x" in gallery._status.object


def test_switching_problem_rebuilds_the_widgets(gallery: Gallery) -> None:
    others = [n for n in PROBLEMS if n != "heat"]
    if not others:
        pytest.skip("only one problem registered")
    before = set(widgets(gallery))
    widgets(gallery)["Problem"].value = others[-1]
    cls = PROBLEMS[others[-1]]
    assert gallery.state.problem == others[-1]
    assert gallery._equation.object == f"$${cls.equation}$$"
    assert cls.title in gallery._title.object
    assert set(widgets(gallery)) != before
    assert gallery.state.error == ""
    assert gallery._plot.object is not None


def test_every_problem_renders_with_bokeh() -> None:
    gallery = Gallery(ProblemState())
    for name in PROBLEMS:
        gallery.state.problem = name
        assert gallery.state.error == "", name
        hv.render(gallery._plot.object, backend="bokeh")
        gallery.state.parameters.param.update(**_nudged(gallery.state))  # streamed
        assert gallery.state.error == "", name
        hv.render(gallery._plot.object, backend="bokeh")


def _nudged(state: ProblemState) -> dict:
    """The first bounded float knob moved 10% inside its bounds."""
    for spec in state.specs.values():
        if spec.type is float and spec.bounds is not None:
            value = getattr(state.parameters, spec.name)
            return {spec.name: min(spec.bounds[1], value * 1.1 if value else 0.1)}
    return {}


def test_app_serves_http_200() -> None:
    port = free_port()
    server = pn.serve(
        {"gallery": str(APP)},
        port=port,
        address="127.0.0.1",
        threaded=True,
        show=False,
        start=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                url = f"http://127.0.0.1:{port}/gallery"
                with urllib.request.urlopen(url, timeout=30) as response:
                    status, body = response.status, response.read().decode()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        assert status == 200
        assert "Neural PDE Explorer" in body
    finally:
        server.stop()
