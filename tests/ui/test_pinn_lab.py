"""PINN Lab: a thin view over a PINNSession, built and driven without a browser.

Widgets are bound to the session's knobs, buttons call its actions, refused values
and invalid knobs show why, plots follow the run (eigenproblems included), the URL
carries the experiment, the history downloads as netCDF. Runs are tiny (a 1 x 8
float64 net, 32 points), so each trains in well under a second.
"""

from __future__ import annotations

import io
import logging
import re
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import holoviews as hv
import panel as pn
import param
import pytest
import torch
import xarray as xr
from panel.io.location import Location

from explorer.state import PINNSession
from explorer.ui.panel import APPS, PINNLab, pinn_lab_page
from explorer.ui.panel.apps import lab_page
from tests.ui._browser import free_port

ROOT = Path(__file__).parents[2]
TIMEOUT = 30.0
TINY_MODEL = {"depth": 1, "width": 8, "float64": True}
TINY_TRAINING = {"n_interior": 32, "snapshot_every": 10, "steps": 60}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def tiny(problem: str = "heat", **training: object) -> PINNSession:
    return PINNSession(
        problem, model=TINY_MODEL, training={**TINY_TRAINING, **training}
    )


@pytest.fixture
def lab() -> Iterator[PINNLab]:
    view = PINNLab(tiny())
    yield view
    view.close()


def wait_for(condition: Callable[[], bool], what: str) -> None:
    end = time.monotonic() + TIMEOUT
    while not condition():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.01)


def finish(lab: PINNLab) -> None:
    wait_for(lambda: lab.session.run is not None, "a run")
    wait_for(lambda: not lab.session.run.alive, "the worker to end")
    lab.poll()


def widgets(lab: PINNLab) -> dict[str, pn.widgets.Widget]:
    """The sidebar's labelled widgets (every section) by label.

    A section's widgets join the page when its tab first opens: open each, as a
    user would, then go back to the first.
    """
    for i in (*range(1, len(lab.sections)), 0):
        lab.sections.active = i
    return {w.label: w for w in lab.sidebar.select(pn.widgets.Widget) if w.label}


def click(button: pn.widgets.Button) -> None:
    button.clicks += 1


def plain(markdown: str) -> str:
    """The text of an escaped Markdown message."""
    return re.sub(r"\\(.)", r"\1", markdown).replace("&lt;", "<").replace("&gt;", ">")


def title(view: hv.Dimensioned) -> str:
    return str(hv.Store.lookup_options("bokeh", view, "plot").kwargs.get("title"))


# ---- controls ----------------------------------------------------------------------
def test_sidebar_widgets_come_from_the_knobs_and_are_bound(lab: PINNLab) -> None:
    s = lab.session
    w = widgets(lab)
    expected = {
        "Problem",
        "Diffusivity ν (nu)",
        "Preset",
        "Seed",
        "Depth",
        "Width",
        "Activation",
        "Fourier features",
        "Fourier scale",
        "Hard BC",
        "Hard IC",
        "float64",
        "Optimizer",
        "Learning rate",
        "Interior points",
        "Sampler",
        "Adaptive sampling",
        "Loss weighting",
        "Causal ε",
        "Curriculum parameter",
        "Steps",
    }
    assert expected <= set(w), expected - set(w)
    assert isinstance(w["Width"], pn.widgets.EditableIntSlider)
    # widget -> knob
    w["Width"].value = 16
    w["Activation"].value = "sin"
    w["Adaptive sampling"].value = "rad"
    w["Causal ε"].value = 5.0
    w["Hard BC"].value = True
    w["Seed"].value = 3
    w["Diffusivity ν (nu)"].value = 0.05
    spec = s.to_spec()
    assert (spec.net.width, spec.net.activation, spec.seed) == (16, "sin", 3)
    assert spec.train.adaptive.method == "rad" and spec.train.causal_eps == 5.0
    assert spec.options.hard_bc and dict(spec.values)["nu"] == 0.05
    # knob -> widget
    s.model.depth = 2
    s.training.optimizer = "adamw"
    assert w["Depth"].value == 2 and w["Optimizer"].value == "adamw"
    # menus follow the knob's choices: heat's curriculum can ramp nu
    assert "nu" in w["Curriculum parameter"].options


def test_a_value_out_of_bounds_is_refused_at_the_widget(lab: PINNLab) -> None:
    depth = widgets(lab)["Depth"]
    column = next(c for c in lab.sidebar.select(pn.Column) if depth in c.objects)
    depth.value = 50
    assert lab.session.model.depth == 1 and depth.value == 1  # refused, reverted
    alerts = [o for o in column.objects if isinstance(o, pn.pane.Alert)]
    assert len(alerts) == 1 and alerts[0].alert_type == "danger"
    assert plain(alerts[0].object) == "Depth = 50 refused; allowed: from 1 to 10"
    depth.value = 4  # a good value clears the message
    assert lab.session.model.depth == 4
    assert not any(isinstance(o, pn.pane.Alert) for o in column.objects)


