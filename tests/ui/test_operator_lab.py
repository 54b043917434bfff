"""Operator Lab: a thin view over an OperatorSession, driven without a browser.

Widgets are bound to the knobs, buttons call the session's actions, the progress bar
follows data preparation then training, plots follow the run (1-D maps, 2-D maps,
trajectories), the learning-curve tab sweeps, the URL carries the experiment, the
history downloads as netCDF; the served page answers without external resources or
logged errors. Data are tiny (periodic heat on 32 points) in a per-test cache.
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
import pytest
import xarray as xr
from panel.io.location import Location

from explorer.state import OperatorSession
from explorer.ui.panel import APPS, OperatorLab, operator_lab_page
from tests.ui._browser import free_port

ROOT = Path(__file__).parents[2]
TIMEOUT = 60.0
TINY_DATA = {"resolution": 32, "input_modes": 8, "n_train": 16, "n_test": 8}
TINY_MODEL = {"kind": "fno", "modes": 4, "width": 8, "layers": 2, "projection": 16}
TINY_TRAINING = {"epochs": 3, "batch_size": 8}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def tiny(cache: Path, family: str = "heat", **data: object) -> OperatorSession:
    return OperatorSession(
        family,
        {**TINY_DATA, "superres": 2, **data} if family == "heat" else data,
        model=TINY_MODEL,
        training=TINY_TRAINING,
        cache_dir=cache,
        device="cpu",
    )


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[OperatorLab]:
    view = OperatorLab(tiny(tmp_path))
    yield view
    view.close()


def wait_for(condition: Callable[[], bool], what: str) -> None:
    end = time.monotonic() + TIMEOUT
    while not condition():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.02)


def finish(lab: OperatorLab) -> None:
    s = lab.session
    wait_for(lambda: not s.preparing and s.run is not None, "the data")
    wait_for(lambda: not s.run.alive, "the training thread")
    lab.poll()


def widgets(lab: OperatorLab) -> dict[str, pn.widgets.Widget]:
    """The sidebar's labelled widgets (every section) by label."""
    return {w.label: w for w in lab.sidebar.select(pn.widgets.Widget) if w.label}


def click(button: pn.widgets.Button) -> None:
    button.clicks += 1


def plain(markdown: str) -> str:
    return re.sub(r"\\(.)", r"\1", markdown).replace("&lt;", "<").replace("&gt;", ">")


def title(view: hv.Dimensioned) -> str:
    return str(hv.Store.lookup_options("bokeh", view, "plot").kwargs.get("title"))


# ---- controls ----------------------------------------------------------------------
def test_sidebar_widgets_come_from_the_knobs_and_are_bound(lab: OperatorLab) -> None:
    s = lab.session
    w = widgets(lab)
    expected = {
        "Dataset",
        "Resolution (grid points per side)",
        "Diffusivity ν (nu)" if "Diffusivity ν (nu)" in w else "Viscosity ν (nu)",
        "Training samples",
        "Test samples",
        "Super-resolution up to",
        "Data seed",
        "Network",
        "Fourier modes",
        "Width",
        "Epochs",
        "Batch size",
        "Learning rate",
        "Seed",
    }
    assert expected <= set(w), expected - set(w)
    # widget -> knob
    w["Fourier modes"].value = 6
    w["Epochs"].value = 5
    w["Seed"].value = 2
    w["Training samples"].value = 12
    spec = s.to_spec()
    assert (spec.model.modes, spec.train.epochs, spec.seed) == (6, 5, 2)
    assert spec.data.n_samples == 12
    # knob -> widget
    s.training.batch_size = 4
    assert w["Batch size"].value == 4


def test_a_value_out_of_bounds_is_refused_at_the_widget(lab: OperatorLab) -> None:
    layers = widgets(lab)["Layers"]
    layers.value = 99
    assert lab.session.model.parameters.layers == 2 and layers.value == 2
    column = next(c for c in lab.sidebar.select(pn.Column) if layers in c.objects)
    alerts = [o for o in column.objects if isinstance(o, pn.pane.Alert)]
    assert plain(alerts[0].object) == "Layers = 99 refused; allowed: from 1 to 16"


