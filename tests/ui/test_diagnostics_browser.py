"""The Landscape Lab and the PINN Lab's Diagnostics tab in a real browser.

Serves ``apps/landscape_lab.py`` and ``apps/pinn_lab.py`` with ``panel serve`` and
drives them with Playwright and the system Chromium (never a downloaded one):
train in the Landscape Lab and watch the sharpness plot change; in the PINN Lab,
track sharpness while training, run a loss landscape in the Diagnostics tab and see
its contour and 3-D surface. No console errors, no external requests. Screenshots go
to ``artifacts/``. Skipped when ``/usr/bin/chromium`` or playwright is missing.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.ui._browser import ARGS, ARTIFACTS, CHROMIUM, ROOT, free_port

TIMEOUT = 90.0  # s; every wait ends as soon as its condition holds
# A small PINN run, set through the URL (the lab reads it on load).
TINY = {
    "problem": "heat",
    "model.depth": "2",
    "model.width": "16",
    "training.n_interior": "256",
    "training.snapshot_every": "20",
    "training.steps": "300",
}

if not CHROMIUM.exists():
    pytest.skip(
        "needs /usr/bin/chromium (apt-get install chromium)", allow_module_level=True
    )
sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    port = free_port()
    apps = [str(ROOT / "apps" / f) for f in ("landscape_lab.py", "pinn_lab.py")]
    cmd = [
        sys.executable,
        "-m",
        "panel",
        "serve",
        *apps,
        "--port",
        str(port),
        "--address",
        "127.0.0.1",
        "--allow-websocket-origin",
        f"127.0.0.1:{port}",
    ]
    log = tmp_path_factory.mktemp("panel") / "serve.log"
    with log.open("w") as out:
        server = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    root = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{root}/landscape_lab", timeout=30):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"panel serve failed: {log.read_text()}"
                    ) from None
                time.sleep(0.3)
        yield root, log
    finally:
        server.terminate()
        server.wait(timeout=20)


def wait_for(condition: Callable[[], bool], what: str) -> float:
    """Seconds until ``condition()`` holds (tolerating redraws in between)."""
    start = time.monotonic()
    while True:
        try:
            if condition():
                return time.monotonic() - start
        except sync_api.Error:  # an element is being replaced
            pass
        assert time.monotonic() - start < TIMEOUT, f"timed out waiting for {what}"
        time.sleep(0.2)


class Page:
    """A browser tab that records console errors and every request."""

    def __init__(self, page, url: str) -> None:
        self.page = page
        self.errors: list[str] = []
        self.requests: list[str] = []
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("request", lambda r: self.requests.append(r.url))
        page.goto(url)

    def canvas(self, css_class: str):
        return self.page.locator(f"{css_class} canvas").first

    def pixels(self, css_class: str) -> str:
        return hashlib.sha256(self.canvas(css_class).screenshot()).hexdigest()

    def text(self, css_class: str) -> str:
        """The text of an alert (it lives in a shadow root)."""
        return self.page.locator(f"{css_class}").first.evaluate(
            "e => Array.from((e.shadowRoot || e).children)"
            ".filter(c => !['STYLE', 'LINK'].includes(c.tagName))"
            ".map(c => c.innerText).join('').trim()"
        )

    def button(self, name: str):
        return self.page.get_by_role("button", name=name, exact=True)

    def shot(self, name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        time.sleep(0.7)  # let bokeh finish layout
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    def assert_clean(self, host: str) -> None:
        assert self.errors == [], self.errors
        urls = [urllib.parse.urlparse(u) for u in self.requests]
        external = [
            u.geturl()
            for u in urls
            if u.scheme in ("http", "https", "ws", "wss") and u.netloc != host
        ]
        assert external == [], external


def test_landscape_lab_trains_and_the_sharpness_plot_follows(served) -> None:
    root, log = served
    host = urllib.parse.urlparse(root).netloc
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            lab = Page(
                browser.new_page(viewport={"width": 1500, "height": 1700}),
                f"{root}/landscape_lab",
            )
            page = lab.page
            assert page.title() == "Neural PDE Explorer — Landscape Lab"
            page.get_by_text("λ_max against 2/η appears here").wait_for(
                timeout=TIMEOUT * 1000
            )
            lab.shot("landscape_lab_idle")
            # 3000 steps (about 9 s): with the default 3 s a busy machine could draw
            # the sharpness plot first when training was already over.
            page.get_by_text("Training", exact=True).click()
            steps = page.locator("input.bk-input:visible").first
            assert steps.input_value() == "1000"
            steps.fill("3000")
            steps.press("Enter")
            page.get_by_text("Network", exact=True).click()
            lab.button("▶ Train").click()
            wait_for(lambda: lab.canvas(".ll-sharpness").is_visible(), "sharpness")
            first = lab.pixels(".ll-sharpness")
            wait_for(lambda: lab.pixels(".ll-sharpness") != first, "it to change")
            wait_for(lambda: "training done" in lab.text(".ll-status"), "training")
            lab.shot("landscape_lab_trained")
            lab.button("Hessian spectrum").click()
            wait_for(lambda: lab.canvas(".ll-spectrum").is_visible(), "the spectrum")
            wait_for(lambda: "spectrum done" in lab.text(".ll-status"), "spectrum")
            page.get_by_text("Spectra", exact=True).click()
            page.locator("select").last.select_option(label="64")
            lab.button("Width sweep").click()
            wait_for(lambda: lab.canvas(".ll-sweep").is_visible(), "the sweep")
            wait_for(lambda: "sweep done" in lab.text(".ll-status"), "the sweep")
            lab.shot("landscape_lab_all")
            lab.assert_clean(host)
        finally:
            browser.close()
    time.sleep(0.5)
    text = log.read_text()
    assert "Traceback" not in text and "ERROR" not in text, text


def test_pinn_lab_diagnostics_tab_runs_a_landscape(served) -> None:
    root, log = served
    host = urllib.parse.urlparse(root).netloc
    url = f"{root}/pinn_lab?{urllib.parse.urlencode(TINY)}"
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            lab = Page(browser.new_page(viewport={"width": 1500, "height": 1100}), url)
            page = lab.page
            page.get_by_text("idle · step 0").wait_for(timeout=TIMEOUT * 1000)
            page.get_by_text("Diagnostics", exact=True).click()
            page.locator(".diag-track input").check()
            lab.button("▶ Train").click()
            wait_for(
                lambda: "finished at step 300 of 300" in lab.text(".diag-status"),
                "training to finish",
            )
            wait_for(lambda: lab.canvas(".diag-sharpness").is_visible(), "sharpness")
            lab.button("▶ Run").click()
            wait_for(lambda: lab.canvas(".diag-main").is_visible(), "the contour")
            wait_for(lambda: "at training step 300" in lab.text(".diag-status"), "done")
            lab.shot("pinn_lab_diagnostics_landscape")
            page.locator(".diag-surface input").check()
            page.locator(".js-plotly-plot").first.wait_for(timeout=TIMEOUT * 1000)
            lab.shot("pinn_lab_diagnostics_surface")
            lab.assert_clean(host)
        finally:
            browser.close()
    time.sleep(0.5)
    text = log.read_text()
    assert "Traceback" not in text and "ERROR" not in text, text