def test_switching_problem_rebuilds_its_knobs_and_title(lab: PINNLab) -> None:
    widgets(lab)["Problem"].value = "burgers"
    assert lab.session.problem.problem == "burgers"
    assert "Viscous Burgers" in lab.title.object
    assert "Viscosity ν (nu)" in widgets(lab)
    assert "Diffusivity ν (nu)" not in widgets(lab)
    assert lab.download.filename == "pinn-burgers-history.nc"


def test_an_unparsable_expression_shows_why_and_train_refuses(lab: PINNLab) -> None:
    w = widgets(lab)
    assert "modes-1-4: sin(pi*x) + 0.5*sin(4*pi*x)" in w["Preset"].options
    u0 = next(v for k, v in w.items() if k.endswith("(u0)"))
    u0.value = "sin(pi*x"
    lab.poll()
    assert lab.status.alert_type == "danger"
    assert "u0" in plain(lab.status.object)
    click(lab.train_button)
    assert lab.session.run is None and not lab.session.running
    w["Preset"].value = "bump"  # a preset repairs it
    lab.poll()
    assert lab.status.alert_type == "light" and lab.session.error == ""


# ---- the run ---------------------------------------------------------------------
def test_buttons_drive_the_run_and_plots_follow(lab: PINNLab) -> None:
    s = lab.session
    assert lab.fields[0].view is not None  # the reference preview
    assert lab.loss.view is None  # "press Train" until the first snapshot
    s.training.steps = 100_000
    click(lab.train_button)
    wait_for(lambda: s.status.step >= 20, "steps")
    lab.poll()
    assert lab.train_button.disabled and not lab.pause_button.disabled
    click(lab.pause_button)
    wait_for(lambda: s.status.state == "paused", "the pause")
    with s.run.between_steps():  # the step in flight has landed
        step = s.status.step
    lab.poll()
    assert "paused" in plain(lab.status.object)
    assert lab.progress.value == step and lab.progress.max == 100_000
    assert not lab.train_button.disabled and lab.pause_button.disabled
    # every live view is drawn: curves, three fields, the slice at time t
    assert isinstance(lab.loss.view, hv.Overlay)
    assert isinstance(lab.errors.view, hv.Overlay)
    assert isinstance(lab.residual.view, hv.Overlay)  # the open diagnostics tab
    assert [type(f.view) for f in lab.fields] == [hv.Image] * 3
    assert lab.slice_column.visible and lab.time.value == 1.0
    assert f"step {s.latest['step'].item()}" in title(lab.fields[0].view)
    figures = lab.fields[0].figures
    click(lab.step_button)
    wait_for(lambda: s.status.step == step + 1, "one step")
    s.training.snapshot_every = 1  # a changed knob: the run is stale
    click(lab.step_button)  # Step on a stale run starts the new one
    wait_for(lambda: s.status.step == 1, "the new run's first step")
    lab.poll()
    assert "step 1" in title(lab.fields[0].view)
    assert lab.fields[0].figures == figures  # streamed into the same figure
    click(lab.reset_button)
    lab.poll()
    assert s.status.state == "idle" and s.status.step == 0
    assert lab.loss.view is None and lab.fields[0].view is not None  # preview again


def test_other_diagnostics_draw_when_their_tab_opens(lab: PINNLab) -> None:
    click(lab.train_button)
    finish(lab)
    assert lab.spectrum.view is None  # closed tab: not drawn
    for index, plot, element in (
        (1, lab.spectrum, hv.QuadMesh),
        (2, lab.weights, hv.Overlay),
        (3, lab.gradnorms, hv.Overlay),
    ):
        lab.diagnostics.active = index
        assert isinstance(plot.view, element)


def test_time_slider_moves_the_slice(lab: PINNLab) -> None:
    click(lab.train_button)
    finish(lab)
    assert "t = 1" in title(lab.slice.view)
    with param.edit_constant(lab.time):  # as a released slider handle sets it
        lab.time.param.update(value=0.5, value_throttled=0.5)
    assert "t = 0.5" in title(lab.slice.view)


def test_an_unchanged_picture_is_not_sent_again(lab: PINNLab) -> None:
    click(lab.train_button)
    finish(lab)
    prediction, reference = lab.fields[0], lab.fields[1]
    frames = (prediction.frames, reference.frames)
    lab.draw()  # nothing new
    assert (prediction.frames, reference.frames) == frames
    click(lab.train_button)  # plays on: a new prediction, the same reference
    finish(lab)
    assert prediction.frames > frames[0] and reference.frames == frames[1]
    assert "step 120" in title(prediction.view)