def test_menus_swap_the_knobs_and_the_title(lab: OperatorLab) -> None:
    w = widgets(lab)
    w["Dataset"].value = "ks"
    assert lab.session.data.family == "ks"
    assert "Kuramoto–Sivashinsky" in lab.title.object
    assert "Period L" in widgets(lab) and "Resolution (grid points per side)" in w
    assert lab.download.filename == "operator-ks-history.nc"
    widgets(lab)["Network"].value = "unet"
    assert lab.session.model.kind == "unet" and "Levels (halvings)" in widgets(lab)
    assert "Fourier modes" not in widgets(lab)
    lab.session.model.kind = "fno"  # knob -> menu
    assert widgets(lab)["Network"].value == "fno"


def test_invalid_knobs_show_why_and_train_refuses(lab: OperatorLab) -> None:
    widgets(lab)["Fourier modes"].value = 20
    lab.poll()
    assert lab.status.alert_type == "danger"
    assert "FNOConfig.modes = 20" in plain(lab.status.object)
    click(lab.train_button)
    assert lab.session.run is None and not lab.session.preparing


# ---- the run ---------------------------------------------------------------------
def test_train_shows_data_progress_then_training_and_plots(lab: OperatorLab) -> None:
    s = lab.session
    assert lab.curves.view is None and lab.superres.view is None
    click(lab.train_button)
    assert s.preparing or s.run is not None
    finish(lab)
    assert s.status.state == "finished"
    text = plain(lab.status.object)
    assert "finished · epoch 3/3" in text and "preparing data done" in text
    assert lab.progress.value == 3 and lab.progress.max == 3
    assert not lab.download.disabled and not lab.train_button.disabled
    assert isinstance(lab.curves.view, hv.Overlay)
    assert [c.label for c in lab.samples.view.traverse(lambda e: e, [hv.Curve])] == [
        "truth 0",
        "prediction 0",
        "truth 1",
        "prediction 1",
    ]
    assert "epoch 3" in title(lab.spectra.view)
    labels = [c.label for c in lab.spectra.view.traverse(lambda e: e, [hv.Curve])]
    assert labels == ["truth", "prediction", "4 kept modes"]
    assert isinstance(lab.bands.view, hv.Overlay)
    assert isinstance(lab.superres.view, hv.Bars)
    assert not lab.rollout.layout.visible and not lab.fields_row.visible
    # a finished run plays on for another `epochs` when Train is pressed
    click(lab.train_button)
    finish(lab)
    assert s.status.step == 6 and "epoch 6/6" in plain(lab.status.object)
    click(lab.reset_button)
    lab.poll()
    assert s.status.state == "idle" and lab.curves.view is None


def test_pause_and_stop(tmp_path: Path) -> None:
    lab = OperatorLab(tiny(tmp_path))
    s = lab.session
    s.training.epochs = 100_000
    click(lab.train_button)
    wait_for(lambda: s.status.step >= 1, "an epoch")
    lab.poll()
    assert lab.train_button.disabled and not lab.pause_button.disabled
    click(lab.pause_button)
    wait_for(lambda: s.status.state == "paused", "the pause")
    lab.poll()
    assert "paused" in plain(lab.status.object) and not lab.stop_button.disabled
    click(lab.stop_button)
    lab.poll()
    assert s.status.state == "stopped" and not s.run.alive
    lab.close()


def test_trajectories_show_the_rollout_and_2d_data_show_images(
    tmp_path: Path,
) -> None:
    ks = OperatorLab(
        tiny(tmp_path, "ks", resolution=32, n_times=4, t_burn=2.0, n_train=4, n_test=2)
    )
    ks.session.data.superres = 1
    click(ks.train_button)
    finish(ks)
    assert ks.rollout.layout.visible
    assert "Rollout error" in title(ks.rollout.view)
    assert ks.superres.view is None  # off: says so instead
    assert "Super-resolution up to" in ks.superres.note.object
    ks.close()
    darcy = OperatorLab(tiny(tmp_path, "darcy", resolution=9, n_train=4, n_test=2))
    darcy.session.data.superres = 1
    click(darcy.train_button)
    finish(darcy)
    assert darcy.fields_row.visible and not darcy.samples.layout.visible
    assert [type(f.view) for f in darcy.fields] == [hv.Image] * 4
    assert title(darcy.fields[3].view) == "Prediction − truth"
    darcy.close()


