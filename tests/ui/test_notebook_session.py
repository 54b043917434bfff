"""The notebook front end: ``explorer.Session`` and the widgets over a PINNSession.

Widgets are built and driven without a kernel (ipywidgets allows it); one test runs a
real kernel to check the figures arrive as bokeh output.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import ipywidgets as w
import pytest
import xarray as xr

from explorer.state import ModelState, TrainingState
from explorer.ui.notebook import Session, SessionView

TIMEOUT = 20.0
TINY = {
    "model": {"depth": 1, "width": 8, "float64": True},
    "training": {"n_interior": 32, "snapshot_every": 10, "steps": 40},
}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def session() -> Iterator[Session]:
    s = Session("poisson-1d", a=0.0, **TINY)
    yield s
    s.close()


def wait_for(condition: Callable[[], bool], what: str) -> None:
    end = time.monotonic() + TIMEOUT
    while not condition():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.01)


def widgets(root: w.Widget) -> list[w.Widget]:
    """Every widget under ``root``."""
    out = [root]
    for child in getattr(root, "children", ()):
        out += widgets(child)
    return out


def by_label(view: SessionView, label: str) -> w.ValueWidget:
    (found,) = [
        x for x in widgets(view.widget) if getattr(x, "description", None) == label
    ]
    return found


# ---- explorer.Session ----------------------------------------------------------------
def test_session_is_exported_lazily() -> None:
    code = (
        "import json, sys, explorer; before = 'ipywidgets' in sys.modules; "
        "from explorer import Session; "
        "print(json.dumps([before, 'ipywidgets' in sys.modules, Session.__name__]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout) == [False, True, "Session"]
    import explorer

    with pytest.raises(AttributeError, match="no attribute 'Sesion'"):
        _ = explorer.Sesion


def test_burgers_train_returns_an_xarray_history(capsys: pytest.CaptureFixture) -> None:
    s = Session("burgers", nu=0.005, **TINY)
    try:
        h = s.train(50)
        assert isinstance(h, xr.Dataset) and h is s.history
        assert int(h.step[-1]) == 50 and {"u_pred", "u_ref", "rel_l2"} <= set(h)
        assert s.to_spec().make_problem().nu == 0.005
        assert s.status.state == "finished"
        assert "50/50" in capsys.readouterr().err  # the tqdm bar
        h2 = s.train(10, progress=False)  # continues the same run
        assert int(h2.step[-1]) == 60
    finally:
        s.close()


def test_session_refuses_bad_arguments() -> None:
    with pytest.raises(ValueError, match="nu"):
        Session("burgers", nu=-1.0)
    with pytest.raises(ValueError, match="unknown"):
        Session("navier-stokes")
    with pytest.raises(ValueError, match="width"):
        Session("burgers", model={"width": 10_000})


def test_train_with_invalid_knobs_says_why(session: Session) -> None:
    session.training.curriculum_parameter = "a"
    session.training.curriculum_start = 99.0
    with pytest.raises(ValueError, match="curriculum start"):
        session.train(5)


# ---- widgets -------------------------------------------------------------------------
def test_widgets_are_built_without_a_kernel(session: Session) -> None:
    view = session.view
    assert isinstance(view.widget, w.VBox)
    labels = {getattr(x, "description", None) for x in widgets(view.widget)}
    for controller in (session.model, session.training):
        for name in controller.KNOBS:
            assert controller.param[name].label in labels, name
    assert {"Problem", "Seed", "Train", "Pause", "Step", "Reset", "Stop"} <= labels
    bundle = session._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert "no snapshot yet" in str(view.plot.outputs)


def test_widgets_and_knobs_stay_in_sync(session: Session) -> None:
    view = session.view
    width = by_label(view, ModelState.param.width.label)
    width.value = 12
    assert session.model.width == 12
    session.model.width = 20
    assert width.value == 20
    lr = by_label(view, TrainingState.param.lr.label)
    lr.value = 0.01
    assert session.training.lr == 0.01
    # A value the knob refuses: the message shows, the widget snaps back.
    seed = by_label(view, "Seed")
    seed.value = -3
    assert session.seed == 0 and seed.value == 0
    assert "seed" in view.knob_error.value and "-3" in view.knob_error.value
    seed.value = 4
    assert session.seed == 4 and view.knob_error.value == ""


def test_problem_switch_rebuilds_its_knobs(session: Session) -> None:
    view = session.view
    by_label(view, "Problem").value = "heat"
    assert session.problem.problem == "heat"
    (u0,) = [x for x in widgets(view.problem_knobs) if isinstance(x, w.Combobox)]
    assert "mode-1" in u0.options
    u0.value = "sin(pi*x)"
    assert session.problem.parameters.u0 == "sin(pi*x)"
    curriculum = by_label(view, TrainingState.param.curriculum_parameter.label)
    assert [v for _, v in curriculum.options] == ["none", "nu", "length", "t_final"]
    # an invalid problem value lands in the error line, not in an exception
    u0.value = "sin(pi*x) + 1"
    view.refresh()
    assert "u0" in view.error.value


def test_buttons_drive_the_session(session: Session) -> None:
    view = session.view
    session.training.steps = 100_000
    view.buttons["train"].click()
    wait_for(lambda: session.status.step >= 3, "steps")
    view.buttons["pause"].click()
    wait_for(lambda: session.status.state == "paused", "pause")
    view.refresh()
    assert "paused" in view.status.value and not view.buttons["train"].disabled
    with session.state.run.between_steps():  # the step in flight has landed
        step = session.status.step
    view.buttons["step"].click()
    wait_for(lambda: session.status.step == step + 1, "one step")
    view.buttons["stop"].click()
    view.refresh(force_plot=True)
    assert "stopped" in view.status.value
    assert "no snapshot" not in str(view.plot.outputs)
    view.buttons["reset"].click()
    assert session.status.step == 0 and "no snapshot yet" in str(view.plot.outputs)


def test_every_figure_choice_draws_or_explains(session: Session) -> None:
    view = session.view
    session.train(20, progress=False)
    for choice in view.figure.options:
        view.figure.value = choice  # redraws at once
        (output,) = view.plot.outputs
        assert output["output_type"] == "display_data"
        text = output["data"]["text/plain"]
        assert text and "Error:" not in text, text


def test_polling_follows_a_background_run(session: Session) -> None:
    view = session.view
    view.interval = 0.02
    view.start_polling()
    try:
        session.start()
        wait_for(lambda: "finished" in view.status.value, "the view to see the end")
        assert "40/40" in view.status.value
    finally:
        view.stop_polling()
    assert not view._poller.is_alive()


def test_a_headless_run_shows_in_the_view(session: Session) -> None:
    view = session.view
    session.train(15, progress=False)
    view.refresh()
    assert "step 15/15" in view.status.value


def test_close_closes_widgets_and_the_session(session: Session) -> None:
    view = session.view
    session.close()
    assert session.state.trainer is None and view.widget.comm is None


# ---- a real kernel -------------------------------------------------------------------
def test_figures_arrive_as_bokeh_output_in_a_kernel() -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    setup = (
        "import torch; torch.set_num_threads(1)\n"
        "from explorer import Session\n"
        f"s = Session('poisson-1d', a=0.0, **{TINY!r})"
    )
    check = (
        "s.train(progress=False); s.view.refresh(force_plot=True)\n"
        "print(sorted(s.view.plot.outputs[0]['data'])); s.close()"
    )
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in (setup, "s", check)]
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    shown = [o for o in nb.cells[1].outputs if o.output_type == "display_data"]
    assert any("application/vnd.jupyter.widget-view+json" in o.data for o in shown)
    printed = "".join(o.get("text", "") for o in nb.cells[2].outputs)
    assert "application/vnd.holoviews_exec.v0+json" in printed, printed