def test_a_finished_run_plays_on_when_train_is_pressed(lab: PINNLab) -> None:
    click(lab.train_button)
    finish(lab)
    assert lab.session.status.state == "finished" and lab.session.status.step == 60
    assert not lab.download.disabled
    click(lab.train_button)
    finish(lab)
    assert lab.session.status.step == 120
    assert "finished · step 120/120" in plain(lab.status.object)


def test_divergence_shows_its_message_and_keeps_the_last_good_plots(
    lab: PINNLab,
) -> None:
    s = lab.session
    s.training.steps = 100_000
    assert lab.reset()
    trainer = s.trainer
    terms = trainer.loss.terms

    def poisoned(batch: object) -> dict[str, torch.Tensor]:
        out = terms(batch)
        if trainer.step >= 25:
            out["residual"] = out["residual"] * float("inf")
        return out

    trainer.loss.terms = poisoned
    click(lab.train_button)
    finish(lab)
    assert s.status.state == "diverged"
    assert lab.status.alert_type == "danger"
    assert "diverged at step 26" in plain(lab.status.object)
    assert isinstance(lab.loss.view, hv.Overlay)  # the history up to step 20 stays
    assert "step 20" in title(lab.fields[0].view)


def test_eigen_problem_shows_states_and_energy() -> None:
    lab = PINNLab(tiny("schrodinger", steps=30))
    try:
        click(lab.train_button)
        finish(lab)
        assert lab.session.status.state == "finished"
        titles = [title(f.view) for f in lab.fields]
        assert titles[0].startswith("ψ(x): PINN against reference state")
        assert titles[1].startswith("|ψ(x)|²")
        assert titles[2].startswith("Energy: PINN")
        assert not lab.slice_column.visible  # no time axis
        assert isinstance(lab.loss.view, hv.Overlay)
    finally:
        lab.close()


def test_close_stops_the_thread_and_frees_the_trainer() -> None:
    lab = PINNLab(tiny(steps=100_000))
    click(lab.train_button)
    wait_for(lambda: lab.session.status.step >= 2, "steps")
    run = lab.session.run
    lab.close()
    assert not run.alive and lab.session.trainer is None
    assert lab.session.status.state == "closed"


# ---- URL, export, compare ----------------------------------------------------------
def test_the_url_carries_the_experiment_and_bad_entries_show_notices() -> None:
    location = Location(search="?problem=heat&problem.nu=0.05&model.width=oops&x=1")
    lab = PINNLab(tiny(), location=location)
    s = lab.session
    assert s.problem.problem == "heat" and s.problem.parameters.nu == 0.05
    assert lab.notices.visible
    text = plain(lab.notices.object)
    assert "model.width = 'oops' ignored" in text and "x = '1' ignored" in text
    # the canonical query replaces the typed one
    assert dict(urllib.parse.parse_qsl(location.search[1:])) == s.to_query()
    widgets(lab)["Width"].value = 24
    lab.poll()
    query = dict(urllib.parse.parse_qsl(location.search[1:]))
    assert query["model.width"] == "24" and query["problem.nu"] == "0.05"
    # a new page from that URL restores every knob
    again = PINNLab(PINNSession(), location=Location(search=location.search))
    assert again.session.to_query() == s.to_query()
    assert widgets(again)["Width"].value == 24
    assert not again.notices.visible
    lab.close()
    again.close()


def test_download_is_the_history_as_netcdf(lab: PINNLab) -> None:
    assert lab.download.disabled
    click(lab.train_button)
    finish(lab)
    assert not lab.download.disabled
    data = lab._export().getvalue()
    history = xr.open_dataset(io.BytesIO(data))
    assert list(history["step"].values) == [1, 10, 20, 30, 40, 50, 60]
    assert {"u_pred", "u_ref", "loss", "rel_l2"} <= set(history.data_vars)
    assert '"problem": "heat"' in history.attrs["run_spec"]