def test_learning_curve_tab_sweeps_with_progress(lab: OperatorLab) -> None:
    s = lab.session
    s.curve.param.update(points=2, steps=3)
    lab.tabs.active = 1
    assert "Values of n_train: 8, 16" in plain(lab.curve_status.object)
    assert lab.curve_download.disabled and lab.curve_plot.view is None
    click(lab.curve_button)
    wait_for(lambda: not s.curve_job.running, "the sweep")
    lab.poll()
    assert s.curve_job.state == "done"
    assert "Fitted slope" in plain(lab.curve_status.object)
    assert lab.curve_progress.value == 100 and not lab.curve_download.disabled
    assert "Learning curve: FNO" in title(lab.curve_plot.view)
    curve = xr.open_dataset(io.BytesIO(lab._export_curve().getvalue()))
    assert list(curve["value"].values) == [8, 16]
    s.curve.parameter = "sensors"  # needs a DeepONet: the tab says so
    lab.poll()
    assert "needs the DeepONet" in plain(lab.curve_status.object)
    assert lab.curve_status.alert_type == "danger"


def test_the_url_carries_the_experiment_and_bad_entries_show_notices(
    tmp_path: Path,
) -> None:
    location = Location(search="?family=heat&data.nu=0.05&model.width=oops&x=1")
    lab = OperatorLab(tiny(tmp_path), location=location)
    s = lab.session
    assert s.data.family == "heat" and s.data.parameters.nu == 0.05
    assert lab.notices.visible
    text = plain(lab.notices.object)
    assert "model.width = 'oops' ignored" in text and "x = '1' ignored" in text
    lab.poll()
    assert dict(urllib.parse.parse_qsl(location.search[1:])) == s.to_query()
    widgets(lab)["Width"].value = 12
    lab.poll()
    query = dict(urllib.parse.parse_qsl(location.search[1:]))
    assert query["model.width"] == "12" and query["data.nu"] == "0.05"
    again = OperatorLab(
        OperatorSession(cache_dir=tmp_path), location=Location(search=location.search)
    )
    assert again.session.to_query() == s.to_query()
    assert widgets(again)["Width"].value == 12 and not again.notices.visible
    lab.close()
    again.close()


def test_download_is_the_history_as_netcdf(lab: OperatorLab) -> None:
    assert lab.download.disabled
    click(lab.train_button)
    finish(lab)
    history = xr.open_dataset(io.BytesIO(lab._export().getvalue()))
    assert list(history["epoch"].values) == [1, 2, 3]
    assert {"test_rel_l2", "prediction", "spectrum_truth"} <= set(history.data_vars)
    assert '"family": "heat"' in history.attrs["run_spec"]


# ---- pages -------------------------------------------------------------------------
def test_page_is_registered_and_builds_without_a_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EXPLORER_CACHE", str(tmp_path))
    assert APPS["operator-lab"] is operator_lab_page
    page = operator_lab_page()
    assert isinstance(page, pn.template.BootstrapTemplate)
    assert page.title == "Neural PDE Explorer — Operator Lab"


class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(self.format(record))


def test_served_page_answers_loads_nothing_external_and_logs_no_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EXPLORER_CACHE", str(tmp_path))
    errors = _Errors()
    logging.getLogger().addHandler(errors)
    port = free_port()
    apps = {"operator_lab": str(ROOT / "apps" / "operator_lab.py"), **APPS}
    server = pn.serve(
        apps, port=port, address="127.0.0.1", threaded=True, show=False, start=True
    )
    try:
        for name in ("operator_lab", "operator-lab"):
            url = f"http://127.0.0.1:{port}/{name}?family=heat&model.width=16"
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
    assert threading.active_count() < 50
