"""The PINN Lab's Diagnostics tab, built and driven without a browser.

Runs are tiny (heat, a 1 x 8 float64 net, 32 points), so each trains and each
diagnostic finishes in well under a second.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import holoviews as hv
import panel as pn
import pytest

from explorer.state import PINNSession
from explorer.ui.panel import PINNLab
from explorer.ui.panel.diagnostics_tab import DiagnosticsTab

TIMEOUT = 30.0


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def lab() -> Iterator[PINNLab]:
    session = PINNSession(
        "heat",
        model={"depth": 1, "width": 8, "float64": True},
        training={"n_interior": 32, "snapshot_every": 10, "steps": 60},
    )
    view = PINNLab(session)
    view.tabs.active = 2
    yield view
    view.close()


def wait_for(condition: Callable[[], bool], what: str) -> None:
    end = time.monotonic() + TIMEOUT
    while not condition():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.01)


def click(button: pn.widgets.Button) -> None:
    button.clicks += 1


def finish(tab: DiagnosticsTab, lab: PINNLab) -> None:
    assert tab.state.join(TIMEOUT)
    lab.poll()


def test_the_lab_has_a_diagnostics_tab_that_it_polls(lab) -> None:
    assert lab.tabs._names == ["Live", "Compare", "Diagnostics"]
    tab = lab.diagnostics_tab
    assert isinstance(tab, DiagnosticsTab) and tab.state.session is lab.session
    assert tab.main_plot.view is None  # nothing computed yet


def test_run_a_landscape_and_see_its_contour(lab) -> None:
    tab = lab.diagnostics_tab
    click(lab.train_button)
    wait_for(lambda: not lab.session.running and lab.session.status.step == 60, "run")
    tab.state.resolution = 9
    click(tab.run_button)
    assert tab.cancel_button.disabled is False or tab.state.state == "done"
    finish(tab, lab)
    view = tab.main_plot.view
    assert any(isinstance(e, hv.Image) for e in view)
    assert tab.progress.value == 100
    assert "at training step 60" in tab.status.object
    assert not tab.surface.visible
    tab.surface_toggle.value = True
    assert tab.surface.visible and tab.surface.object.data[0].type == "surface"


def test_switching_diagnostic_swaps_the_knobs_and_plots(lab) -> None:
    tab = lab.diagnostics_tab
    tab.menu.value = "ntk"
    assert tab.state.diagnostic == "ntk"
    labels = {w.label for w in tab.knob_area.select(pn.widgets.Widget)}
    assert {"NTK points", "NTK snapshots"} <= labels
    assert "Grid points per axis" not in labels
    tab.state.ntk_points = 8
    click(tab.run_button)  # builds the run: the kernel of the untrained network
    finish(tab, lab)
    assert tab.state.result_kind == "ntk"
    assert all(p.view is not None for p in (tab.main_plot, *tab.side_plots))


def test_errors_and_cancel_show_in_the_status(lab) -> None:
    tab = lab.diagnostics_tab
    tab.state.resolution = 20
    lab.poll()
    assert "odd numbers" in tab.status.object and tab.status.alert_type == "danger"
    assert not tab.run()
    tab.state.resolution = 201
    click(tab.run_button)
    wait_for(lambda: tab.state.progress > 0, "progress")
    click(tab.cancel_button)
    finish(tab, lab)
    assert tab.state.state == "cancelled"
    assert "cancelled" in tab.status.object and tab.run_button.disabled is False


def test_sharpness_tracking_draws_lambda_max_beside_two_over_lr(lab) -> None:
    tab = lab.diagnostics_tab
    tab.state.param.update(track_sharpness=True, every=20)
    click(lab.train_button)
    wait_for(
        lambda: (
            tab.state.sharpness is not None and tab.state.sharpness.sizes["step"] == 3
        ),
        "three measurements",
    )
    lab.poll()
    labels = [e.label for e in tab.sharpness_plot.view if isinstance(e, hv.Curve)]
    assert labels[:2] == ["λ_max", "2/η"]