def test_compare_trains_two_runs_that_differ_in_one_setting(lab: PINNLab) -> None:
    compare = lab.compare
    compare.setting.value = "fourier"
    assert compare.train()
    pair = compare.pair
    assert pair.labels == ["fourier_features=0", "fourier_features=64"]
    assert pair.a.seed == pair.b.seed == lab.session.seed
    wait_for(lambda: not pair.running and pair.a.history is not None, "both runs")
    wait_for(
        lambda: all(s.run and not s.run.alive for s in pair.sessions.values()),
        "both workers to end",
    )
    lab.tabs.active = 1  # opening the tab draws it
    curves = compare.curves.view
    assert {el.label for el in curves} == set(pair.labels)
    assert [type(f.view) for f in compare.fields] == [hv.Image, hv.Image]
    assert "fourier_features=64: error at step 60" in title(compare.fields[1].view)
    assert "finished" in plain(compare.status.object)
    # a changed lab knob makes the next comparison start afresh
    lab.session.model.width = 12
    assert compare.train() and compare.pair is not pair
    assert compare.pair.a.model.width == 12
    compare.reset()
    assert compare.pair is None and compare.curves.view is None


def test_compare_says_when_the_setting_has_not_acted_yet(lab: PINNLab) -> None:
    compare = lab.compare
    compare.setting.value = "adaptive"  # RAD every 500 steps; the runs take 60
    assert compare.train()
    pair = compare.pair
    wait_for(
        lambda: all(s.run and not s.run.alive for s in pair.sessions.values()),
        "both workers to end",
    )
    lab.tabs.active = 1
    assert "identical so far: training.adaptive" in plain(compare.status.object)


# ---- pages -------------------------------------------------------------------------
def test_page_is_registered_and_builds_without_a_server() -> None:
    assert APPS["pinn-lab"] is pinn_lab_page
    page = pinn_lab_page()
    assert isinstance(page, pn.template.BootstrapTemplate)
    assert page.title == "Neural PDE Explorer — PINN Lab"


class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(self.format(record))


def test_served_pages_answer_load_nothing_external_and_log_no_errors() -> None:
    errors = _Errors()
    logging.getLogger().addHandler(errors)
    port = free_port()
    apps = {"pinn_lab": str(ROOT / "apps" / "pinn_lab.py"), **APPS}
    server = pn.serve(
        apps, port=port, address="127.0.0.1", threaded=True, show=False, start=True
    )
    try:
        for name in ("pinn_lab", "pinn-lab", "gallery"):
            url = f"http://127.0.0.1:{port}/{name}?model.width=16"
            deadline = time.monotonic() + 60
            while True:
                try:
                    with urllib.request.urlopen(url, timeout=60) as response:
                        status, body = response.status, response.read().decode()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
            assert status == 200
            assert "Neural PDE Explorer" in body
            links = re.findall(r"(?:src|href)=[\"']((?:https?:)?//[^\"']+)", body)
            assert links == [], f"{name} loads external resources: {links}"
    finally:
        server.stop()
        logging.getLogger().removeHandler(errors)
    assert errors.records == []
    assert threading.active_count() < 50  # no runaway threads from the sessions


def test_a_closed_page_stops_its_run_and_frees_the_trainer() -> None:
    """Bokeh destroys a session whose page is gone; the lab closes its session."""
    labs: list[PINNLab] = []

    def builder() -> pn.viewable.Viewable:
        lab = PINNLab(tiny(steps=100_000), location=pn.state.location)
        lab.start()
        # Trained from the server's thread, as a click would be (the page's
        # destruction runs there too).
        assert lab.train()
        labs.append(lab)
        return lab_page(lab)

    port = free_port()
    server = pn.serve(
        {"lab": builder},
        port=port,
        address="127.0.0.1",
        threaded=True,
        show=False,
        start=True,
        # A page that never connects (or went away) is dropped after 0.5 s.
        check_unused_sessions_milliseconds=200,
        unused_session_lifetime_milliseconds=500,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                url = f"http://127.0.0.1:{port}/lab"
                with urllib.request.urlopen(url, timeout=60) as response:
                    assert response.status == 200
                break
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.2)
        (lab,) = labs
        run = lab.session.run
        wait_for(lambda: lab.session.status.state == "closed", "the session to close")
        assert not run.alive and lab.session.trainer is None
        assert lab._callback is None  # polling stopped
    finally:
        server.stop()


def test_hidden_sections_join_the_page_when_first_opened(lab: PINNLab) -> None:
    """The first render holds the open tabs alone (a lighter first page load); a
    tab's view joins on first open and stays."""

    def labels(view: pn.viewable.Viewable) -> set[str]:
        return {w.label for w in view.select(pn.widgets.Widget) if w.label}

    assert "Problem" in labels(lab.sidebar) and "Width" not in labels(lab.sidebar)
    assert "Setting to compare" not in labels(lab.main)
    lab.sections.active = 1
    assert "Width" in labels(lab.sidebar)
    lab.sections.active = 0
    assert "Width" in labels(lab.sidebar)  # stays, not rebuilt on every switch
    lab.tabs.active = 1
    assert "Setting to compare" in labels(lab.main)
