"""The Landscape Lab: built and driven without a browser, and served.

Networks are small (width 16 on 16 points) and trainings short (a few hundred
steps), so each job takes about a second.
"""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import holoviews as hv
import panel as pn
import pytest

from explorer.state import LandscapeLabState
from explorer.ui.panel import APPS, LandscapeLab, landscape_lab_page
from tests.ui._browser import free_port

ROOT = Path(__file__).parents[2]
TIMEOUT = 60.0


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def lab() -> Iterator[LandscapeLab]:
    view = LandscapeLab(LandscapeLabState(width=16, n_points=16, steps=200, every=20))
    yield view
    view.close()


def wait_for(condition: Callable[[], bool], what: str) -> None:
    end = time.monotonic() + TIMEOUT
    while not condition():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.02)


def click(button: pn.widgets.Button) -> None:
    button.clicks += 1


def finish(lab: LandscapeLab) -> None:
    assert lab.state.join(TIMEOUT)
    lab.poll(force=True)


def test_train_draws_sharpness_loss_fit_and_kernel(lab) -> None:
    assert lab.plots["sharpness"].view is None
    click(lab.train_button)
    assert lab.cancel_button.disabled is False or lab.state.state == "done"
    finish(lab)
    curves = [e.label for e in lab.plots["sharpness"].view if isinstance(e, hv.Curve)]
    assert curves[:2] == ["λ_max", "2/η"]
    for name in ("loss", "fit", "ntk"):
        assert lab.plots[name].view is not None, name
    assert lab.progress.value == 100 and lab.status.alert_type == "success"
    assert lab.train_button.disabled is False


def test_spectrum_and_sweep_buttons(lab) -> None:
    click(lab.spectrum_button)
    assert "train first" in lab.status.object
    click(lab.train_button)
    finish(lab)
    click(lab.spectrum_button)
    finish(lab)
    assert any(isinstance(e, hv.Area) for e in lab.plots["spectrum"].view)
    lab.state.param.update(max_width=64, steps=40)
    click(lab.sweep_button)
    finish(lab)
    labels = [e.label for e in lab.plots["sweep"].view if isinstance(e, hv.Curve)]
    assert labels[0] == "measured" and labels[1].startswith("fit: width^")


def test_cancel_and_errors_show_in_the_status(lab) -> None:
    lab.state.steps = 100_000
    click(lab.train_button)
    wait_for(lambda: lab.state.progress > 0, "progress")
    click(lab.cancel_button)
    finish(lab)
    assert lab.status.alert_type == "warning" and "cancelled" in lab.status.object
    lab.state.param.update(steps=50, lr=100.0)
    click(lab.train_button)
    finish(lab)
    assert lab.status.alert_type == "danger"
    assert "lower the learning rate" in lab.status.object


def test_the_page_is_registered_and_builds() -> None:
    assert APPS["landscape-lab"] is landscape_lab_page
    page = landscape_lab_page()
    assert isinstance(page, pn.template.BootstrapTemplate)
    assert "Landscape Lab" in page.title


def test_explorer_serve_serves_the_landscape_lab() -> None:
    port = free_port()
    cmd = [sys.executable, "-m", "explorer.cli", "serve", "--port", str(port)]
    server = subprocess.Popen(
        cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + TIMEOUT
        while True:
            try:
                url = f"http://localhost:{port}/landscape-lab"
                with urllib.request.urlopen(url, timeout=30) as r:
                    html = r.read().decode()
                break
            except OSError:
                assert server.poll() is None, "the server died"
                assert time.monotonic() < deadline, "the server did not answer"
                time.sleep(0.3)
        assert r.status == 200
        assert "Neural PDE Explorer — Landscape Lab" in html
        assert server.poll() is None
    finally:
        server.terminate()
        server.wait(timeout=20)
