"""The Operator Lab in a real browser: generate data, train live, pause, reload.

Serves ``apps/operator_lab.py`` with ``panel serve`` (datasets cached in a temporary
folder) and drives it with Playwright and the system Chromium (never a downloaded
one). The run is tiny (periodic heat on 32 points, set through the URL, which the lab
reads on load). Screenshots go to ``artifacts/``. Skipped when ``/usr/bin/chromium``
or playwright is missing.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.ui._browser import ARGS, ARTIFACTS, CHROMIUM, ROOT, free_port

TIMEOUT = 60.0  # s; every wait ends as soon as its condition holds
# A tiny run that keeps training until paused.
TINY = {
    "family": "heat",
    "data.resolution": "32",
    "data.input_modes": "8",
    "data.n_train": "32",
    "data.n_test": "8",
    "data.superres": "2",
    "model.modes": "6",
    "model.width": "12",
    "training.epochs": "100000",
    "training.batch_size": "8",
}

if not CHROMIUM.exists():
    pytest.skip(
        "needs /usr/bin/chromium (apt-get install chromium)", allow_module_level=True
    )
sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "panel",
        "serve",
        str(ROOT / "apps" / "operator_lab.py"),
        "--port",
        str(port),
        "--address",
        "127.0.0.1",
        "--allow-websocket-origin",
        f"127.0.0.1:{port}",
    ]
    folder = tmp_path_factory.mktemp("operator-lab")
    log = folder / "serve.log"
    env = {**os.environ, "EXPLORER_CACHE": str(folder / "cache")}
    with log.open("w") as out:
        server = subprocess.Popen(
            cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env
        )
    address = f"http://127.0.0.1:{port}/operator_lab"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(address, timeout=30):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"panel serve failed: {log.read_text()}"
                    ) from None
                time.sleep(0.3)
        yield address, log
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
        time.sleep(0.1)


class Lab:
    """A browser tab on the lab that records console errors and every request."""

    def __init__(self, page, url: str) -> None:
        self.page = page
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.failed: list[str] = []
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("request", lambda r: self.requests.append(r.url))
        page.on(
            "requestfailed",
            lambda r: r.failure != "net::ERR_ABORTED" and self.failed.append(r.url),
        )
        page.goto(url)
        self.wait_loaded()

    def wait_loaded(self) -> None:
        self.page.get_by_text("idle · epoch 0/100000").wait_for(timeout=TIMEOUT * 1000)
        self.page.get_by_text("to see the training and test errors").wait_for(
            timeout=TIMEOUT * 1000
        )

    def canvas(self, css_class: str):
        return self.page.locator(f"{css_class} canvas").first

    def pixels(self, css_class: str) -> str:
        return hashlib.sha256(self.canvas(css_class).screenshot()).hexdigest()

    def status(self) -> str:
        """The status line (the first alert; its text lives in a shadow root)."""
        return self.page.locator(".alert").first.evaluate(
            "e => Array.from((e.shadowRoot || e).children)"
            ".filter(c => !['STYLE', 'LINK'].includes(c.tagName))"
            ".map(c => c.innerText).join('').trim()"
        )

    def epoch(self) -> int:
        return int(self.status().split("epoch ")[1].split("/")[0])

    def nu(self):
        # The Data tab's number boxes: the seed, the resolution, then nu.
        return self.page.locator("input.bk-input").nth(2)

    def query(self) -> dict[str, str]:
        search = self.page.evaluate("() => window.location.search")
        return dict(urllib.parse.parse_qsl(search.lstrip("?")))

    def shot(self, name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        time.sleep(0.8)  # let bokeh finish layout
        self.page.screenshot(
            path=str(ARTIFACTS / f"operator_lab_{name}.png"), full_page=True
        )

    def assert_clean(self, host: str) -> None:
        assert self.errors == [], self.errors
        assert self.failed == [], self.failed
        # blob: and data: URLs are made in the page (bokeh's images), not fetched.
        external = [
            u
            for u in self.requests
            if urllib.parse.urlparse(u).scheme not in ("blob", "data")
            and urllib.parse.urlparse(u).netloc != host
        ]
        assert external == [], external


def test_train_pause_and_reload_from_the_url(served: tuple[str, Path]) -> None:
    address, log = served
    url = f"{address}?{urllib.parse.urlencode(TINY)}"
    host = urllib.parse.urlparse(address).netloc
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            lab = Lab(page, url)
            assert page.title() == "Neural PDE Explorer — Operator Lab"
            assert lab.nu().input_value() == "0.01"  # heat's default
            lab.shot("idle")

            # Change nu: the URL follows.
            lab.nu().fill("0.02")
            lab.nu().press("Enter")
            wait_for(lambda: lab.query().get("data.nu") == "0.02", "nu in the URL")
            assert lab.query()["model.width"] == "12"  # the whole experiment

            # Train: data, then the loss plot appears and changes.
            page.get_by_role("button", name="▶ Train").click()
            wait_for(lambda: lab.canvas(".op-loss").is_visible(), "the loss plot")
            loss = lab.pixels(".op-loss")
            wait_for(lambda: lab.pixels(".op-loss") != loss, "the loss plot to move")
            assert "running" in lab.status() and "epochs/s" in lab.status()
            for view in (".op-samples", ".op-spectra", ".op-superres"):
                # Drawn by the same redraw, but a loaded box may land them apart.
                wait_for(lambda v=view: lab.canvas(v).is_visible(), view)
            lab.shot("training")

            page.get_by_role("button", name="Pause").click()
            wait_for(lambda: lab.status().startswith("paused"), "the pause")
            paused_at = lab.epoch()
            # At most the epoch in flight lands (on a busy machine the status can
            # show it a while later); then the count holds.
            held = []

            def still() -> bool:
                held.append(lab.epoch())
                time.sleep(1.5)
                return lab.epoch() == held[-1]

            wait_for(still, "the epoch count to hold")
            assert held[-1] - paused_at <= 1, (paused_at, held)
            lab.shot("paused")
            lab.assert_clean(host)

            # Reload: a new session from the URL, with the same settings.
            page.reload()
            lab.wait_loaded()
            assert lab.nu().input_value() == "0.02"
            assert lab.query()["data.nu"] == "0.02"
            assert lab.query()["data.n_train"] == "32"
            lab.shot("reloaded")
            lab.assert_clean(host)
        finally:
            browser.close()
    time.sleep(0.5)  # the server notices the closed sockets
    text = log.read_text()
    assert "Traceback" not in text and "ERROR" not in text, text
